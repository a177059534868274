"""What the page says about a server's certificate, in the page's language:
its facts under a failed test, the fingerprints side by side when a trusted
certificate changed, the refusal for well-known providers, and the warning
in a passing result when the certificate runs out soon."""
from dataclasses import dataclass
from datetime import datetime, timezone

from flask_babel import format_date

from .diagnoses import EXPLANATIONS
from .fields import fill
from .i18n import lazy_gettext as _l
from .mail.certificates import CertificateFacts, colon_hex, expires_soon
from .mail.result import DeliveryResult, Diagnosis

TRUST_BUTTON = _l("Trust this certificate")
STOP_TRUSTING_BUTTON = _l("Stop trusting")

# Where a certificate fails for a well-known provider; the same reasoning as
# the warning beside "Do not verify TLS certificate".
TRUST_REFUSED = _l(
    "%(provider)s has a valid certificate, so Sendwell does not trust any other certificate "
    "for it: a different one means someone on the network could be posing as %(provider)s to "
    "take your password.")

COMPARE_ADVICE = _l(
    "Ask the server's administrator to read out the SHA-256 fingerprint of the server's "
    "certificate, and compare it with this one, group by group. Trust the certificate only if "
    "they are the same: Sendwell then accepts exactly this certificate from the server, "
    "whatever its names, issuer and dates.")

# Bytes per group of a fingerprint as shown: 8 groups of 4, easy to read aloud.
GROUP_BYTES = 4


def fingerprint_groups(sha256: str) -> list[str]:
    """The fingerprint in colon-separated hex (as openssl prints it), cut
    into groups; each group but the last keeps its trailing colon, so the
    groups joined are exactly the colon form."""
    pairs = colon_hex(sha256).split(":")
    groups = [":".join(pairs[index:index + GROUP_BYTES])
              for index in range(0, len(pairs), GROUP_BYTES)]
    return [group + ":" for group in groups[:-1]] + groups[-1:]


@dataclass(frozen=True)
class ShownCertificate:
    fingerprint: list[str]      # fingerprint_groups
    subject: str
    names: str                  # the names it is valid for, comma-separated
    issuer: str
    self_signed: bool
    valid_from: str             # a date in the page's format
    valid_until: str
    expired: bool


def shown(facts: CertificateFacts) -> ShownCertificate:
    return ShownCertificate(
        fingerprint=fingerprint_groups(facts.sha256),
        subject=facts.subject,
        names=", ".join(facts.names),
        issuer=facts.issuer,
        self_signed=facts.self_signed,
        valid_from=format_date(facts.not_before, "medium"),
        valid_until=format_date(facts.not_after, "medium"),
        expired=facts.not_after < datetime.now(timezone.utc),
    )


@dataclass(frozen=True)
class CertificateSection:
    """The part of a failed result about the certificate."""
    presented: ShownCertificate | None
    trusted_fingerprint: list[str] | None     # a trusted certificate changed: the one trusted
    presented_fingerprint: list[str] | None   # ... and the one presented instead
    advice: str | None


CERTIFICATE_CODES = ("certificate_untrusted", "certificate_wrong_host", "certificate_expired",
                     "certificate_changed")


def certificate_section(diagnosis: Diagnosis | None, *, protocol: str) -> CertificateSection | None:
    """What a failed result shows of the certificate, when it failed on one."""
    if diagnosis is None or diagnosis.code not in CERTIFICATE_CODES:
        return None
    facts = diagnosis.facts.get("certificate")
    presented = shown(facts) if isinstance(facts, CertificateFacts) else None
    changed = diagnosis.code == "certificate_changed"
    if presented is None and not changed:
        return None
    provider = diagnosis.facts.get("provider")
    if provider:
        advice = fill(TRUST_REFUSED, provider=provider)
    elif protocol == "SMTP" and not changed:  # the explanation itself advises on a change
        advice = str(COMPARE_ADVICE)
    else:
        advice = None
    return CertificateSection(
        presented=presented,
        trusted_fingerprint=(fingerprint_groups(diagnosis.facts["trusted_sha256"])
                             if changed else None),
        presented_fingerprint=(fingerprint_groups(diagnosis.facts["presented_sha256"])
                               if changed else None),
        advice=advice,
    )


def expiry_warning(result: DeliveryResult) -> str | None:
    """In a passing result: the certificate, trusted or verified, runs out
    within EXPIRY_WARNING (a trusted one may already have)."""
    if not result.ok:
        return None
    detail = next((step.detail for step in result.steps if step.name == "tls"), None) or {}
    expires = detail.get("expires")
    pinned = detail.get("pinned")
    if not isinstance(expires, datetime) or not (pinned or detail.get("verified")):
        return None
    if not expires_soon(expires):
        return None
    date = format_date(expires, "medium")
    if not pinned:
        return fill(_l("The server's certificate expires on %(date)s. Tell the server's "
                       "administrator: once it has expired, sending fails until they renew it."),
                    date=date)
    if expires < datetime.now(timezone.utc):
        return fill(_l("The trusted certificate expired on %(date)s. Sendwell still accepts it "
                       "because you trust it, but other programs refuse it: ask the server's "
                       "administrator to renew it, then trust the new certificate."), date=date)
    return fill(_l("The trusted certificate expires on %(date)s. Once the server's administrator "
                   "renews it, sending fails with “%(changed)s” until you trust the new "
                   "certificate."),
                date=date, changed=EXPLANATIONS["certificate_changed"].title)
