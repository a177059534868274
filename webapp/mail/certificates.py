"""The certificate a server presents: fetched on a second connection when a
check failed, and what it says (the names it is valid for)."""

from __future__ import annotations

import socket
from typing import Callable

from .attempt import Attempt
from .net import Address
from .result import shorten
from .tls import probe_context


def presented_facts(attempt: Attempt, address: Address, server_hostname: str,
                    prepare: Callable[[socket.socket], None] | None = None) -> dict:
    """Facts about the certificate the server at ``address`` presents, for
    a diagnosis: the names it is valid for, when it can be read."""
    names = certificate_names(fetch_certificate(attempt, address, server_hostname, prepare))
    return {"cert_names": names} if names else {}


def fetch_certificate(attempt: Attempt, address: Address, server_hostname: str,
                      prepare: Callable[[socket.socket], None] | None = None) -> bytes | None:
    """Reconnect, without verification, to read the certificate the server
    presents, so a failed check can name it. ``prepare`` speaks whatever
    plain protocol comes before TLS (SMTP up to STARTTLS). Best effort."""
    try:
        with attempt.probe_socket(address) as sock:
            if prepare is not None:
                prepare(sock)
            with probe_context().wrap_socket(sock, server_hostname=server_hostname) as tls:
                return tls.getpeercert(binary_form=True)
    except Exception:  # any failure just means no names to show
        return None


def certificate_names(der: bytes | None) -> list[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    if not der:
        return []
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        certificate = x509.load_der_x509_certificate(der)
        try:
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = san.get_values_for_type(x509.DNSName) + [
                str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            names = [attribute.value for attribute in
                     certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return [shorten(str(name), 253) for name in names[:20]]
    except Exception:  # an unparsable certificate has no names we can show
        return []
