"""Build the RFC 5322 message that the SMTP and HTTP senders carry."""

from __future__ import annotations

import email.policy
import email.utils
import re
import unicodedata
from datetime import datetime
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage

# SMTP line endings, and 7-bit clean output: non-ASCII headers become RFC 2047
# encoded words and a non-ASCII body becomes quoted-printable or base64, so
# the message travels through any server, with or without 8BITMIME/SMTPUTF8.
MESSAGE_POLICY = email.policy.SMTP.clone(cte_type="7bit")

_HEADER_PARSER = HeaderRegistry()

FALLBACK_FILENAME = "document.pdf"
MAX_FILENAME_CHARS = 150

# Characters that would end a header line or smuggle a new one in. Python's
# email package and some servers treat more than CR/LF as line breaks.
_HEADER_BREAKERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")

# Kept out of attachment file names: path separators, quotes, and characters
# that Windows refuses in file names.
_FILENAME_UNSAFE = set('/\\"\'`<>:|?*')


class Unusable(ValueError):
    """A value the message cannot carry; ``part`` says which: "from_address",
    "to", "reply_to", "subject" or "message_id_domain"."""

    def __init__(self, part: str, reason: str):
        super().__init__(f"{part} {reason}")
        self.part = part


def _check_header_value(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str")
    if _HEADER_BREAKERS.search(value):
        raise Unusable(name, "contains a line break or control character")
    return value


def _parse_address(name: str, value: str) -> Address:
    """One mailbox, bare (``a@b.example``) or with a display name
    (``Ann <a@b.example>``)."""
    _check_header_value(name, value)
    try:
        header = _HEADER_PARSER("To", value)
        addresses = header.addresses
    except Exception:  # the stdlib parser can fail with IndexError and friends
        raise Unusable(name, "is not an email address") from None
    if len(addresses) != 1 or header.defects or not addresses[0].domain:
        raise Unusable(name, "must be exactly one email address")
    address = addresses[0]
    if not address.username.isascii():
        # Would need SMTPUTF8 end to end; this 7-bit message cannot carry it.
        raise Unusable(name, "has a non-ASCII local part")
    try:
        domain = _ascii_domain(address.domain)
    except ValueError as refused:
        raise Unusable(name, str(refused)) from None
    return Address(display_name=address.display_name, username=address.username, domain=domain)


def _ascii_domain(domain: str) -> str:
    """An internationalized domain in its punycode (A-label) form."""
    if domain.isascii():
        return domain
    try:
        import idna  # IDNA 2008, as browsers and requests use; a requests dependency

        return idna.encode(domain, uts46=True).decode("ascii")
    except ImportError:
        pass
    except Exception:
        raise ValueError(f"the domain {domain!r} is not a valid internationalized name") from None
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"the domain {domain!r} is not a valid internationalized name") from None


def safe_filename(name: str | None, fallback: str = FALLBACK_FILENAME) -> str:
    """A file name that cannot carry a path, a quote or a control character
    into the attachment headers. Letters of every script are kept."""
    if not name:
        return fallback
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Zl", "Zp") or category.startswith("C"):
            continue  # line/paragraph separators, control and format characters
        if ch in _FILENAME_UNSAFE:
            continue
        kept.append(" " if category == "Zs" else ch)
    name = re.sub(r" +", " ", "".join(kept)).strip(" .")
    if not name:
        return fallback
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(" .")
    return name


def _split_mime_type(mime_type: str) -> tuple[str, str]:
    maintype, _, subtype = (mime_type or "").strip().lower().partition("/")
    token = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*$")
    if token.match(maintype) and token.match(subtype):
        return maintype, subtype
    return "application", "octet-stream"


def build_message(
    *,
    from_address: str,
    to: list[str],
    subject: str,
    body: str,
    reply_to: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
    message_id_domain: str | None = None,
) -> EmailMessage:
    """A text/plain UTF-8 message (multipart/mixed when there are attachments,
    each given as ``(filename, data, mime_type)``).

    Blind copies are never written into the message: they exist only as
    extra envelope recipients. Raises ValueError when a header value carries
    a line break or control character, or an address does not parse.
    """
    if isinstance(to, str):
        raise TypeError("to must be a list of addresses")
    if not to:
        raise ValueError("at least one recipient is needed")
    sender = _parse_address("from_address", from_address)
    recipients = [_parse_address("to", address) for address in to]
    _check_header_value("subject", subject)
    reply_address = _parse_address("reply_to", reply_to) if reply_to else None
    if message_id_domain is not None:
        _check_header_value("message_id_domain", message_id_domain)
    id_domain = _ascii_domain(message_id_domain or sender.domain)

    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Date"] = email.utils.format_datetime(datetime.now().astimezone())
    message["Message-ID"] = email.utils.make_msgid(domain=id_domain)
    message["From"] = sender
    message["To"] = recipients
    if reply_address is not None:
        message["Reply-To"] = reply_address
    message["Subject"] = subject
    message.set_content(body.replace("\r\n", "\n").replace("\r", "\n"), charset="utf-8")
    for filename, data, mime_type in attachments:
        maintype, subtype = _split_mime_type(mime_type)
        message.add_attachment(bytes(data), maintype, subtype, filename=safe_filename(filename))
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The message as sent on the wire: CRLF line endings, and no Bcc header
    even if a caller added one (blind copies live only in the envelope)."""
    outgoing = message
    if any(key in message for key in ("Bcc", "Resent-Bcc")):
        outgoing = _copy_without_bcc(message)
    policy = getattr(outgoing, "policy", MESSAGE_POLICY).clone(linesep="\r\n")
    data = outgoing.as_bytes(policy=policy)
    # A caller's message built with another policy may still hold bare LFs.
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def _copy_without_bcc(message: EmailMessage) -> EmailMessage:
    import copy

    outgoing = copy.copy(message)
    # __delitem__ rebinds the header list, so the caller's message keeps its own.
    del outgoing["Bcc"]
    del outgoing["Resent-Bcc"]
    return outgoing
