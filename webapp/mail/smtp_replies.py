"""What an SMTP server's replies mean. Pure functions, no sockets.

``classify`` reads one ordered table: the first row that applies to the step
and matches the reply gives the diagnosis code. A reply a step hopes for
(``ACCEPTED``) classifies as None.
"""

from __future__ import annotations

import re
from typing import Callable

# The replies each step hopes for. 503 to AUTH: already authenticated.
ACCEPTED = {
    "greeting": (220,),
    "ehlo": (250,),
    "starttls": (220,),
    "login": (235, 503),
    "sender": (250,),
    "recipient": (250, 251),
    "message": (250,),
}

AUTH_REQUIRED = re.compile(
    r"authenticat\w*\s+(?:is\s+)?required|auth\w*\s+required|must\s+(?:be\s+)?authenticat"
    r"|not\s+authenticated|requires?\s+authentication",
    re.IGNORECASE,
)
# Microsoft 365 once Basic authentication is off: 5.7.30, or 5.7.139 saying so.
BASIC_AUTH_OFF = re.compile(r"\b5\.7\.30\b|basic authentication is (?:disabled|not supported)",
                            re.IGNORECASE)
APP_PASSWORD = re.compile(r"5\.7\.9|application[- ]specific password|app password", re.IGNORECASE)
_RELAY = re.compile(r"\brelay", re.IGNORECASE)
_SMTP_LINE = re.compile(rb"^[2-5]\d\d(?:[ -]|\r?\n?$)")
_QUEUE_ID_PATTERNS = (
    re.compile(r"queued as\s+<?([A-Za-z0-9][A-Za-z0-9._@\-]*)>?", re.IGNORECASE),  # Postfix and friends
    re.compile(r"\bid=([A-Za-z0-9][A-Za-z0-9._\-]*)", re.IGNORECASE),                 # Exim
    re.compile(r"<([^<>\s]+)>.*queued mail for delivery", re.IGNORECASE),              # Microsoft
    re.compile(r"\bOK\s+\d+\s+(\S+)\s+-\s+gsmtp", re.IGNORECASE),                      # Gmail
    re.compile(r"\bOK\s+([0-9a-f]{8,}(?:-[0-9a-f]+)+)\b", re.IGNORECASE),                # Amazon SES
)


def temporary(code: int) -> bool:
    """A 4xx reply: the same command may succeed later."""
    return 400 <= code < 500


def _permanent(code: int, text: str) -> bool:
    return 500 <= code < 600


def _too_large(code: int, text: str) -> bool:
    return code == 552 or "5.3.4" in text


def _login_first(code: int, text: str) -> bool:
    return code == 530 or AUTH_REQUIRED.search(text) is not None


def _any(code: int, text: str) -> bool:
    return True


def _login_facts(text: str) -> dict:
    return {"app_password_required": True} if APP_PASSWORD.search(text) else {}


_AFTER_COMMANDS = ("sender", "recipient", "message")

# (steps, matches(code, text), diagnosis code, facts(text) or None); first match wins.
_TABLE: tuple[tuple[tuple[str, ...], Callable[[int, str], bool], str,
                    Callable[[str], dict] | None], ...] = (
    # smtplib's code for a reply line that does not start with a number.
    (_AFTER_COMMANDS, lambda code, text: code == -1, "not_smtp", None),
    # Microsoft 365: passwords no longer accepted (the end of Basic authentication).
    (("login",), lambda code, text: BASIC_AUTH_OFF.search(text) is not None, "basic_auth_disabled", None),
    # Microsoft 365: SMTP AUTH turned off for the mailbox or the tenant.
    (("login",), lambda code, text: "5.7.139" in text, "smtp_auth_disabled", None),
    # STARTTLS is left out: a refused STARTTLS is refused, whatever its code.
    (("greeting", "ehlo", "login", *_AFTER_COMMANDS), lambda code, text: temporary(code),
     "temporary_failure", None),
    (("greeting", "ehlo"), _permanent, "greeting_refused", None),
    (("greeting", "ehlo"), _any, "not_smtp", None),
    (("starttls",), _any, "starttls_refused", None),
    (("login",), _any, "login_refused", _login_facts),
    (("recipient",), lambda code, text: _RELAY.search(text) is not None, "relay_denied", None),
    (("sender", "recipient"), _login_first, "auth_required", None),
    (("sender", "message"), _too_large, "message_too_large", None),
    (("sender",), _any, "sender_refused", None),
    (("recipient",), _any, "recipient_refused", None),
    (("message",), _any, "message_refused", None),
)


def classify(step: str, code: int, text: str) -> tuple[str, dict] | None:
    """The diagnosis code and facts for reply ``code`` ``text`` (as kept:
    scrubbed and shortened) to ``step``'s command; None for a reply the step
    hopes for, or a step without rules."""
    if code in ACCEPTED.get(step, ()):
        return None
    for steps, matches, diagnosis, facts in _TABLE:
        if step in steps and matches(code, text):
            return diagnosis, facts(text) if facts else {}
    return None


def is_smtp_line(line: bytes) -> bool:
    return _SMTP_LINE.match(line) is not None


def advertised_size(value: str | None) -> int | None:
    """The SIZE limit from EHLO; 0 or missing means no stated limit."""
    # ASCII digits only: a server's "SIZE ²" passes str.isdigit() and fails int().
    if value and re.fullmatch(r"[0-9]{1,20}", value.strip()):
        return int(value.strip()) or None
    return None


_ENHANCED_STATUS = re.compile(r"(?<![0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?![0-9.])")


def enhanced_status(text: str | None) -> str | None:
    """The enhanced status code in a reply ("5.7.8", RFC 3463), if any."""
    match = _ENHANCED_STATUS.search(text or "")
    return match.group(1) if match else None


def parse_queue_id(reply: str | bytes | None) -> str | None:
    """The queue id in a final 250 reply, as the common servers write it."""
    if not reply:
        return None
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    for pattern in _QUEUE_ID_PATTERNS:
        match = pattern.search(reply)
        if match:
            return match.group(1)[:100]
    return None
