"""The network parts of Detect besides the probe: where to find addresses,
and the autoconfig document fetched over https.

``AddressBook`` resolves each host once per Detect and hands the addresses
to the mail layer's resolve step (``net.resolve(..., resolver=book)``), which
applies the private-address policy to them: through the DNS server that
SENDWELL_DNS_SERVER names when there is one, otherwise through the system,
as the test does.

``fetch_autoconfig`` fetches the domain's autoconfig document through the
mail layer's address-bound web client (``web.request``): https only, capped
at MAX_DOCUMENT_BYTES + 1, a redirect followed only to the same host and
port over https (at most MAX_REDIRECTS), never off it.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urljoin

from ..mail import net, web
from ..mail.attempt import Stop
from .autoconfig import MAX_DOCUMENT_BYTES, autoconfig_urls, parse_autoconfig
from .dns import DetectResolver
from .findings import Candidate, Tried, autoconfig_tried, from_autoconfig
from .probe import Attempts

MAX_REDIRECTS = 3

# A DNS failure as getaddrinfo would report it, for the resolve step's diagnosis.
_TEMPORARY = {"servfail", "error", "no_resolver"}


class Clock:
    """Detect's one deadline."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.deadline = self.started + seconds

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def elapsed_ms(self) -> float:
        return round((time.monotonic() - self.started) * 1000, 1)


class AddressBook:
    """host, port, timeout -> addresses (a net.Resolver), each host looked up once."""

    def __init__(self, dns: DetectResolver | None):
        self._dns = dns
        self._lock = threading.Lock()
        self._entries: dict[str, dict] = {}

    def __call__(self, host: str, port: int, timeout: float) -> list[net.Address]:
        key = host.strip().rstrip(".").lower()
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if owner:
                entry = self._entries[key] = {"done": threading.Event()}
        if owner:
            try:
                entry["addresses"] = self._lookup(key, timeout)
            except (OSError, UnicodeError) as error:
                entry["error"] = error
            finally:
                entry["done"].set()
        elif not entry["done"].wait(timeout):
            raise TimeoutError("name resolution timed out")
        if "error" in entry:
            raise entry["error"]
        return [_with_port(address, port) for address in entry["addresses"]]

    def _lookup(self, host: str, timeout: float) -> list[net.Address]:
        if self._dns is None:
            return net.lookup(host, 0, timeout)
        found = self._dns.resolve_addresses(host, 0, timeout)
        if found.failure == "timeout":
            raise TimeoutError("name resolution timed out")
        if not found.ok:
            code = socket.EAI_AGAIN if found.failure in _TEMPORARY else socket.EAI_NONAME
            raise socket.gaierror(code, found.failure)
        return list(found.records)


def _with_port(address: net.Address, port: int) -> net.Address:
    family, sockaddr = address
    return family, (sockaddr[0], port, *sockaddr[2:])


def fetch_autoconfig(address: str, *, clock: Clock, allow_private: bool, cafile: str | None,
                     resolver: net.Resolver, attempts: Attempts,
                     https_port: int = 443) -> tuple[list[Tried], list[Candidate]]:
    """The document's candidates from the first of its URLs that has one,
    and what each URL tried gave."""
    tried: list[Tried] = []
    for url in autoconfig_urls(address, https_port):
        if clock.remaining() <= 0:
            break
        outcome, candidates = _fetch_one(url, address, clock=clock, allow_private=allow_private,
                                         cafile=cafile, resolver=resolver, attempts=attempts)
        tried.append(outcome)
        if candidates:
            return tried, candidates
    return tried, []


def _fetch_one(url: str, address: str, **options) -> tuple[Tried, list[Candidate]]:
    shown = web.parse_url(url).display_url
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        fetched = _get(current, **options)
        if isinstance(fetched, Tried):
            return Tried("autoconfig", fetched.code, {"url": shown, **fetched.facts}), []
        status, location, body = fetched
        if 300 <= status < 400:
            target = urljoin(current, location or "")
            if not _same_server(current, target):
                return Tried("autoconfig", "redirect_off_host",
                             {"url": shown, "location": web.without_userinfo(target)}), []
            current = target
            continue
        if status != 200:
            return Tried("autoconfig", "not_found", {"url": shown, "status": status}), []
        result = parse_autoconfig(body, address)
        return autoconfig_tried(result, shown), from_autoconfig(result, shown)
    return Tried("autoconfig", "redirect_off_host", {"url": shown, "location": None}), []


def _same_server(current: str, target: str) -> bool:
    try:
        before, after = web.parse_url(current), web.parse_url(target)
    except web.BadUrl:
        return False
    return (after.scheme == "https" and after.host == before.host
            and after.port == before.port)


def _get(url: str, *, clock: Clock, allow_private: bool, cafile: str | None,
         resolver: net.Resolver, attempts: Attempts) -> tuple[int, str | None, bytes] | Tried:
    parsed = web.parse_url(url)
    attempt = attempts.start(clock.remaining(), parsed.host)
    try:
        with web.request(attempt, "GET", parsed, allow_private=allow_private, cafile=cafile,
                         headers={"Accept": "application/xml, text/xml"},
                         max_response_bytes=MAX_DOCUMENT_BYTES + 1,
                         resolver=resolver) as (_step, response):
            return response.status, response.headers.get("Location"), response.body
    except Stop as stop:
        facts = {"host": parsed.host}
        if stop.diagnosis.code == "timed_out":
            facts["seconds"] = round(attempt.deadline_s, 1)
        return Tried("autoconfig", stop.diagnosis.code, facts)
    finally:
        attempt.close()
        attempts.done(attempt)
