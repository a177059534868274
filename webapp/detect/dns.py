"""DNS lookups for Detect settings, with dnspython.

Every lookup takes a ``timeout`` (the caller passes what is left of Detect's
one deadline) and returns a ``Lookup``: the records found, or a failure code.
Nothing here raises for DNS trouble; a bad SENDWELL_DNS_SERVER value is the
only error, raised when the resolver is made.

The resolver is the system's (/etc/resolv.conf) unless a server is named
(``host[:port]``, SENDWELL_DNS_SERVER); then every lookup goes to that server
only, the address records of the hosts to probe included
(``resolve_addresses``).

Records come back ordered as the RFCs say they must be used:

- SRV (RFC 2782): lowest priority first; within one priority, a weighted
  random order. A single record whose target is "." means "this service is
  decidedly not available at this domain": ``no_service``.
- ``_submissions._tcp`` (RFC 8314, TLS from the first byte) and
  ``_submission._tcp`` (RFC 6186, STARTTLS) are merged by
  ``submission_services``.
- MX (RFC 5321): lowest preference first. A single MX "0 ." is a null MX
  (RFC 7505: the domain accepts no mail): ``no_service``.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time
from dataclasses import dataclass, replace

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

Address = tuple[int, tuple]  # (socket family, sockaddr), as socket.getaddrinfo gives them

FAILURES: tuple[str, ...] = (
    "nxdomain",      # the name does not exist
    "no_answer",     # the name exists, without records of that type
    "timeout",       # no answer within the time given
    "servfail",      # the server failed or refused (SERVFAIL, REFUSED, garbage)
    "invalid_name",  # not a name DNS can ask for (empty or too long label, bad IDN)
    "no_resolver",   # the system has no resolver configured
    "error",         # any other DNS trouble
)

SUBMISSIONS = "_submissions._tcp"  # RFC 8314: implicit TLS, usually port 465
SUBMISSION = "_submission._tcp"    # RFC 6186: STARTTLS, usually port 587


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # without the final dot, lower case; "." for "no service"


@dataclass(frozen=True)
class MxRecord:
    preference: int
    exchange: str  # without the final dot, lower case; "." for a null MX


@dataclass(frozen=True)
class Lookup:
    """One question and what came of it. ``records`` are SrvRecord, MxRecord,
    IP address strings (A, AAAA) or Address tuples (resolve_addresses)."""
    name: str
    rdtype: str
    records: tuple = ()
    failure: str | None = None
    no_service: bool = False
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class SubmissionService:
    """A submission server named by SRV, with the security its service name means."""
    host: str
    port: int
    security: str  # "tls" (_submissions) or "starttls" (_submission)
    priority: int
    weight: int
    srv_name: str


def parse_server(text: str) -> tuple[str, int]:
    """``host[:port]`` of SENDWELL_DNS_SERVER -> (IP address, port).
    IPv6 with a port is written ``[::1]:5353``. Raises ValueError."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"not host[:port]: {text!r}")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = int(port_text)
    # dnspython asks servers by address; a name would need a resolver of its own.
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    return host, port


class DetectResolver:
    """Asks the system's resolver, or only ``server`` when one is given."""

    def __init__(self, server: str | None = None):
        self.server = parse_server(server) if server else None
        self._setup_failure: str | None = None
        if self.server:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [dns.nameserver.Do53Nameserver(*self.server)]
        else:
            try:
                self._resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                self._resolver, self._setup_failure = None, "no_resolver"
        if self._resolver is not None:
            self._resolver.cache = None  # each Detect sees the DNS as it is now

    # --- one question ----------------------------------------------------------

    def lookup(self, name: str, rdtype: str, timeout: float) -> Lookup:
        """Records of one type, unordered; never raises for DNS trouble."""
        started = time.monotonic()
        name = name.strip().rstrip(".").lower()

        def done(records=(), failure=None) -> Lookup:
            return Lookup(name, rdtype, tuple(records), failure,
                          elapsed_ms=round((time.monotonic() - started) * 1000, 1))

        if self._setup_failure:
            return done(failure=self._setup_failure)
        if timeout <= 0:
            return done(failure="timeout")
        try:
            qname = dns.name.from_text(name)
        except (dns.exception.DNSException, UnicodeError, ValueError):
            return done(failure="invalid_name")
        try:
            # search=False: a name from an email address is always complete;
            # the machine's search domains must never be appended to it.
            answer = self._resolver.resolve(qname, rdtype, lifetime=timeout, search=False)
        except dns.resolver.NXDOMAIN:
            return done(failure="nxdomain")
        except dns.resolver.NoAnswer:
            return done(failure="no_answer")
        except dns.exception.Timeout:
            return done(failure="timeout")
        except dns.resolver.NoNameservers:
            return done(failure="servfail")
        except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel):
            return done(failure="invalid_name")
        except dns.exception.DNSException:
            return done(failure="error")
        return done(_records(rdtype, answer))

    # --- what Detect asks -------------------------------------------------------

    def srv(self, name: str, timeout: float, rng: random.Random | None = None) -> Lookup:
        """SRV records in the order to try them (RFC 2782)."""
        found = self.lookup(name, "SRV", timeout)
        if not found.ok:
            return found
        records = list(found.records)
        if len(records) == 1 and records[0].target == ".":
            return _replace(found, records=(), no_service=True)
        # A "." among other records cannot be contacted; RFC 2782 defines it
        # only for a lone record, so the others are used as they are.
        usable = [record for record in records if record.target != "."]
        return _replace(found, records=tuple(order_srv(usable, rng)))

    def mx(self, domain: str, timeout: float) -> Lookup:
        """MX records, lowest preference first; a null MX sets no_service."""
        found = self.lookup(domain, "MX", timeout)
        if not found.ok:
            return found
        records = sorted(found.records, key=lambda record: (record.preference, record.exchange))
        if len(records) == 1 and records[0].exchange == ".":
            return _replace(found, records=(), no_service=True)
        return _replace(found, records=tuple(r for r in records if r.exchange != "."))

    def addresses(self, host: str, timeout: float) -> tuple[Lookup, Lookup]:
        """The A and AAAA lookups of ``host``, the second within the time
        the first left."""
        deadline = time.monotonic() + timeout
        a = self.lookup(host, "A", timeout)
        aaaa = self.lookup(host, "AAAA", deadline - time.monotonic())
        return a, aaaa

    def resolve_addresses(self, host: str, port: int, timeout: float) -> Lookup:
        """Addresses of ``host`` ready to connect to (records are Address
        tuples, as getaddrinfo gives them), from this resolver, so that
        SENDWELL_DNS_SERVER also decides where the probe connects. An IP
        literal is taken as it is. Fails only when neither A nor AAAA gave
        an address; the failure is then the more telling of the two."""
        started = time.monotonic()
        literal = _literal_address(host, port)
        if literal is not None:
            return Lookup(host, "ADDRESS", (literal,))
        a, aaaa = self.addresses(host, timeout)
        addresses = [(socket.AF_INET, (ip, port)) for ip in a.records]
        addresses += [(socket.AF_INET6, (ip, port, 0, 0)) for ip in aaaa.records]
        failure = None if addresses else _worse(a.failure, aaaa.failure)
        return Lookup(a.name, "ADDRESS", tuple(addresses), failure,
                      elapsed_ms=round((time.monotonic() - started) * 1000, 1))


