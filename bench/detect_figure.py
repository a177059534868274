"""Figure 6 of bench/run.py: Detect settings against a domain found only by
probing, whose port "465" accepts and never answers, "587" speaks STARTTLS
and "25" is closed, all on loopback under high ports.

A dnslib server on loopback serves the domain (SENDWELL_DNS_SERVER), and
SENDWELL_DETECT_PORTS names the three ports, so Sendwell probes only these
servers. The figure is the median of DETECT_RUNS requests to the Detect
endpoint; the target is DETECT_MAX_S while the deadline is DETECT_DEADLINE_S:
silent ports must be given up on in parallel, not in turn.
"""
from __future__ import annotations

import socket
import ssl
import statistics
import threading
import time
from urllib.parse import urlencode

DOMAIN = "probe.example.net"
ADDRESS = f"bench@{DOMAIN}"
DETECT_DEADLINE_S = 10
DETECT_MAX_S = 4.0
DETECT_RUNS = 5
FOUND_TEXT = f"Settings found for {DOMAIN}"


class DetectServers:
    """The DNS server, the silent port, the STARTTLS server, a closed port."""

    def __init__(self, host: str, ca):
        from aiosmtpd.controller import Controller
        from dnslib.server import DNSLogger, DNSServer
        from dnslib.zoneresolver import ZoneResolver

        self.host = host
        self.silent = socket.create_server((host, 0))
        self.silent.listen(64)
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, name="detect-silent", daemon=True).start()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(f"smtp.{DOMAIN}").configure_cert(context)

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                return "250 OK"

        with socket.socket() as probe:  # a port with nothing behind it
            probe.bind((host, 0))
            self.closed_port = probe.getsockname()[1]
        with socket.socket() as probe:
            probe.bind((host, 0))
            self.starttls_port = probe.getsockname()[1]
        self.smtp = Controller(Handler(), hostname=host, port=self.starttls_port,
                               server_hostname="localhost", ready_timeout=10, tls_context=context,
                               require_starttls=True)
        self.smtp.start()
        resolver = ZoneResolver(f"smtp.{DOMAIN}. 300 IN A {host}\n", glob=False)
        quiet = DNSLogger(log="-recv,-send,-request,-reply,-truncated,-error,-data")
        self.dns = [DNSServer(resolver, address=host, port=0, logger=quiet)]
        dns_port = self.dns[0].server.server_address[1]
        self.dns.append(DNSServer(resolver, address=host, port=dns_port, tcp=True, logger=quiet))
        for server in self.dns:
            server.start_thread()

    def _accept(self) -> None:
        self.silent.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                connection, _ = self.silent.accept()
            except OSError:
                continue
            self.accepted.append(connection)

    @property
    def env(self) -> dict[str, str]:
        ports = (self.silent.getsockname()[1], self.starttls_port, self.closed_port)
        return {"SENDWELL_DNS_SERVER": f"{self.host}:{self.dns[0].server.server_address[1]}",
                "SENDWELL_DETECT_PORTS": ",".join(str(port) for port in ports),
                "SENDWELL_DETECT_DEADLINE": str(DETECT_DEADLINE_S)}

    def stop(self) -> None:
        self.stopping.set()
        self.silent.close()
        for connection in self.accepted:
            connection.close()
        self.smtp.stop()
        for server in self.dns:
            server.stop()


def figure_6(app, session, servers: DetectServers, request, Row, BenchError, log) -> list:
    body = urlencode([("protocol", "SMTP"), ("detect_address", ADDRESS), ("smtp_port", "587"),
                      ("shown", "smtp="), ("shown", "test_status=untested")])
    log(f"figure 6: Detect settings for {DOMAIN} ({DETECT_RUNS} times): port '465' silent, "
        f"'587' STARTTLS, '25' closed; deadline {DETECT_DEADLINE_S} s")
    times = []
    for _ in range(DETECT_RUNS):
        started = time.perf_counter()
        status, _, html = request(app.port, "POST", "/en/settings/detect", body=body,
                                  headers=session.headers(htmx=True),
                                  timeout=DETECT_DEADLINE_S + 10)
        times.append(time.perf_counter() - started)
        if status != 200 or FOUND_TEXT not in html or f'value="{servers.starttls_port}"' not in html:
            raise BenchError(f"Detect answered {status} without the STARTTLS port: {html[:300]!r}")
    median = statistics.median(times)
    log("figure 6: " + ", ".join(f"{seconds:.2f} s" for seconds in times))
    return [Row(f"Detect settings, one port silent: median of {DETECT_RUNS}", f"{median:.2f} s",
                f"deadline {DETECT_DEADLINE_S} s", f"{median / DETECT_DEADLINE_S:.2f}",
                f"≤ {DETECT_MAX_S:.0f} s", median <= DETECT_MAX_S)]
