"""TLS: the contexts, and what a failed handshake means."""

from __future__ import annotations

import ssl

from .causes import find_cause

# OpenSSL X509_V_ERR_* codes, as found in SSLCertVerificationError.verify_code.
_CERT_NOT_YET_VALID = 9
_CERT_HAS_EXPIRED = 10
_DEPTH_ZERO_SELF_SIGNED_CERT = 18
_SELF_SIGNED_CERT_IN_CHAIN = 19
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64

def tls_context(*, verify: bool, cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        # "Do not verify TLS certificate": still TLS, just no certificate checks.
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


def tls_detail(sock: ssl.SSLSocket, verified: bool) -> dict:
    cipher = sock.cipher()
    return {"version": sock.version(), "verified": verified, "cipher": cipher[0] if cipher else None}


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