def submission_services(submissions: Lookup, submission: Lookup) -> list[SubmissionService]:
    """The servers both SRV lookups name, in the order to try them. RFC 6186
    lets SRV priorities choose between services (IMAP or POP3); the same
    comparison is made here between the two submission services, and at
    equal priority TLS from the first byte goes first, as RFC 8314 prefers it
    to STARTTLS. Within each lookup its own (RFC 2782) order is kept."""
    services: list[tuple[int, int, int, SubmissionService]] = []
    for rank, (found, security) in enumerate(((submissions, "tls"), (submission, "starttls"))):
        for index, record in enumerate(found.records if found.ok else ()):
            services.append((record.priority, rank, index, SubmissionService(
                record.target, record.port, security, record.priority, record.weight, found.name)))
    services.sort(key=lambda item: item[:3])
    return [service for *_, service in services]


def order_srv(records: list[SrvRecord], rng: random.Random | None = None) -> list[SrvRecord]:
    """RFC 2782's selection order: priorities ascending; within a priority,
    repeatedly pick by weight (zero-weight records first in the list, so they
    keep a small chance)."""
    rng = rng or random.SystemRandom()
    ordered: list[SrvRecord] = []
    for priority in sorted({record.priority for record in records}):
        group = sorted((r for r in records if r.priority == priority), key=lambda r: r.weight != 0)
        while group:
            total = sum(record.weight for record in group)
            pick = rng.randint(0, total)
            running = 0
            for index, record in enumerate(group):
                running += record.weight
                if running >= pick:
                    ordered.append(group.pop(index))
                    break
    return ordered


def is_within(host: str, domain: str) -> bool:
    """True when ``host`` is ``domain`` or a name below it (whole labels)."""
    host = host.strip().rstrip(".").lower()
    domain = domain.strip().rstrip(".").lower()
    return bool(domain) and (host == domain or host.endswith("." + domain))


# --- helpers -------------------------------------------------------------------

_FAILURE_WEIGHT = {None: 0, "no_answer": 1, "nxdomain": 2, "servfail": 3, "timeout": 4,
                   "invalid_name": 5, "no_resolver": 5, "error": 3}


def _worse(first: str | None, second: str | None) -> str | None:
    # nxdomain for A with a timeout for AAAA says less than the timeout does:
    # the user needs to hear that the DNS did not answer.
    return max((first, second), key=lambda failure: _FAILURE_WEIGHT.get(failure, 3))


def _records(rdtype: str, answer) -> list:
    if rdtype == "SRV":
        return [SrvRecord(r.priority, r.weight, r.port, _host(r.target)) for r in answer]
    if rdtype == "MX":
        return [MxRecord(r.preference, _host(r.exchange)) for r in answer]
    if rdtype in ("A", "AAAA"):
        return [r.address for r in answer]
    return [r.to_text() for r in answer]


def _host(name: dns.name.Name) -> str:
    if name == dns.name.root:
        return "."
    return name.to_text(omit_final_dot=True).lower()


def _literal_address(host: str, port: int) -> Address | None:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if ip.version == 4:
        return socket.AF_INET, (str(ip), port)
    return socket.AF_INET6, (str(ip), port, 0, 0)


def _replace(found: Lookup, **changes) -> Lookup:
    return replace(found, **changes)
