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
servers showed. ``ordered`` puts the most trusted source's candidates first,
and the first is chosen; within one source, candidates keep the order the
source gives (RFC 2782 order for SRV, document order for autoconfig, the
probe's ranking).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..mail.providers import Mailboxes, Provider
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
SIGN_IN = ("microsoft", "google")  # the OAuth sign-in methods of SPEC section 7

# Outcome codes of a Tried, besides the DNS failures (dns.FAILURES), the
# autoconfig failures (autoconfig.FAILURES) and the diagnosis codes of
# webapp.mail (a probe or a fetch that failed).
OUTCOMES: tuple[str, ...] = (
    "found",              # it gave a candidate
    "not_listed",         # the address's domain is not in the provider table
    "no_server",          # a listed provider without a server a program can use (note_key says why)
    "no_service",         # SRV target "." / null MX: the domain says there is none
    "no_provider",        # MX hosts found, none of a known provider
    "not_found",          # no autoconfig document at that URL (an HTTP error status)
    "redirect_off_host",  # the autoconfig URL redirects elsewhere: not followed
    "outside_domain",     # a host named by SRV or autoconfig outside the address's domain: not probed
    "answered",           # a probe: the server answered (facts: security, how)
    "port_security",      # a probe: it answered, but not as the form's port rules want
    "unfinished",         # still under way when the answer was settled or the deadline came
)


@dataclass(frozen=True)
class Evidence:
    code: str      # "provider_table", "srv_record", "mx_host", "autoconfig_document", "probe_answer"
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    source: str                     # one of SOURCES
    host: str
    port: int
    security: str                   # one of SECURITIES
    username_rule: str | None       # one of USERNAME_RULES, None when unknown
    username: str | None            # filled in for the address when known
    sign_in: str | None = None      # one of SIGN_IN: the provider's OAuth sign-in, to propose
    provider: str | None = None     # provider name when the settings are a known provider's
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
    domain: str                     # as DNS carries it (ASCII)
    chosen: Candidate | None
    candidates: tuple[Candidate, ...]
    tried: tuple[Tried, ...]
    elapsed_ms: float
    deadline_s: float
    provider: str | None = None     # the provider the table or the MX hosts named
    note_key: str | None = None     # that provider's note for the web layer (Provider.note_key)

    @property
    def found(self) -> bool:
        return self.chosen is not None


def trust(source: str) -> int:
    """Lower is more trusted."""
    return SOURCES.index(source)


def ordered(candidates: list[Candidate]) -> list[Candidate]:
    """By trust of their source; a stable sort keeps each source's own order."""
    return sorted(candidates, key=lambda candidate: trust(candidate.source))


def username_for(rule: str | None, address: str) -> str | None:
    address = address.strip()
    if rule == "address":
        return address
    if rule == "local_part":
        return address.rpartition("@")[0]
    return None


# --- candidates from each source's plain results --------------------------------

def from_table(provider: Provider, mailboxes: Mailboxes, address: str, source: str,
               evidence: Evidence) -> Candidate | None:
    """The provider's own settings for the address (None when it has no server to propose)."""
    if mailboxes.smtp is None:
        return None
    host, port, security = mailboxes.smtp
    return Candidate(source, host, port, security, mailboxes.username,
                     username_for(mailboxes.username, address), provider.sign_in, provider.name,
                     (evidence,))


def table_evidence(provider: Provider, domain: str) -> Evidence:
    return Evidence("provider_table", {"provider": provider.name, "domain": domain})


def from_srv(services: list[SubmissionService], address: str) -> list[Candidate]:
    """One candidate per SRV target, in the order to try them. SRV says
    nothing about the username; the address itself is the usual rule."""
    return [
        Candidate("dns_srv", service.host, service.port, service.security, "address",
                  username_for("address", address), evidence=(Evidence("srv_record", {
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
    return Tried("dns_mx", "found", {"name": lookup.name, "hosts": hosts, "host": match.host,
                                     "provider": match.provider.name,
                                     "unanimous": match.unanimous})


def mx_evidence(match: MxMatch, domain: str) -> Evidence:
    """Which MX host showed who the provider is."""
    return Evidence("mx_host", {"host": match.host, "domain": domain,
                                "provider": match.provider.name, "unanimous": match.unanimous})


def from_autoconfig(result: Autoconfig, url: str) -> list[Candidate]:
    """One candidate per outgoing server the document names."""
    return [Candidate(
        "autoconfig", server.host, server.port, server.security,
        server.username_rule, server.username,
        evidence=(Evidence("autoconfig_document", {
            "url": url, "authentication": list(server.authentication)}),))
        for server in result.servers]


def autoconfig_tried(result: Autoconfig, url: str) -> Tried:
    if result.ok:
        return Tried("autoconfig", "found", {"url": url, "servers": len(result.servers)})
    return Tried("autoconfig", result.failure, {"url": url, **result.facts})
