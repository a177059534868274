"""A real DNS server on loopback for the Detect tests (dnslib's server).

``dns_server(zone_text, silent=(), servfail=(), truncate_udp=False)``
starts an authoritative server for the records of ``zone_text`` (master-file
syntax, one record a line, names fully qualified) on 127.0.0.1, UDP and TCP
on the same free port, and returns a RunningDns:

- ``.address``: ``"127.0.0.1:<port>"``, the form SENDWELL_DNS_SERVER takes;
- ``.queries``: every question received, as (name, type, protocol);
- ``.set_zone(text)``: replace the records while it runs.

Answers follow the DNS rules a resolver expects: records of the asked type
(following a CNAME), NOERROR with no records when the name exists with other
types only (or has names below it), NXDOMAIN otherwise. A question at or below
a name in ``silent`` gets no answer at all (a dead or filtered server), one
below a name in ``servfail`` gets SERVFAIL. ``truncate_udp`` answers every UDP
question with an empty, truncated reply so that the client must ask again
over TCP.

Everything listens on 127.0.0.1 only and stops at teardown.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from dnslib import QTYPE, RCODE, RR, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer


class NoReply(Exception):
    """Raised by the resolver to leave a question unanswered."""


class ZoneResolver(BaseResolver):
    def __init__(self, zone_text: str, silent=(), servfail=()):
        self.lock = threading.Lock()
        self.records: list[RR] = []
        self.set_zone(zone_text)
        self.silent = [DNSLabel(name) for name in silent]
        self.servfail = [DNSLabel(name) for name in servfail]
        self.queries: list[tuple[str, str, str]] = []

    def set_zone(self, zone_text: str) -> None:
        records = list(RR.fromZone(zone_text))
        with self.lock:
            self.records = records

    def resolve(self, request, handler):
        qname = request.q.qname
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((str(qname).rstrip(".").lower(), qtype, handler.protocol))
            records = list(self.records)
        if any(qname.matchSuffix(name) for name in self.silent):
            raise NoReply()
        reply = request.reply()
        if any(qname.matchSuffix(name) for name in self.servfail):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        name = qname
        # A CNAME chain is followed inside the zone, as an authoritative server does.
        for _ in range(8):
            here = [rr for rr in records if rr.rname == name]
            aliases = [rr for rr in here if QTYPE[rr.rtype] == "CNAME"]
            if aliases and qtype != "CNAME":
                reply.add_answer(aliases[0])
                name = aliases[0].rdata.label
                continue
            for rr in here:
                if QTYPE[rr.rtype] == qtype:
                    reply.add_answer(rr)
            break
        if not reply.rr and not self._exists(name, records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    @staticmethod
    def _exists(name: DNSLabel, records: list[RR]) -> bool:
        # A name with records of other types, or with names below it (an
        # "empty non-terminal" such as _tcp.example.test), exists: NOERROR.
        return any(rr.rname.matchSuffix(name) for rr in records)


class _QuietLogger(DNSLogger):
    def __init__(self):
        super().__init__(log="-recv,-send,-request,-reply,-truncated,-error,-data")


def _handler_class(truncate_udp: bool):
    class Handler(DNSHandler):
        def handle(self):
            try:
                super().handle()
            except NoReply:
                pass  # the client waits until its own timeout

        def get_reply(self, data):
            rdata = super().get_reply(data)
            if truncate_udp and self.protocol == "udp":
                reply = DNSRecord.parse(rdata)
                reply.rr, reply.auth, reply.ar = [], [], []
                reply.header.tc = 1
                return reply.pack()
            return rdata

    return Handler


@dataclass
class RunningDns:
    host: str
    port: int
    resolver: ZoneResolver
    servers: list = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def queries(self) -> list[tuple[str, str, str]]:
        with self.resolver.lock:
            return list(self.resolver.queries)

    def asked(self, name: str, qtype: str | None = None) -> bool:
        name = name.rstrip(".").lower()
        return any(q[0] == name and (qtype is None or q[1] == qtype) for q in self.queries)

    def set_zone(self, zone_text: str) -> None:
        self.resolver.set_zone(zone_text)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
            server.server.server_close()


def _start(resolver: ZoneResolver, truncate_udp: bool, host: str = "127.0.0.1") -> RunningDns:
    handler = _handler_class(truncate_udp)
    # UDP and TCP must share one port number; try again if another process
    # took the TCP side of the port the UDP socket got.
    for _ in range(20):
        udp = DNSServer(resolver, address=host, port=0, logger=_QuietLogger(), handler=handler)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(resolver, address=host, port=port, tcp=True,
                            logger=_QuietLogger(), handler=handler)
        except OSError:
            udp.server.server_close()
            continue
        for server in (udp, tcp):
            server.server.daemon_threads = True
            thread = threading.Thread(target=server.server.serve_forever,
                                      kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
        return RunningDns(host, port, resolver, [udp, tcp])
    raise RuntimeError("no free port for both UDP and TCP")


@pytest.fixture
def dns_server():
    """Factory: ``dns_server(zone_text, silent=(), servfail=(),
    truncate_udp=False)`` starts a loopback DNS server (see module doc)."""
    running: list[RunningDns] = []

    def start(zone_text: str = "", *, silent=(), servfail=(), truncate_udp: bool = False) -> RunningDns:
        server = _start(ZoneResolver(zone_text, silent, servfail), truncate_udp)
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()

