"""What a delivery attempt reports: steps taken, and a diagnosis when it failed.

Everything here is plain data. The web layer turns ``Diagnosis.code`` plus its
``facts`` into localized sentences; nothing in this package writes prose for
users. Server replies are kept as the server's own words, shortened and with
control characters removed, and the web layer escapes them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


CODES: tuple[str, ...] = (
    # Network, shared by SMTP and HTTP.
    "name_not_found",          # the host name does not resolve
    "connection_refused",      # nothing listens on that port (TCP RST)
    "network_unreachable",     # any other connect error: no route, address unusable
    "timed_out",               # a step or the overall deadline ran out
    "destination_forbidden",   # resolves to a private/loopback/... address while those are forbidden
    "connection_dropped",      # the server closed the connection mid-session
    # TLS, shared by SMTP and HTTP.
    "tls_handshake_failed",    # TLS could not be negotiated (protocol/cipher mismatch, garbage)
    "certificate_untrusted",   # the certificate chain does not lead to a trusted CA
    "certificate_wrong_host",  # the certificate is valid but for other names
    "certificate_expired",     # the certificate is expired or not yet valid
    # SMTP conversation.
    "not_smtp",                # what answered is not an SMTP server (garbage, HTTP, ...)
    "greeting_refused",        # 5xx greeting (or EHLO and HELO both refused)
    "temporary_failure",       # a 4xx reply anywhere: try again later
    "plain_on_tls_port",       # TLS expected from the first byte, the server spoke plain SMTP
    "tls_expected_on_connect", # we spoke plain, the server waits for a TLS handshake
    "starttls_not_offered",    # STARTTLS required but not advertised; stopped before AUTH
    "starttls_refused",        # the server answered STARTTLS with an error
    "starttls_injection",      # plain text followed the STARTTLS reply: tampering; stopped before TLS
    "unencrypted_login",       # the connection to a public address is not encrypted; stopped before AUTH
    "auth_not_offered",        # a username is set but no usable AUTH mechanism is advertised
    "login_refused",           # the server rejected the username/password
    "smtp_auth_disabled",      # Microsoft 365: SMTP AUTH is disabled for the mailbox/tenant (5.7.139)
    "auth_required",           # MAIL FROM refused because the server wants a login first
    "sender_refused",          # MAIL FROM refused
    "relay_denied",            # RCPT refused because the server will not relay for us
    "recipient_refused",       # RCPT refused for another reason
    "message_too_large",       # the message exceeds the server's size limit
    "message_refused",         # DATA or the message content refused
    # HTTP.
    "http_bad_url",            # not https (http allowed only to loopback), or no host
    "http_redirect",           # 3xx answer; redirects are never followed
    "http_status",             # any other non-2xx answer
    # Our side.
    "internal_error",          # an unexpected error in this tool; details are in the server log
)


MAX_REPLY_CHARS = 300
# How much of a text shorten() cleans, in multiples of its limit.
KEEP_BEFORE_CLEANING = 8


@dataclass
class Step:
    name: str
    ok: bool
    elapsed_ms: float
    detail: dict
    reply: str | None = None


@dataclass
class Diagnosis:
    code: str
    step: str
    reply_code: int | None = None
    reply_text: str | None = None
    facts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown diagnosis code {self.code!r}")


@dataclass
class DeliveryResult:
    ok: bool
    steps: list[Step]
    diagnosis: Diagnosis | None
    total_ms: float


_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85]+")
_SPACES = re.compile(r"\s+")


def shorten(text: str | bytes | None, limit: int = MAX_REPLY_CHARS) -> str | None:
    """A server's words made safe to store and show: one line, no control
    characters, at most ``limit`` characters (an ellipsis marks a cut)."""
    if text is None:
        return None
    # Cleaning looks at every character: cut first, to what can still be
    # shown once control characters and runs of spaces are gone, so a reply
    # of megabytes costs no more than one of a few lines.
    keep = limit * KEEP_BEFORE_CLEANING
    if isinstance(text, bytes):
        text = text[: keep * 4].decode("utf-8", "replace")
    text = _LINE_BREAKS.sub(" ", text[:keep])
    # Drop control and format characters (Cc, Cf: e.g. ESC, bidi overrides),
    # which could disguise the text once rendered.
    text = "".join(
        " " if ch == "\t" else ch
        for ch in text
        if ch == "\t" or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def scrub(text: str | None, secrets: list[str]) -> str | None:
    """Remove every secret (a password and its encodings) from ``text``, in
    case a server echoes what we sent it."""
    if text is None:
        return None
    for secret in secrets:
        # A one- or two-character "secret" would blank out random letters of
        # every reply while hiding nothing worth hiding.
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text
