"""Checks and normalization of what users type. Plain Python.

Each check returns the normalized value or raises `Invalid` with a code; the
form layer turns codes into localized messages beside the field.
"""
import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

import idna
from email_validator import EmailNotValidError, validate_email

# The sender's own rule, so the form never saves a URL the sender would refuse.
from .mail._net import is_loopback_host


class Invalid(ValueError):
    def __init__(self, code: str, **facts):
        super().__init__(code)
        self.code = code
        self.facts = facts


# Characters that would end or split a mail header or an SMTP command line.
_HEADER_BREAKERS = re.compile(r"[\r\n\x00\u2028\u2029\x85\x0b\x0c]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

MAX_ADDRESS = 254
MAX_TEXT = 320
MAX_URL = 2048


def header_safe(value: str, max_length: int = MAX_TEXT) -> str:
    if _HEADER_BREAKERS.search(value) or _CONTROL.search(value):
        raise Invalid("header_unsafe")
    if len(value) > max_length:
        raise Invalid("too_long", max=max_length)
    return value


def password(value: str) -> str:
    """Any characters a password may hold, but none that would end an SMTP command."""
    if re.search(r"[\r\n\x00]", value):
        raise Invalid("header_unsafe")
    if len(value) > 1024:
        raise Invalid("too_long", max=1024)
    return value


def address(value: str) -> str:
    """Exactly one bare address (no name, no list), normalized."""
    value = value.strip()
    if not value:
        raise Invalid("required")
    header_safe(value, MAX_ADDRESS)
    if re.search(r"[,;<>\s]", value) or value.count("@") > 1:
        raise Invalid("address_multiple" if re.search(r"[,;]|@.*@", value) else "address_invalid")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid("address_invalid") from None


def host(value: str) -> str:
    """A host name (IDN allowed, returned as punycode), an IPv4 or an IPv6 literal."""
    value = value.strip()
    if not value:
        raise Invalid("required")
    header_safe(value, 255)
    if "://" in value:
        raise Invalid("host_has_scheme")
    literal = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(literal))
    except ValueError:
        pass
    if ":" in value:
        name, _, port = value.rpartition(":")
        raise Invalid("host_has_port" if port.isdigit() and name else "host_invalid")
    name = value.rstrip(".")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        raise Invalid("host_invalid") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise Invalid("host_invalid")
    if labels[-1].isdigit():  # 300.1.1.1 and friends are not names
        raise Invalid("host_invalid")
    return ascii_name


def port(value: str) -> int:
    value = (value or "").strip()
    if not value:
        raise Invalid("required")
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise Invalid("port_invalid")
    return int(value)


def http_url(value: str) -> tuple[str, str]:
    """An absolute https:// URL (http:// only to a loopback host).

    Returns (the URL without credentials, the credentials "user:password" or "").
    The credentials are a secret: they are stored encrypted and never shown.
    """
    value = value.strip()
    if not value:
        raise Invalid("required")
    header_safe(value, MAX_URL)
    if re.search(r"\s", value):
        raise Invalid("url_invalid")
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise Invalid("url_invalid") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise Invalid("url_invalid")
    if parts.scheme == "http" and not is_loopback_host(hostname):
        raise Invalid("url_not_https")
    if parts.fragment:
        raise Invalid("url_invalid")
    host_part = parts.netloc.rpartition("@")[2]
    credentials = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    clean = urlunsplit((parts.scheme, host_part.lower(), parts.path or "/", parts.query, ""))
    return clean, credentials


# What a URL as typed holds before the host: "user:password@" (with or without a scheme).
_USERINFO = re.compile(r"^((?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//)?[^/?#\s]*@")


def without_credentials(value: str) -> str:
    """A URL as typed, valid or not, with its user-info (the secret) left out: what a
    page may show of it."""
    return _USERINFO.sub(lambda m: m.group(1) or "", value or "")


def with_credentials(url: str, credentials: str) -> str:
    if not credentials:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{credentials}@{parts.netloc}", parts.path, parts.query, ""))
