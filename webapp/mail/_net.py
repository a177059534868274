"""Plumbing shared by the SMTP and HTTP senders.

One ``Attempt`` is one delivery try: it owns the overall deadline, the
watchdog that enforces it, the list of steps, and the mapping from low-level
exceptions to diagnosis codes. Name resolution, the private-address policy,
connecting to the vetted addresses and TLS error classification live here too.
"""

from __future__ import annotations

import base64
import errno
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, NoReturn

from .providers import provider_for_host
from .result import DeliveryResult, Diagnosis, Step, scrub, shorten

log = logging.getLogger(__name__)

# OpenSSL X509_V_ERR_* codes, as found in SSLCertVerificationError.verify_code.
_CERT_NOT_YET_VALID = 9
_CERT_HAS_EXPIRED = 10
_DEPTH_ZERO_SELF_SIGNED_CERT = 18
_SELF_SIGNED_CERT_IN_CHAIN = 19
_HOSTNAME_MISMATCH = 62
_IP_ADDRESS_MISMATCH = 64

_NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")

Address = tuple[int, tuple]  # (socket family, sockaddr) as getaddrinfo gives them


class Stop(Exception):
    """Ends an attempt early; carries the diagnosis of what went wrong."""

    def __init__(self, diagnosis: Diagnosis):
        super().__init__(diagnosis.code)
        self.diagnosis = diagnosis


class ConnectFailed(OSError):
    """No resolved address accepted a connection; ``errors`` has one per address."""

    def __init__(self, errors: list[OSError]):
        super().__init__("could not connect")
        self.errors = errors


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps (urllib3 and requests nest them
    in ``__cause__``, ``reason`` and ``args``)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        pending.extend([current.__cause__, current.__context__])
        if isinstance(reason, BaseException):
            pending.append(reason)
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))


def find_cause(exc: BaseException, kind: type | tuple[type, ...]):
    return next((cause for cause in causes(exc) if isinstance(cause, kind)), None)


def is_timeout(exc: BaseException) -> bool:
    return find_cause(exc, TimeoutError) is not None


class Watchdog:
    """Shuts watched sockets down when the deadline passes.

    Socket timeouts bound each wait, but a server dripping one byte a second
    never lets one expire; shutting the socket down ends any blocked read or
    write at once. A duplicate descriptor is watched, so the watch survives a
    TLS wrap (which detaches the original socket object), and the main thread
    closing its socket can never race with the shutdown.
    """

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self._handles: list[socket.socket] = []
        self.fired = False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.name = "sendwell-deadline"
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        try:
            handle = socket.socket(sock.family, sock.type, sock.proto, os.dup(sock.fileno()))
        except OSError:
            return
        with self._lock:
            self._handles.append(handle)
            if self.fired:
                _shutdown(handle)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for handle in self._handles:
                _shutdown(handle)

    def close(self) -> None:
        self._timer.cancel()
        self._timer.join()
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


class StepRecord:
    """A step under way; ``fail`` ends the attempt with a diagnosis."""

    def __init__(self, attempt: "Attempt", name: str):
        self.attempt = attempt
        self.name = name
        self.started = time.monotonic()
        self.detail: dict = {}
        self.reply: str | None = None
        self.ok = True  # a step may fail without ending the attempt (opportunistic STARTTLS)

    def fail(
        self,
        code: str,
        *,
        reply_code: int | None = None,
        reply_text: str | bytes | None = None,
        facts: dict | None = None,
    ) -> NoReturn:
        raise Stop(self.attempt.diagnosis(code, self.name, reply_code, reply_text, facts))


