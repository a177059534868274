"""What Detect settings found, as plain data: no prose, codes and facts only
(the web layer turns them into sentences in the page's language).

A ``Candidate`` is one set of settings some source proposes, with the
evidence for it. A ``Tried`` is one thing looked at and what came of it
(found, nothing there, no answer within the time...), so the fragment can
list what was tried and why it was not chosen. ``Detection`` is the whole
answer: the chosen candidate, the others, and everything tried.

The order of trust (issue 16): Sendwell's own provider table, then the
domain's DNS (SRV records first, then its MX hosts mapped to a known
provider), then the domain's autoconfig document, then what a probe of the
servers showed. ``choose`` takes the first candidate of the most trusted
source; within one source, candidates keep the order the source gives
(RFC 2782 order for SRV, document order for autoconfig).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .autoconfig import Autoconfig
from .dns import Lookup, SubmissionService
from .mx import MxMatch

SOURCES: tuple[str, ...] = (
    "provider_table",  # the address's domain is in Sendwell's provider table
    "dns_srv",         # _submissions._tcp / _submission._tcp SRV records
    "dns_mx",          # MX hosts of a known provider -> that provider's settings
    "autoconfig",      # the domain's config-v1.1.xml
    "probe",           # a server answered on a port, and how
)

SECURITIES = ("tls", "starttls", "opportunistic")
USERNAME_RULES = ("address", "local_part", "fixed", "pattern")
SIGN_IN = ("password", "oauth2")

# Outcome codes of a Tried, besides the DNS failures (dns.FAILURES), the
# autoconfig failures (autoconfig.FAILURES) and the network/TLS diagnosis
# codes of webapp.mail.
OUTCOMES: tuple[str, ...] = (
    "found",          # it gave a candidate
    "no_service",     # SRV target "." / null MX: the domain says there is none
    "no_provider",    # MX hosts found, none of a known provider
    "not_https",      # autoconfig URL not https, or a redirect off the host
    "unusable",       # found, but nothing Sendwell can use (e.g. only NTLM sign-in)
    "not_chosen",     # a candidate, but a more trusted one won
)


@dataclass(frozen=True)
class Evidence:
    code: str      # e.g. "srv_record", "mx_host", "autoconfig_document", "probe_answer"
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    source: str                     # one of SOURCES
    host: str
    port: int
    security: str                   # one of SECURITIES
    username_rule: str | None       # one of USERNAME_RULES, None when unknown
    username: str | None            # filled in for the address when known
    sign_in: str | None = None      # a hint: "oauth2" for Microsoft 365/Google when offered
    provider: str | None = None     # provider key when the settings are a known provider's
    evidence: tuple[Evidence, ...] = ()

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}")
        if self.security not in SECURITIES:
            raise ValueError(f"unknown security {self.security!r}")
        if self.username_rule is not None and self.username_rule not in USERNAME_RULES:
            raise ValueError(f"unknown username rule {self.username_rule!r}")
        if self.sign_in is not None and self.sign_in not in SIGN_IN:
            raise ValueError(f"unknown sign-in method {self.sign_in!r}")

    @property
    def settings(self) -> tuple[str, int, str]:
        return self.host, self.port, self.security


@dataclass(frozen=True)
class Tried:
    source: str      # one of SOURCES
    code: str        # an outcome code
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Detection:
    address: str
    domain: str
    chosen: Candidate | None
    candidates: tuple[Candidate, ...]
    tried: tuple[Tried, ...]
    elapsed_ms: float
    deadline_s: float

    @property
    def found(self) -> bool:
        return self.chosen is not None


def trust(source: str) -> int:
    """Lower is more trusted."""
    return SOURCES.index(source)


def ordered(candidates: list[Candidate]) -> list[Candidate]:
    """By trust of their source; a stable sort keeps each source's own order."""
    return sorted(candidates, key=lambda candidate: trust(candidate.source))


def choose(candidates: list[Candidate]) -> Candidate | None:
    ranked = ordered(candidates)
    return ranked[0] if ranked else None


def address_username(address: str) -> str:
    return address.strip()


# --- candidates from each source's plain results --------------------------------

def from_srv(services: list[SubmissionService], address: str) -> list[Candidate]:
    """One candidate per SRV target, in the order to try them. SRV says
    nothing about the username; the address itself is the usual rule."""
    return [
        Candidate("dns_srv", service.host, service.port, service.security, "address",
                  address_username(address), evidence=(Evidence("srv_record", {
                      "name": service.srv_name, "priority": service.priority,
                      "weight": service.weight, "target": service.host, "port": service.port}),))
        for service in services
    ]


def srv_tried(lookup: Lookup) -> Tried:
    if lookup.no_service:
        return Tried("dns_srv", "no_service", {"name": lookup.name})
    if not lookup.ok:
        return Tried("dns_srv", lookup.failure, {"name": lookup.name})
    return Tried("dns_srv", "found", {"name": lookup.name, "records": len(lookup.records)})


def mx_tried(lookup: Lookup, match: MxMatch | None) -> Tried:
    if lookup.no_service:
        return Tried("dns_mx", "no_service", {"name": lookup.name})
    if not lookup.ok:
        return Tried("dns_mx", lookup.failure, {"name": lookup.name})
    hosts = [record.exchange for record in lookup.records][:5]
    if match is None:
        return Tried("dns_mx", "no_provider", {"name": lookup.name, "hosts": hosts})
    return Tried("dns_mx", "found", {"name": lookup.name, "hosts": hosts,
                                     "provider": match.provider, "unanimous": match.unanimous})


def mx_evidence(match: MxMatch) -> Evidence:
    """For the candidate the integration builds from the provider's own
    settings: which MX host showed who the provider is."""
    return Evidence("mx_host", {"host": match.host, "pattern": match.pattern,
                                "provider": match.provider, "unanimous": match.unanimous})


def from_autoconfig(result: Autoconfig, url: str) -> list[Candidate]:
    """One candidate per outgoing server the document names."""
    candidates = []
    for server in result.servers:
        sign_in = ("oauth2" if server.authentication[:1] == ("oauth2",)
                   else "password" if "password" in server.authentication else None)
        candidates.append(Candidate(
            "autoconfig", server.host, server.port, server.security,
            server.username_rule, server.username, sign_in,
            evidence=(Evidence("autoconfig_document", {
                "url": url, "authentication": list(server.authentication)}),)))
    return candidates


def autoconfig_tried(result: Autoconfig, url: str) -> Tried:
    if result.ok:
        return Tried("autoconfig", "found", {"url": url, "servers": len(result.servers)})
    return Tried("autoconfig", result.failure, {"url": url, **result.facts})
