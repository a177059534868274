"""Resolve once, refuse what must not be reached, connect to what was checked.

A host name is resolved once and the connection goes to one of those very
addresses, so DNS cannot move us elsewhere between the check and the
connection (DNS rebinding).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from typing import Callable

from .attempt import Attempt, DeadlinePassed

Address = tuple[int, tuple]  # (socket family, sockaddr) as getaddrinfo gives them
# host, port, timeout -> addresses; raises socket.gaierror or TimeoutError as getaddrinfo would.
Resolver = Callable[[str, int, float], "list[Address]"]

_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class ConnectFailed(OSError):
    """No resolved address accepted a connection; ``errors`` has one per address."""

    def __init__(self, errors: list[OSError]):
        super().__init__("could not connect")
        self.errors = errors


def resolve(attempt: Attempt, host: str, port: int, *, allow_private: bool,
            resolver: Resolver | None = None) -> list[Address]:
    """The 'resolve' step; with ``allow_private`` False, refuses (as a
    failed 'connect' step) when any address is not globally routable.
    ``resolver`` replaces the system's lookup (Detect asks its own DNS server)."""
    with attempt.step("resolve") as step:
        try:
            addresses = (resolver or lookup)(host, port, attempt.timeout())
        except socket.gaierror as exc:
            step.fail("name_not_found", facts={
                "host": host, "temporary": exc.errno == socket.EAI_AGAIN})
        except UnicodeError:
            step.fail("name_not_found", facts={"host": host, "invalid": True})
        if not addresses:
            step.fail("name_not_found", facts={"host": host})
        step.detail = {"addresses": [sockaddr[0] for _, sockaddr in addresses]}
    if not allow_private:
        for _, sockaddr in addresses:
            if is_forbidden_address(sockaddr[0]):
                with attempt.step("connect") as step:
                    step.detail = {"address": sockaddr[0], "port": port}
                    step.fail("destination_forbidden", facts={"address": sockaddr[0]})
    return addresses


def connect(attempt: Attempt, addresses: list[Address], port: int) -> tuple[socket.socket, Address]:
    """The 'connect' step: the first of the vetted addresses that accepts,
    watched by the attempt's watchdog."""
    with attempt.step("connect") as step:
        step.detail = {"port": port}
        try:
            sock, address = open_connection(addresses, attempt.timeout)
        except ConnectFailed as failure:
            step.detail["addresses"] = [sockaddr[0] for _, sockaddr in addresses]
            code, facts = connect_error_diagnosis(failure.errors)
            step.fail(code, facts=None if code == "timed_out" else {**facts, "port": port})
        attempt.watchdog.watch(sock)
        step.detail = {"address": address[1][0], "port": port}
    return sock, address


def lookup(host: str, port: int, timeout: float) -> list[Address]:
    """getaddrinfo, bounded by ``timeout``. An IP literal is taken as it is
    (no lookup). Duplicates are dropped, order kept."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except ValueError:
        infos = _getaddrinfo_within(host, port, timeout)
    addresses: list[Address] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    return addresses


def _getaddrinfo_within(host: str, port: int, timeout: float) -> list:
    """getaddrinfo cannot be interrupted, so it runs in a daemon thread that
    we stop waiting for at the timeout; the thread itself ends when the
    system resolver gives up."""
    outcome: dict = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=lookup, name="sendwell-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError("name resolution timed out")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["infos"]


def is_forbidden_address(address: str) -> bool:
    """True for any address that is not plainly global unicast: private,
    loopback, link-local, multicast, reserved, unspecified, shared (CGNAT),
    documentation..., also when wrapped in IPv6 (mapped, 6to4, Teredo, NAT64)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            candidates = [ip.ipv4_mapped]
        else:
            if ip.sixtofour is not None:
                candidates.append(ip.sixtofour)
            if ip.teredo is not None:
                candidates.extend(ip.teredo)
            if ip in _NAT64_PREFIX:
                candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return any(
        not candidate.is_global
        or candidate.is_private
        or candidate.is_loopback
        or candidate.is_link_local
        or candidate.is_multicast
        or candidate.is_reserved
        or candidate.is_unspecified
        for candidate in candidates
    )


def is_local_network_address(address: str) -> bool:
    """This computer or a private network: the only places a password may
    go without encryption (no stranger's network lies on the way)."""
    return is_forbidden_address(address)


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def open_connection(addresses: list[Address], timeout: Callable[[], float]) -> tuple[socket.socket, Address]:
    """Connect to the first address that accepts, splitting the time left
    between the addresses still to try (so one black-holed address does not
    eat it all). Raises ConnectFailed with one error per address tried."""
    errors: list[OSError] = []
    for index, (family, sockaddr) in enumerate(addresses):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout() / (len(addresses) - index))
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            if isinstance(exc, DeadlinePassed):
                break
            continue
        return sock, (family, sockaddr)
    raise ConnectFailed(errors)


def connect_error_diagnosis(errors: list[OSError]) -> tuple[str, dict]:
    """The diagnosis code for a failed connect: refused wins (something is
    there, it just does not listen on that port), then unreachable, and
    timed_out only when every address timed out."""
    if any(isinstance(error, ConnectionRefusedError) for error in errors):
        return "connection_refused", {}
    others = [error for error in errors if not isinstance(error, TimeoutError)]
    if errors and not others:
        return "timed_out", {}
    error_names = sorted({errno.errorcode.get(error.errno, str(error.errno)) for error in others
                          if error.errno is not None})
    return "network_unreachable", {"errors": error_names} if error_names else {}