class Attempt:
    """One delivery try: deadline, watchdog, steps taken, diagnoses."""

    def __init__(self, deadline_s: float, *, host: str, secrets: list[str] = ()):
        self.deadline_s = deadline_s
        self.host = host
        self.provider = provider_for_host(host)
        self.secrets = [secret for secret in secrets if secret]
        self.started = time.monotonic()
        self.deadline = self.started + deadline_s
        self.steps: list[Step] = []
        self.watchdog = Watchdog(deadline_s)

    # --- time -------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.watchdog.fired or self.remaining() <= 0

    def timeout(self, fraction: float = 1.0) -> float:
        """A socket timeout for the next wait: a share of the time left.
        Raises TimeoutError (diagnosed as timed_out) once none is left."""
        left = self.remaining()
        if left <= 0 or self.watchdog.fired:
            raise TimeoutError("the overall deadline has passed")
        return max(0.01, left * fraction)

    # --- results ----------------------------------------------------------

    def text(self, reply: str | bytes | None) -> str | None:
        """A server's words as we may keep them: secrets removed, shortened."""
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        return shorten(scrub(reply, self.secrets))

    def diagnosis(
        self,
        code: str,
        step: str,
        reply_code: int | None = None,
        reply_text: str | bytes | None = None,
        facts: dict | None = None,
    ) -> Diagnosis:
        facts = dict(facts or {})
        if self.provider and code in (
            "login_refused", "smtp_auth_disabled", "certificate_untrusted",
            "certificate_wrong_host", "certificate_expired",
        ):
            facts.setdefault("provider", self.provider)
        if code == "timed_out":
            facts.setdefault("deadline_s", self.deadline_s)
        return Diagnosis(code, step, reply_code, self.text(reply_text), facts)

    def add_step(self, name: str, ok: bool, started: float, detail: dict | None = None,
                 reply: str | None = None) -> None:
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        self.steps.append(Step(name, ok, elapsed_ms, dict(detail or {}), reply))

    @contextmanager
    def step(self, name: str, diagnose: Callable[[str, BaseException], Diagnosis | None] | None = None):
        """Time a step and record it; any exception inside becomes a Stop
        with a diagnosis (``diagnose`` gets first say, after timeouts)."""
        record = StepRecord(self, name)
        try:
            yield record
        except Stop:
            self.add_step(name, False, record.started, record.detail, record.reply)
            raise
        except Exception as exc:
            self.add_step(name, False, record.started, record.detail, record.reply)
            raise Stop(self.diagnose_exception(name, exc, diagnose)) from None
        else:
            self.add_step(name, record.ok, record.started, record.detail, record.reply)

    def diagnose_exception(self, step: str, exc: BaseException,
                           diagnose: Callable[[str, BaseException], Diagnosis | None] | None = None,
                           ) -> Diagnosis:
        if self.expired() or is_timeout(exc):
            return self.diagnosis("timed_out", step)
        if diagnose is not None:
            specific = diagnose(step, exc)
            if specific is not None:
                return specific
        tls = tls_error_diagnosis(exc)
        if tls is not None:
            return self.diagnosis(tls[0], step, facts=tls[1])
        if find_cause(exc, (ConnectionError, EOFError)) is not None or isinstance(exc, OSError):
            return self.diagnosis("connection_dropped", step)
        # Not a network or server problem: a bug on our side. The message of
        # these exceptions never holds credentials (we never put them there).
        log.exception("unexpected error in mail step %s", step)
        return self.diagnosis("internal_error", step, facts={"error": type(exc).__name__})

    def finish(self, diagnosis: Diagnosis | None = None) -> DeliveryResult:
        total_ms = round((time.monotonic() - self.started) * 1000, 1)
        return DeliveryResult(diagnosis is None, self.steps, diagnosis, total_ms)

    def close(self) -> None:
        self.watchdog.close()

    # --- resolve and connect ----------------------------------------------

    def resolve(self, host: str, port: int, *, allow_private: bool) -> list[Address]:
        """The 'resolve' step; with ``allow_private`` False, refuses (as a
        failed 'connect' step) when any address is not globally routable."""
        with self.step("resolve") as step:
            try:
                addresses = resolve(host, port, self.timeout())
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
                    with self.step("connect") as step:
                        step.detail = {"address": sockaddr[0], "port": port}
                        step.fail("destination_forbidden", facts={"address": sockaddr[0]})
        return addresses

    def connect(self, addresses: list[Address], port: int) -> tuple[socket.socket, Address]:
        """The 'connect' step: the first of the vetted addresses that accepts."""
        with self.step("connect") as step:
            step.detail = {"port": port}
            try:
                sock, address = open_connection(addresses, self.timeout)
            except ConnectFailed as failure:
                step.detail["addresses"] = [sockaddr[0] for _, sockaddr in addresses]
                code, facts = connect_error_diagnosis(failure.errors)
                if code == "timed_out":
                    raise TimeoutError() from None
                step.fail(code, facts={**facts, "port": port})
            self.watchdog.watch(sock)
            step.detail = {"address": address[1][0], "port": port}
        return sock, address


