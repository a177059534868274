"""One delivery try, recorded step by step.

An ``Attempt`` owns the overall deadline, the watchdog that enforces it, the
list of steps, and the mapping from low-level exceptions to diagnosis codes.
Every step, SMTP or HTTP, is a ``with attempt.step(name) as step:`` block:
it is timed and recorded, and ``step.fail(code)`` or any exception inside
ends the attempt with a diagnosis.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, NoReturn

from .causes import find_cause, is_timeout
from .providers import provider_for_host
from .result import (KEEP_BEFORE_CLEANING, MAX_REPLY_CHARS, SEPARATOR_RUNS, DeliveryResult,
                     Diagnosis, Scrubber, Step, shorten)
from .tls import tls_error_diagnosis

if TYPE_CHECKING:
    from .net import Address

log = logging.getLogger(__name__)

Diagnose = Callable[[str, BaseException], "Diagnosis | None"]


class Stop(Exception):
    """Ends an attempt early; carries the diagnosis of what went wrong."""

    def __init__(self, diagnosis: Diagnosis):
        super().__init__(diagnosis.code)
        self.diagnosis = diagnosis


class DeadlinePassed(TimeoutError):
    """The attempt's overall deadline has passed: nothing more may be tried.
    A TimeoutError, so that whatever catches timeouts catches it too."""


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
        self._timer = threading.Timer(max(0.0, seconds), self.fire)
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

    def fire(self) -> None:
        """The deadline has come (or the caller gives up early): shut every watched socket down."""
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

    def __init__(self, attempt: Attempt, name: str):
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
        self._secret_forms = list(secrets)
        self.scrub = Scrubber(self._secret_forms)
        self.started = time.monotonic()
        self.deadline = self.started + deadline_s
        self.steps: list[Step] = []
        self.watchdog = Watchdog(deadline_s)

    def add_secrets(self, forms) -> None:
        """Scrub these forms too from now on: secrets met during the attempt
        (an access token, a client secret)."""
        self._secret_forms.extend(form for form in forms if form)
        self.scrub = Scrubber(self._secret_forms)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def abandon(self) -> None:
        """Give up now, as if the deadline had passed: waits end, no new step starts."""
        self.watchdog.fire()

    def expired(self) -> bool:
        return self.watchdog.fired or self.remaining() <= 0

    def timeout(self, fraction: float = 1.0) -> float:
        """A socket timeout for the next wait: a share of the time left.
        Raises DeadlinePassed (diagnosed as timed_out) once none is left."""
        left = self.remaining()
        if left <= 0 or self.watchdog.fired:
            raise DeadlinePassed("the overall deadline has passed")
        return max(0.01, left * fraction)

    def text(self, reply: str | bytes | None) -> str | None:
        """A server's words as we may keep them: secrets removed, shortened.

        Only the start of a reply can be shown, so only that much is looked
        at: enough for shorten() and for a secret that begins within it."""
        if reply is None:
            return None
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")  # a reply is capped (smtp_client, web)
        # With each run of separators made one space (a fast regex), a
        # secret spaced out with thousands of them cannot straddle the cut.
        keep = MAX_REPLY_CHARS * KEEP_BEFORE_CLEANING + 2 * self.scrub.longest
        reply = SEPARATOR_RUNS.sub(" ", reply)[:keep]
        return shorten(self.scrub(reply), scrub=self.scrub)

    def diagnosis(
        self,
        code: str,
        step: str,
        reply_code: int | None = None,
        reply_text: str | bytes | None = None,
        facts: dict | None = None,
    ) -> Diagnosis:
        facts = dict(facts or {})
        # Whether a provider's rules matter for a code is the explain layer's call.
        if self.provider:
            facts.setdefault("provider", self.provider)
        if code == "timed_out":
            facts.setdefault("deadline_s", self.deadline_s)
        return Diagnosis(code, step, reply_code, self.text(reply_text), facts)

    @contextmanager
    def step(self, name: str, diagnose: Diagnose | None = None) -> Iterator[StepRecord]:
        """Time a step and record it; any exception inside becomes a Stop
        with a diagnosis (``diagnose`` gets first say, after timeouts)."""
        record = StepRecord(self, name)
        try:
            yield record
        except Stop:
            self._record(record, ok=False)
            raise
        except Exception as exc:
            self._record(record, ok=False)
            raise Stop(self.diagnose_exception(name, exc, diagnose)) from None
        else:
            self._record(record, ok=record.ok)

    def _record(self, record: StepRecord, *, ok: bool) -> None:
        elapsed_ms = round((time.monotonic() - record.started) * 1000, 1)
        self.steps.append(Step(record.name, ok, elapsed_ms, dict(record.detail or {}), record.reply))

    def diagnose_exception(self, step: str, exc: BaseException,
                           diagnose: Diagnose | None = None) -> Diagnosis:
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

    @contextmanager
    def probe_socket(self, address: Address, timeout: float | None = None) -> Iterator[socket.socket]:
        """A fresh connection to ``address`` for a second look at the server,
        under the attempt's deadline (``timeout`` may ask for less); closed
        on leaving. Raises OSError when it cannot connect."""
        family, sockaddr = address
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout() if timeout is None else timeout)
            sock.connect(sockaddr)
            self.watchdog.watch(sock)
            yield sock

    def finish(self, diagnosis: Diagnosis | None = None) -> DeliveryResult:
        total_ms = round((time.monotonic() - self.started) * 1000, 1)
        return DeliveryResult(diagnosis is None, self.steps, diagnosis, total_ms)

    def close(self) -> None:
        self.watchdog.close()
