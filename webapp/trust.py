"""Trust this certificate, on the settings page: the offer after a test that
failed on the SMTP server's certificate, and the two buttons that put a
fingerprint into the form (Trust this certificate) or take it out (Stop
trusting). Nothing here saves settings: the trust is one of them, saved with
Update like the rest.

The certificate offered is the one the server presented to the test, kept
server-side (storage/certificates.py): a button only names it by its
fingerprint, and the facts shown are always read from the kept certificate,
never from what the browser sends back.
"""
from collections.abc import Iterable, Mapping

from werkzeug.datastructures import MultiDict

from . import validation
from .certificate_texts import ShownCertificate, fingerprint_groups, shown
from .mail.certificates import CertificateFacts, normalized_fingerprint
from .mail.providers import provider_for_host
from .mail.result import DeliveryResult
from .model import MailSettings
from .rules import parse_port
from .storage import Store

# The buttons' names; "Trust this certificate" carries the fingerprint as its value.
TRUST = "trust_certificate"
STOP_TRUSTING = "stop_trusting"
OFFER_SLOT = "certificate_offer"


def remember_offer(store: Store, settings: MailSettings, result: DeliveryResult) -> str | None:
    """Keep the certificate an SMTP test failed on; the offer's slot state:
    the fingerprint, when that certificate may be trusted here."""
    diagnosis = result.diagnosis
    if diagnosis is None or settings.protocol != "SMTP":
        return None
    certificate = diagnosis.facts.get("certificate")
    if not isinstance(certificate, CertificateFacts) or not certificate.der:
        return None
    store.remember_certificate(settings.smtp_host, settings.smtp_port, certificate.der)
    if provider_for_host(settings.smtp_host) is not None:
        return None  # refused: the result says why
    if certificate.sha256 == settings.trusted_certificate:
        return None
    return certificate.sha256


def _server(values: Mapping) -> tuple[str, int | None] | None:
    """The SMTP server the form names, as the settings would save it."""
    try:
        host = validation.host(values.get("smtp_host") or "")
    except validation.Invalid:
        return None
    return host, parse_port(values.get("smtp_port"))


def trustable(store: Store, values: Mapping, fingerprint: str | None) -> bool:
    """Whether the form may trust this certificate: the server it names
    presented it to a test, and is not a well-known provider."""
    if not fingerprint or (values.get("protocol") or "SMTP") != "SMTP":
        return False
    server = _server(values)
    seen = store.seen_certificate(fingerprint)
    return (server is not None and seen is not None and (seen.host, seen.port) == server
            and provider_for_host(server[0]) is None)


def apply_choice(formdata: MultiDict, store: Store) -> MultiDict:
    """The form as submitted, changed by the trust button that was pressed, if any."""
    if STOP_TRUSTING in formdata:
        changed = formdata.copy()
        changed["trusted_certificate"] = ""
        return changed
    fingerprint = normalized_fingerprint(formdata.get(TRUST) or "")
    if fingerprint is None or not trustable(store, formdata, fingerprint):
        return formdata
    changed = formdata.copy()
    changed["trusted_certificate"] = fingerprint
    changed.pop("skip_tls_verify", None)  # a trusted certificate replaces that choice
    return changed


def pressed(formdata: Mapping) -> bool:
    return TRUST in formdata or STOP_TRUSTING in formdata


def offer_still_open(store: Store, values: Mapping, shown_markers: Iterable[str]) -> str | None:
    """The offer the page shows, while it still fits the form: the same
    server, and its certificate not trusted yet."""
    for marker in shown_markers:
        slot, _, fingerprint = marker.partition("=")
        if slot != OFFER_SLOT:
            continue
        trusted = normalized_fingerprint(values.get("trusted_certificate") or "")
        if fingerprint != trusted and trustable(store, values, fingerprint):
            return fingerprint
    return None


def trusted_facts(store: Store, fingerprint: str) -> ShownCertificate | None:
    """What the form shows of a trusted certificate, read from the kept one."""
    fingerprint = normalized_fingerprint(fingerprint or "")
    seen = store.seen_certificate(fingerprint) if fingerprint else None
    return shown(seen.facts) if seen else None


def fingerprint_groups_of(text: str) -> list[str]:
    """A submitted fingerprint in groups to read aloud, or as it came when it is none."""
    fingerprint = normalized_fingerprint(text or "")
    return fingerprint_groups(fingerprint) if fingerprint else [text]