def resolve(host: str, port: int, timeout: float) -> list[Address]:
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
    eat it all). Raises ConnectFailed with one error per address."""
    errors: list[OSError] = []
    for index, (family, sockaddr) in enumerate(addresses):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout() / (len(addresses) - index))
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            if isinstance(exc, TimeoutError) and "deadline" in str(exc):
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


# --- TLS -------------------------------------------------------------------

def tls_context(*, verify: bool, cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        # "Do not verify TLS certificate": still TLS, just no certificate checks.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def probe_context() -> ssl.SSLContext:
    """For questions about a server, never for sending: does it speak TLS,
    which certificate does it show?"""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_detail(sock: ssl.SSLSocket, verified: bool) -> dict:
    cipher = sock.cipher()
    return {"version": sock.version(), "verified": verified, "cipher": cipher[0] if cipher else None}


def tls_error_diagnosis(exc: BaseException) -> tuple[str, dict] | None:
    verification = find_cause(exc, ssl.SSLCertVerificationError)
    if verification is not None:
        code = verification.verify_code
        facts = {"verify_message": verification.verify_message}
        if code in (_CERT_HAS_EXPIRED, _CERT_NOT_YET_VALID):
            facts["not_yet_valid"] = code == _CERT_NOT_YET_VALID
            return "certificate_expired", facts
        if code in (_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH):
            return "certificate_wrong_host", facts
        facts["self_signed"] = code in (_DEPTH_ZERO_SELF_SIGNED_CERT, _SELF_SIGNED_CERT_IN_CHAIN)
        return "certificate_untrusted", facts
    # urllib3 2.x checks host names itself in some setups; its error is a
    # CertificateError (an alias of SSLCertVerificationError on modern Python).
    handshake = find_cause(exc, ssl.SSLError)
    if handshake is not None:
        return "tls_handshake_failed", {"reason": handshake.reason or type(handshake).__name__}
    return None


def fetch_certificate(attempt: Attempt, address: Address, server_hostname: str,
                      prepare: Callable[[socket.socket], None] | None = None) -> bytes | None:
    """Reconnect, without verification, to read the certificate the server
    presents, so a failed check can name it. ``prepare`` speaks whatever
    plain protocol comes before TLS (SMTP up to STARTTLS). Best effort."""
    family, sockaddr = address
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(attempt.timeout())
        sock.connect(sockaddr)
        attempt.watchdog.watch(sock)
        if prepare is not None:
            prepare(sock)
        with probe_context().wrap_socket(sock, server_hostname=server_hostname) as tls:
            return tls.getpeercert(binary_form=True)
    except Exception:  # any failure just means no names to show
        return None
    finally:
        sock.close()


def certificate_names(der: bytes | None) -> list[str]:
    """The DNS names and IP addresses a certificate is valid for."""
    if not der:
        return []
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        certificate = x509.load_der_x509_certificate(der)
        try:
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = san.get_values_for_type(x509.DNSName) + [
                str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:
            names = [attribute.value for attribute in
                     certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return [shorten(str(name), 253) for name in names[:20]]
    except Exception:  # an unparsable certificate has no names we can show
        return []


def secret_forms(password: str | None, username: str | None = None) -> list[str]:
    """A password and the encodings in which it crosses the wire, to scrub
    from anything a server sends back."""
    if not password:
        return []
    raw = password.encode("utf-8")
    forms = [password, base64.b64encode(raw).decode("ascii")]
    if username is not None:
        user = username.encode("utf-8")
        forms.append(base64.b64encode(b"\0" + user + b"\0" + raw).decode("ascii"))
        forms.append(base64.b64encode(user + b":" + raw).decode("ascii"))
    from urllib.parse import quote

    forms.append(quote(password, safe=""))
    return forms
