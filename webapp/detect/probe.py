"""Probe one port of one server: how it is secured, found by what the server does.

A probe is the test's own opening of an SMTP session, then QUIT: it runs
``smtp._Session._open()`` (resolve once through the given resolver, the
private-address policy, connect, greeting, EHLO, STARTTLS when offered and
EHLO again) and never logs in or sends anything else. Certificates are
verified exactly as for a test; a failing one ends the probe with its
diagnosis code (reported, never trusted).

How the port is secured is not assumed from its number:

- a plain ``220`` greeting means plain SMTP, with STARTTLS when EHLO offers
  it ("starttls") or without ("plain");
- silence while _open waits for the greeting ends with its look at whether
  a fresh connection completes a TLS handshake at once
  (``tls_expected_on_connect``); then a second session opens with TLS from
  the first byte and reads the greeting and EHLO over it ("tls").

A silent port is given up on after ``silence_s`` (3 s), whatever is left of
Detect's deadline, so that all ports are given up on together.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..mail import net
from ..mail.attempt import Attempt, Stop
from ..mail.smtp import SmtpDestination, _Session

SILENCE_S = 3.0


@dataclass(frozen=True)
class ProbeResult:
    host: str
    port: int
    security: str | None = None   # "tls", "starttls" or "plain" when the server answered
    failure: str | None = None    # a diagnosis code of webapp.mail otherwise
    facts: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def answered(self) -> bool:
        return self.security is not None


class Attempts:
    """The attempts under way for one Detect, so that they can all be
    abandoned at once when the answer is settled."""

    def __init__(self):
        self._lock = threading.Lock()
        self._live: set[Attempt] = set()
        self.stopped = False

    def start(self, deadline_s: float, host: str) -> Attempt:
        attempt = Attempt(max(0.0, deadline_s), host=host)
        with self._lock:
            self._live.add(attempt)
            stopped = self.stopped
        if stopped:
            attempt.abandon()
        return attempt

    def done(self, attempt: Attempt) -> None:
        with self._lock:
            self._live.discard(attempt)

    def stop_all(self) -> None:
        with self._lock:
            self.stopped = True
            live = list(self._live)
        for attempt in live:
            attempt.abandon()


def probe(host: str, port: int, *, remaining, allow_private: bool, cafile: str | None,
          resolver: net.Resolver | None, attempts: Attempts,
          silence_s: float = SILENCE_S) -> ProbeResult:
    """What ``host``:``port`` does; ``remaining()`` is the time left of Detect's deadline."""
    started = time.monotonic()

    def result(**outcome) -> ProbeResult:
        return ProbeResult(host, port, elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                           **outcome)

    budget = min(silence_s, remaining())
    security, facts = _open(host, port, "opportunistic", budget, allow_private=allow_private,
                            cafile=cafile, resolver=resolver, attempts=attempts)
    if security is None and facts["code"] == "tls_expected_on_connect":
        security, facts = _open(host, port, "tls", min(silence_s, remaining()),
                                allow_private=allow_private, cafile=cafile, resolver=resolver,
                                attempts=attempts)
    if security is None:
        code = facts.pop("code")
        if code == "timed_out":
            facts["seconds"] = round(budget, 1)
        return result(failure=code, facts=facts)
    return result(security=security, facts=facts)


def _open(host: str, port: int, mode: str, deadline_s: float, *, allow_private: bool,
          cafile: str | None, resolver: net.Resolver | None,
          attempts: Attempts) -> tuple[str | None, dict]:
    """One session up to the server's offer, then QUIT: (security, facts),
    or (None, facts with the diagnosis "code")."""
    session = _Session(SmtpDestination(host, port, mode), deadline_s=deadline_s,
                       allow_private=allow_private, cafile=cafile, local_hostname=None,
                       resolver=resolver)
    session.attempt = attempts.start(deadline_s, host)
    try:
        try:
            session._open()
        except Stop as stop:
            diagnosis = stop.diagnosis
            facts = {"code": diagnosis.code, "step": diagnosis.step}
            facts.update({key: value for key, value in diagnosis.facts.items()
                          if key in ("address", "verify_message", "self_signed", "not_yet_valid",
                                     "cert_names")})
            if diagnosis.reply_text:
                facts["reply"] = diagnosis.reply_text
            return None, facts
        facts = _offer(session)
        session._quit()
        if mode == "tls":
            return "tls", facts
        return ("starttls" if session.encrypted else "plain"), facts
    finally:
        session._close()
        attempts.done(session.attempt)


def _offer(session: _Session) -> dict:
    """What the server showed: its address, greeting, TLS and EHLO offer."""
    client = session.client
    features = client.esmtp_features
    facts: dict = {"address": session.address[1][0]}
    greeting = next((step for step in session.attempt.steps if step.name == "greeting"), None)
    if greeting is not None and greeting.detail.get("banner"):
        facts["banner"] = greeting.detail["banner"]
    if session.encrypted:
        facts["tls_version"] = session.sock.version()
    facts["auth"] = features.get("auth", "").upper().split()[:10]
    if session.max_size:
        facts["max_size"] = session.max_size
    if any(step.name == "starttls" and not step.ok for step in session.attempt.steps):
        facts["starttls_refused"] = True
    return facts
