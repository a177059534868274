"""Detect settings: from an email address to the settings to send with.

``detect_settings(address, options)`` answers from the provider table at
once when the address's domain is in it. Otherwise it runs, all at once and
under ONE deadline (``options.deadline_s``): the two SRV lookups, the MX
lookup, the autoconfig document, and the probe of ``smtp.<domain>`` and
``mail.<domain>`` on every port of ``options.ports`` (then also of the
hosts SRV or autoconfig name inside the domain, on their own port too).

The answer is settled as soon as no more trusted source can still change
it (findings.SOURCES): SRV records win once both SRV lookups are in; the
MX mapping once SRV gave nothing; the autoconfig document once SRV and MX
gave nothing; the probe's best answer once everything else is in and every
probe has ended. Whatever is still under way then is abandoned (its
watchdog fires) and listed as unfinished. Nothing here raises for network
trouble; an address without a usable domain is a ValueError.

Only hosts inside the address's domain are ever connected to: a host that
SRV or autoconfig names elsewhere is proposed as it is, not probed, and the
provider table's hosts are never contacted (the table is trusted as it is).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from ..mail.providers import PROVIDERS, Provider, mailboxes_for_address
from ..model import STANDARD_PORT_SECURITY
from . import findings
from .autoconfig import address_domain
from .dns import SUBMISSION, SUBMISSIONS, DetectResolver, is_within, submission_services
from .findings import Candidate, Detection, Evidence, Tried
from .mx import provider_for_mx
from .probe import SILENCE_S, Attempts, ProbeResult, probe
from .sources import AddressBook, Clock, fetch_autoconfig

DEFAULT_PORTS = (465, 587, 25)
MAX_THREADS = 24
# A probe's answer -> the form's security choice.
PROBE_SECURITY = {"tls": "tls", "starttls": "starttls", "plain": "opportunistic"}
SECURITY_RANK = {"tls": 0, "starttls": 1, "opportunistic": 2}


@dataclass(frozen=True)
class DetectOptions:
    deadline_s: float = 10.0
    dns_server: str | None = None          # "host[:port]": every lookup goes there
    ports: tuple[int, ...] = DEFAULT_PORTS
    allow_private: bool = True
    cafile: str | None = None
    https_port: int = 443                  # for autoconfig; tests serve it elsewhere
    providers: tuple[Provider, ...] = PROVIDERS
    silence_s: float = SILENCE_S


def parse_ports(text: str) -> tuple[int, ...]:
    """SENDWELL_DETECT_PORTS ("465,587,25") -> ports, in order. Raises ValueError."""
    ports = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    if not ports or not all(0 < port < 65536 for port in ports):
        raise ValueError(f"not a list of ports: {text!r}")
    return ports


def detect_settings(address: str, options: DetectOptions = DetectOptions()) -> Detection:
    domain = address_domain(address)
    address = address.strip()
    clock = Clock(options.deadline_s)
    listed = mailboxes_for_address(domain, options.providers)
    if listed is not None:
        provider, mailboxes = listed
        candidate = findings.from_table(provider, mailboxes, address, "provider_table",
                                        findings.table_evidence(provider, domain))
        tried = Tried("provider_table", "found" if candidate else "no_server",
                      {"provider": provider.name, "domain": domain})
        return Detection(address, domain, candidate, (candidate,) if candidate else (), (tried,),
                         clock.elapsed_ms(), options.deadline_s, provider.name, provider.note_key)
    return _Run(address, domain, options, clock).run()


class _Run:
    def __init__(self, address: str, domain: str, options: DetectOptions, clock: Clock):
        self.address, self.domain, self.options, self.clock = address, domain, options, clock
        self.dns = DetectResolver(options.dns_server)
        self.book = AddressBook(self.dns if options.dns_server else None)
        self.attempts = Attempts()
        self.executor = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="sendwell-detect")
        self.pending: dict[Future, tuple[str, object]] = {}
        self.srv: dict[str, object] = {}
        self.srv_candidates: list[Candidate] = []
        self.mx_done = False
        self.mx_candidate: Candidate | None = None
        self.mx_provider: Provider | None = None
        self.autoconfig_done = False
        self.autoconfig_candidates: list[Candidate] = []
        self.probed: dict[tuple[str, int], ProbeResult] = {}
        self.probe_hosts: list[str] = []
        self.tried: list[Tried] = [Tried("provider_table", "not_listed", {"domain": domain})]

    # --- starting the work --------------------------------------------------------

    def submit(self, kind: str, key, function, *args) -> None:
        self.pending[self.executor.submit(function, *args)] = (kind, key)

    def start(self) -> None:
        for name in (SUBMISSIONS, SUBMISSION):
            self.submit("srv", name, self.dns.srv, f"{name}.{self.domain}", self.clock.remaining())
        self.submit("mx", None, self.dns.mx, self.domain, self.clock.remaining())
        self.submit("autoconfig", None, self.fetch_autoconfig)
        for host in (f"smtp.{self.domain}", f"mail.{self.domain}"):
            self.add_probes(host)

    def fetch_autoconfig(self):
        return fetch_autoconfig(self.address, clock=self.clock, allow_private=self.options.allow_private,
                                cafile=self.options.cafile, resolver=self.book,
                                attempts=self.attempts, https_port=self.options.https_port)

    def add_probes(self, host: str, own_port: int | None = None, named_by: str | None = None) -> None:
        if not is_within(host, self.domain):
            self.tried.append(Tried("probe", "outside_domain", {"host": host, "source": named_by}))
            return
        if host not in self.probe_hosts:
            self.probe_hosts.append(host)
        for port in (*(() if own_port is None else (own_port,)), *self.options.ports):
            if (host, port) in self.probed or ("probe", (host, port)) in self.pending.values():
                continue
            self.submit("probe", (host, port), self.probe, host, port)

    def probe(self, host: str, port: int) -> ProbeResult:
        return probe(host, port, remaining=self.clock.remaining,
                     allow_private=self.options.allow_private, cafile=self.options.cafile,
                     resolver=self.book, attempts=self.attempts, silence_s=self.options.silence_s)

    # --- results as they come ---------------------------------------------------------

    def take(self, future: Future) -> None:
        kind, key = self.pending.pop(future)
        result = future.result()
        if kind == "srv":
            self.srv[key] = result
            self.tried.append(findings.srv_tried(result))
            if len(self.srv) == 2:
                services = submission_services(self.srv[SUBMISSIONS], self.srv[SUBMISSION])
                self.srv_candidates = findings.from_srv(services, self.address)
                for service in services:
                    self.add_probes(service.host, service.port, "dns_srv")
        elif kind == "mx":
            self.mx_done = True
            match = provider_for_mx([record.exchange for record in result.records],
                                    self.options.providers) if result.ok else None
            self.tried.append(findings.mx_tried(result, match))
            if match is not None:
                self.mx_provider = match.provider
                self.mx_candidate = findings.from_table(
                    match.provider, match.mailboxes, self.address, "dns_mx",
                    findings.mx_evidence(match, self.domain))
        elif kind == "autoconfig":
            self.autoconfig_done = True
            tried, self.autoconfig_candidates = result
            self.tried.extend(tried)
            for candidate in self.autoconfig_candidates:
                self.add_probes(candidate.host, candidate.port, "autoconfig")
        else:
            self.probed[key] = result

    def settled(self) -> str | None:
        """The source whose answer can no longer change, if any."""
        if len(self.srv) < 2:
            return None
        if self.srv_candidates:
            return "dns_srv"
        if not self.mx_done:
            return None
        if self.mx_candidate is not None:
            return "dns_mx"
        if not self.autoconfig_done:
            return None
        if self.autoconfig_candidates:
            return "autoconfig"
        if any(kind == "probe" for kind, _ in self.pending.values()):
            return None
        return "probe"

    # --- the whole run ------------------------------------------------------------------

    def run(self) -> Detection:
        try:
            self.start()
            while self.pending and self.settled() is None:
                done, _ = wait(list(self.pending), timeout=self.clock.remaining(),
                               return_when=FIRST_COMPLETED)
                if not done:
                    break  # the deadline
                for future in done:
                    self.take(future)
            return self.answer()
        finally:
            self.attempts.stop_all()
            self.executor.shutdown(wait=False, cancel_futures=True)

    def answer(self) -> Detection:
        for kind, key in self.pending.values():
            facts = {"host": key[0], "port": key[1]} if kind == "probe" else \
                {"name": f"{key}.{self.domain}"} if kind == "srv" else {"domain": self.domain}
            source = {"srv": "dns_srv", "mx": "dns_mx"}.get(kind, kind)
            self.tried.append(Tried(source, "unfinished", facts))
        probe_candidates = self.probe_candidates()
        candidates = findings.ordered([*self.srv_candidates,
                                       *([self.mx_candidate] if self.mx_candidate else []),
                                       *self.autoconfig_candidates, *probe_candidates])
        candidates = [self.with_probe_evidence(candidate) for candidate in candidates]
        chosen = candidates[0] if candidates else None
        provider = self.mx_provider
        return Detection(self.address, self.domain, chosen, tuple(candidates), self.tried_in_order(),
                         self.clock.elapsed_ms(), self.options.deadline_s,
                         provider.name if provider else None,
                         provider.note_key if provider else None)

    def tried_in_order(self) -> tuple[Tried, ...]:
        """By source in the order of trust; the probes by host, then port, as they were asked."""
        hosts = {host: index for index, host in enumerate(self.probe_hosts)}
        ports = {port: index for index, port in enumerate(self.options.ports)}

        def key(item):
            index, tried = item
            if tried.source != "probe":
                return findings.trust(tried.source), index, 0, 0
            return (findings.trust("probe"), hosts.get(tried.facts.get("host"), len(hosts)),
                    ports.get(tried.facts.get("port"), -1), index)

        return tuple(tried for _, tried in sorted(enumerate(self.tried), key=key))

    def probe_candidates(self) -> list[Candidate]:
        ranked = []
        for (host, port), result in self.probed.items():
            facts = {"host": host, "port": port, **result.facts}
            if not result.answered:
                self.tried.append(Tried("probe", result.failure, facts))
                continue
            security = PROBE_SECURITY[result.security]
            standard = STANDARD_PORT_SECURITY.get(port)
            if standard is not None and standard != security:
                if port == 25 and security == "starttls":
                    security = standard  # port 25 in the form: STARTTLS whenever offered
                else:
                    self.tried.append(Tried("probe", "port_security", {**facts, "answered": result.security}))
                    continue
            self.tried.append(Tried("probe", "answered", {**facts, "answered": result.security}))
            rank = (SECURITY_RANK[security], 0 if result.facts.get("auth") else 1,
                    self.probe_hosts.index(host),
                    self.options.ports.index(port) if port in self.options.ports else len(self.options.ports))
            ranked.append((rank, Candidate(
                "probe", host, port, security, "address", findings.username_for("address", self.address),
                evidence=(Evidence("probe_answer", {**facts, "answered": result.security}),))))
        return [candidate for _, candidate in sorted(ranked, key=lambda item: item[0])]

    def with_probe_evidence(self, candidate: Candidate) -> Candidate:
        """A candidate of DNS or autoconfig whose server a probe reached carries what it showed."""
        result = self.probed.get((candidate.host, candidate.port))
        if candidate.source == "probe" or result is None or not result.answered:
            return candidate
        evidence = Evidence("probe_answer", {"host": candidate.host, "port": candidate.port,
                                             **result.facts, "answered": result.security})
        return Candidate(candidate.source, candidate.host, candidate.port, candidate.security,
                         candidate.username_rule, candidate.username, candidate.sign_in,
                         candidate.provider, (*candidate.evidence, evidence))
