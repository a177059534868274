"""What a delivery attempt reports: steps taken, and a diagnosis when it failed.

Everything here is plain data. The web layer turns ``Diagnosis.code`` plus its
``facts`` into localized sentences; nothing in this package writes prose for
users. Server replies are kept as the server's own words, shortened and with
control characters removed, and the web layer escapes them.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus


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
    "certificate_changed",     # not the certificate the user trusted (pinned); stopped before AUTH
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
    "basic_auth_disabled",     # Microsoft 365: password sign-in (Basic authentication) refused (5.7.30)
    "xoauth2_refused",         # the server refused the OAuth access token (XOAUTH2)
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
    # OAuth 2.0 sign-in with the provider (oauth_errors.py).
    "oauth_consent_refused",   # the user (or a policy) did not grant the permission
    "oauth_redirect_mismatch", # the redirect address is not registered for the app
    "oauth_client_rejected",   # the client secret (or client ID) was refused
    "oauth_grant_revoked",     # the refresh token no longer works: revoked or expired
    "oauth_no_refresh_token",  # a token answer without a refresh token
    "oauth_provider_error",    # any other error the provider named
    "oauth_bad_answer",        # the token endpoint's answer is not an OAuth answer
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


def shorten(text: str | bytes | None, limit: int = MAX_REPLY_CHARS,
            scrub: Scrubber | None = None) -> str | None:
    """A server's words made safe to store and show: one line, no control
    characters, at most ``limit`` characters (an ellipsis marks a cut).
    ``scrub`` runs once more on the cleaned text, before the cut: for a
    secret that control characters had split."""
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
    if scrub is not None:
        text = scrub(text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# Runs of what shorten() removes or turns into one space: whitespace, control
# characters and the invisible format characters (soft hyphen, zero-width
# and bidi marks, word joiners, BOM, tag characters).
SEPARATOR_RUNS = re.compile(
    "[\\s\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e"
    "\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb\\U000e0000-\\U000e007f]+")


_PERCENT_ASCII = re.compile(r"%[0-7][0-9A-Fa-f]")


def _is_separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def _folded(text: str) -> str:
    """Lower case, one character for one (a few letters lower to two)."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


class Scrubber:
    """Replaces every form of the secrets in a text with "***", in case a
    server echoes what we sent it: case-insensitively, percent-encoded or
    not, and also with spaces, line breaks or control characters between its
    characters. Give it the forms to look for (``secret_encodings`` of each
    secret)."""

    def __init__(self, forms: list[str]):
        keys = {_folded("".join(ch for ch in form if not _is_separator(ch))) for form in forms if form}
        # A form of one or two characters would blank out random letters of
        # every reply while hiding nothing worth hiding.
        kept = sorted((key for key in keys if len(key) >= 3), key=len, reverse=True)
        self.longest = len(kept[0]) if kept else 0
        self._pattern = re.compile("|".join(map(re.escape, kept))) if kept else None

    def __call__(self, text: str | None) -> str | None:
        if text is None or self._pattern is None:
            return text
        # Look for the forms in the text without its separators and with
        # its %XX escapes of ASCII decoded, then cut each match out of the
        # text as it is.
        kept: list[tuple[int, int, str]] = []  # (start, end, character) in the text
        index = 0
        while index < len(text):
            ch = text[index]
            if ch == "%" and _PERCENT_ASCII.match(text, index):
                kept.append((index, index + 3, chr(int(text[index + 1:index + 3], 16))))
                index += 3
                continue
            if not _is_separator(ch):
                kept.append((index, index + 1, ch))
            index += 1
        letters = _folded("".join(ch for _, _, ch in kept))
        pieces, done = [], 0
        for match in self._pattern.finditer(letters):
            start, end = kept[match.start()][0], kept[match.end() - 1][1]
            pieces += [text[done:start], "***"]
            done = end
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)


def secret_encodings(secret: str | None) -> list[str]:
    """A secret (a password, an access token) and the forms a server may
    echo it in: as typed and reversed, hex, percent-encoded, and base64
    (standard and URL-safe) at each of the three alignments it can have
    inside a longer base64 text: the characters that depend on the secret
    alone, so they cover AUTH LOGIN, AUTH PLAIN (NUL user NUL password), the
    XOAUTH2 initial response and HTTP Basic (user:password) whatever the
    username."""
    if not secret:
        return []
    raw = secret.encode("utf-8")
    forms = [secret, secret[::-1], raw.hex(), quote(secret, safe=""), quote_plus(secret)]
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        middle = encoded[(offset * 4 + 2) // 3:((offset + len(raw)) * 8) // 6]
        if len(middle) >= 4:
            forms += [middle, middle.replace("+", "-").replace("/", "_")]
    return forms
