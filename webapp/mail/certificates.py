"""The certificate a server presents: fetched on a second connection when a
check failed, and what it says (names, issuer, validity, SHA-256
fingerprint), so that a person can compare it with what the server's
administrator sees before trusting it."""

from __future__ import annotations

import hashlib
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

from .result import shorten

if TYPE_CHECKING:  # tls.py imports this module: the second look imports back lazily
    from .attempt import Attempt
    from .net import Address

# A certificate that runs out within this time is worth a warning even when
# the test passes.
EXPIRY_WARNING = timedelta(days=14)

_HEX_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_FINGERPRINT_SEPARATORS = re.compile(r"[\s:]")


def sha256_of(der: bytes) -> str:
    """The SHA-256 fingerprint of a certificate: 64 lower-case hex digits."""
    return hashlib.sha256(der).hexdigest()


def normalized_fingerprint(text: str) -> str | None:
    """A SHA-256 fingerprint however it is written (colons, spaces, either
    case) as 64 lower-case hex digits; None when it is not one."""
    digits = _FINGERPRINT_SEPARATORS.sub("", text or "").lower()
    return digits if _HEX_FINGERPRINT.fullmatch(digits) else None


def colon_hex(fingerprint: str) -> str:
    """AB:CD:…, as `openssl x509 -fingerprint -sha256` prints it."""
    digits = fingerprint.upper()
    return ":".join(digits[index:index + 2] for index in range(0, len(digits), 2))


def expires_soon(not_after: datetime, now: datetime | None = None) -> bool:
    """Whether a certificate valid until ``not_after`` runs out within
    EXPIRY_WARNING (or already has)."""
    return not_after - (now or datetime.now(timezone.utc)) <= EXPIRY_WARNING


@dataclass(frozen=True)
class CertificateFacts:
    """What a certificate says, read from its DER bytes (which are kept, so
    the facts can be read again from the certificate itself)."""
    sha256: str                 # 64 lower-case hex digits
    subject: str                # RFC 4514, shortened
    names: tuple[str, ...]      # DNS names and IP addresses (SAN; the common name without one)
    issuer: str                 # RFC 4514, shortened
    not_before: datetime        # aware, UTC
    not_after: datetime         # aware, UTC
    self_signed: bool           # issued by itself (issuer = subject)
    der: bytes = field(repr=False, compare=False, default=b"")

    @classmethod
    def from_der(cls, der: bytes | None) -> CertificateFacts | None:
        """The facts, or None when ``der`` is no certificate we can read."""
        if not der:
            return None
        try:
            from cryptography import x509

            certificate = x509.load_der_x509_certificate(der)
            return cls(
                sha256=sha256_of(der),
                subject=shorten(certificate.subject.rfc4514_string(), 300) or "",
                names=tuple(_names(certificate)),
                issuer=shorten(certificate.issuer.rfc4514_string(), 300) or "",
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                self_signed=certificate.issuer == certificate.subject,
                der=bytes(der),
            )
        except Exception:  # a certificate we cannot parse has no facts to show
            return None


def _names(certificate) -> list[str]:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName) + [
            str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = [attribute.value for attribute in
                 certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return [shorten(str(name), 253) for name in names[:20]]


def presented_facts(attempt: Attempt, address: Address, server_hostname: str,
                    prepare: Callable[[socket.socket], None] | None = None) -> dict:
    """Facts about the certificate the server at ``address`` presents, for
    a diagnosis: the certificate's facts and the names it is valid for,
    when it can be read."""
    certificate = CertificateFacts.from_der(
        fetch_certificate(attempt, address, server_hostname, prepare))
    if certificate is None:
        return {}
    facts = {"certificate": certificate}
    if certificate.names:
        facts["cert_names"] = list(certificate.names)
    return facts


def fetch_certificate(attempt: Attempt, address: Address, server_hostname: str,
                      prepare: Callable[[socket.socket], None] | None = None) -> bytes | None:
    """Reconnect, without verification, to read the certificate the server
    presents, so a failed check can show it. ``prepare`` speaks whatever
    plain protocol comes before TLS (SMTP up to STARTTLS). Best effort."""
    from .tls import probe_context

    try:
        with attempt.probe_socket(address) as sock:
            if prepare is not None:
                prepare(sock)
            with probe_context().wrap_socket(sock, server_hostname=server_hostname) as tls:
                return tls.getpeercert(binary_form=True)
    except Exception:  # any failure just means no certificate to show
        return None
