"""TLS: the contexts, the handshake, and what a failed one means.

``handshake`` is the one place where a mail server's certificate is checked,
for implicit TLS and STARTTLS alike: verified against the trusted
authorities, not checked at all, or pinned (a certificate the user chose to
trust: accepted only with exactly that SHA-256 fingerprint, its names and
chain unchecked). HTTP leaves TLS to urllib3 (``web.py``; a pin there would
be urllib3's ``assert_fingerprint``) and reports its certificate failures
with ``certificate_failure`` too.
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING, Callable, NoReturn

from .causes import find_cause
from .certificates import CertificateFacts, sha256_of

if TYPE_CHECKING:
    from .attempt import Attempt, StepRecord

# OpenSSL X509_V_ERR_* codes, as found in SSLCertVerificationError.verify_code.
_CERT_NOT_YET_VALID = 9
_CERT_HAS_EXPIRED = 10
_DEPTH_ZERO_SELF_SIGNED_CERT = 18
_SELF_SIGNED_CERT_IN_CHAIN = 19
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64

# Facts about the certificate a server presents, from a second look at it.
SecondLook = Callable[[], dict]


def tls_context(*, verify: bool, cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        # "Do not verify TLS certificate", or a pin checked after the
        # handshake: still TLS, just no checks of names and chain here.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def probe_context() -> ssl.SSLContext:
    """For questions about a server, never for sending: does it speak TLS,
    which certificate does it show?"""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def handshake(attempt: Attempt, step: StepRecord, sock: socket.socket, *, host: str,
              verify: bool, cafile: str | None, second_look: SecondLook,
              pin: str | None = None) -> ssl.SSLSocket:
    """TLS on the connected ``sock`` (which the wrap detaches), within
    ``step``: the certificate check, its failure as a diagnosis, the step's
    detail. ``second_look`` is asked about the certificate when the check
    failed, to show it. With ``pin`` (a SHA-256 fingerprint, 64 lower-case
    hex digits) only that certificate is accepted and ``verify`` is moot."""
    tls_sock = tls_context(verify=verify and not pin, cafile=cafile).wrap_socket(
        sock, server_hostname=host, do_handshake_on_connect=False)
    try:
        tls_sock.settimeout(attempt.timeout())
        try:
            tls_sock.do_handshake()
        except ssl.SSLCertVerificationError as exc:
            certificate_failure(step, exc, second_look)
        if pin:
            check_pin(step, tls_sock, pin)
    except BaseException:
        tls_sock.close()
        raise
    step.detail = tls_detail(tls_sock, verify and not pin, pinned=bool(pin))
    return tls_sock


def check_pin(step: StepRecord, tls_sock: ssl.SSLSocket, pin: str) -> None:
    """Fail ``step`` unless the server presented exactly the trusted
    certificate: before anything is sent over the connection."""
    der = tls_sock.getpeercert(binary_form=True) or b""
    presented = sha256_of(der)
    if presented != pin:
        facts = {"trusted_sha256": pin, "presented_sha256": presented}
        certificate = CertificateFacts.from_der(der)
        if certificate is not None:
            facts["certificate"] = certificate
        step.fail("certificate_changed", facts=facts)


def certificate_failure(step: StepRecord, exc: ssl.SSLCertVerificationError,
                        second_look: SecondLook) -> NoReturn:
    code, facts = tls_error_diagnosis(exc)
    facts.update(second_look())
    step.fail(code, facts=facts)


def tls_detail(sock: ssl.SSLSocket, verified: bool, *, pinned: bool = False) -> dict:
    """What the TLS step reports: version, cipher, how the certificate was
    accepted and until when it is valid (for a warning when that is soon)."""
    cipher = sock.cipher()
    detail = {"version": sock.version(), "verified": verified, "pinned": pinned,
              "cipher": cipher[0] if cipher else None}
    try:
        certificate = CertificateFacts.from_der(sock.getpeercert(binary_form=True))
    except (OSError, ValueError):
        certificate = None
    if certificate is not None:
        detail["expires"] = certificate.not_after
    return detail


def tls_error_diagnosis(exc: BaseException) -> tuple[str, dict] | None:
    verification = find_cause(exc, ssl.SSLCertVerificationError)
    if verification is not None:
        code = verification.verify_code
        facts = {"verify_message": verification.verify_message}
        if code in (_CERT_HAS_EXPIRED, _CERT_NOT_YET_VALID):
            facts["not_yet_valid"] = code == _CERT_NOT_YET_VALID
            return "certificate_expired", facts
        if code in (_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH):
            return "certificate_wrong_host", facts
        facts["self_signed"] = code in (_DEPTH_ZERO_SELF_SIGNED_CERT, _SELF_SIGNED_CERT_IN_CHAIN)
        return "certificate_untrusted", facts
    # urllib3 2.x checks host names itself in some setups; its error is a
    # CertificateError (an alias of SSLCertVerificationError on modern Python).
    error = find_cause(exc, ssl.SSLError)
    if error is not None:
        return "tls_handshake_failed", {"reason": error.reason or type(error).__name__}
    return None
