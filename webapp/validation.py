"""Checks and normalization of what users type. Plain Python.

Each check returns the normalized value or raises `Invalid` with a code; the
form layer turns codes into localized messages beside the field.
"""
import ipaddress
import re

import email_validator
import idna
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import LOCAL_PART_MAX_LENGTH

from .mail.certificates import normalized_fingerprint
# The sender's own reading of a URL, so the form never saves one it would refuse.
from .mail.http import secret_of
from .mail.web import BadUrl, parse_url


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

# A business's own mail server often has a private name: firma.local (RFC
# 6762), nas.home.arpa (RFC 8375), firma.lan, .internal, .corp. email-validator
# refuses .local and all of .arpa as special-use names; mail to them never
# reaches a public provider, and the test says what happened, so they are
# addresses here. (Removing names from this list is the library's documented
# way; it is done once, at import.) A name still needs a dot, and localhost,
# .invalid, .onion and .test stay refused.
for _private in ("local", "arpa"):
    if _private in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove(_private)


def ascii_digits(value: str) -> bool:
    """Only 0-9: str.isdigit() also takes "²" and "٣", which int() refuses or reads."""
    return re.fullmatch(r"[0-9]+", value) is not None


def header_safe(value: str, max_length: int = MAX_TEXT) -> str:
    if _HEADER_BREAKERS.search(value) or _CONTROL.search(value):
        raise Invalid("header_unsafe")
    no_c1_controls(value)
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
    """Exactly one bare address (no name, no list), normalized.

    Each refusal names its reason, so the form can say what is wrong.
    """
    value = value.strip()
    if not value:
        raise Invalid("required")
    header_safe(value, MAX_ADDRESS)
    parts = [part for part in re.split(r"[\s<>,;]+", value) if part]
    if re.search(r"[,;]", value) or sum("@" in part for part in parts) > 1:
        raise Invalid("address_multiple")
    if re.search(r"[<>]", value):
        raise Invalid("address_with_name")
    if re.search(r"\s", value):
        raise Invalid("address_space")
    if "@" not in value:
        raise Invalid("address_no_at")
    if value.count("@") > 1:
        raise Invalid("address_two_at")
    local, _, domain = value.partition("@")
    if not local:
        raise Invalid("address_local_empty")
    if len(local) > LOCAL_PART_MAX_LENGTH:
        raise Invalid("address_local_too_long", max=LOCAL_PART_MAX_LENGTH)
    try:
        # The domain alone, behind a local part that is always valid.
        validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError:
        raise Invalid("address_domain") from None
    try:
        normalized = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid("address_local_invalid") from None
    return message_ready_address(normalized)


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
        raise Invalid("host_has_port" if ascii_digits(port) and name else "host_invalid")
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
    # str.isdigit() also takes "²" and other digits int() refuses.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise Invalid("port_invalid")
    return int(value)


def http_url(value: str) -> tuple[str, str]:
    """An absolute https:// URL (http:// only to a loopback host).

    Returns (the URL without credentials, its credentials or ""): the
    user-info ("user:password") and the parameters that look like credentials
    (api_key=..., token=...; see mail.http.secret_of). They are a secret:
    stored encrypted and never shown.
    """
    value = value.strip()
    if not value:
        raise Invalid("required")
    header_safe(value, MAX_URL)
    if re.search(r"\s", value):
        raise Invalid("url_invalid")
    try:
        url = parse_url(value)
    except BadUrl as refused:
        raise Invalid("url_not_https" if refused.reason == "not_https" else "url_invalid") from None
    if url.fragment:
        raise Invalid("url_invalid")
    return url.without_secrets, secret_of(url)


# What a URL as typed holds before the host: "user:password@" (with or without a scheme).
_USERINFO = re.compile(r"^((?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//)?[^/?#\s]*@")


def without_credentials(value: str) -> str:
    """A URL as typed, valid or not, with its user-info (the secret) left out: what a
    page may show of it."""
    return _USERINFO.sub(lambda m: m.group(1) or "", value or "")


def certificate_fingerprint(value: str) -> str:
    """A trusted certificate's SHA-256 fingerprint as 64 lower-case hex digits;
    "" for none."""
    if not value.strip():
        return ""
    fingerprint = normalized_fingerprint(value)
    if fingerprint is None:
        raise Invalid("fingerprint_invalid")
    return fingerprint


# -- what the message builder (mail/message.py) refuses, refused where it is typed ----------
# An address or text the form accepted but the builder refused used to give a
# 500 on every later test and send (issue 12, item 7).

_C1_CONTROLS = re.compile(r"[\x80-\x9f]")
_ENCODED_WORD = re.compile(r"=\?.*\?=")


def no_c1_controls(value: str) -> str:
    """C1 control characters (U+0080-U+009F): the builder refuses them in headers."""
    if _C1_CONTROLS.search(value):
        raise Invalid("header_unsafe")
    return value


def ascii_local_part(address: str) -> str:
    """The part before the @ in ASCII. Another would need SMTPUTF8 from every
    server on the way, and the builder writes 7-bit messages for any server."""
    if not address.rpartition("@")[0].isascii():
        raise Invalid("address_not_ascii")
    return address


def no_encoded_word(address: str) -> str:
    """No RFC 2047 encoded word (=?utf-8?b?...?=) in the part before the @:
    allowed in a name, never in an address."""
    if _ENCODED_WORD.search(address.rpartition("@")[0]):
        raise Invalid("address_local_invalid")
    return address


def message_ready_address(address: str) -> str:
    """An address email-validator accepted, as the message builder takes it."""
    return no_encoded_word(ascii_local_part(no_c1_controls(address)))
