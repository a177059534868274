"""Hand one message to an HTTP endpoint: POST it as JSON, report each step.

The body is ``{"from", "to", "reply_to", "subject", "message"}`` where
``message`` is the base64 of the whole RFC 5322 message. Credentials in the
URL's user-info become HTTP Basic auth and never appear in a result: steps
show the URL without user-info and without the query string (which may hold
a token). Redirects are reported, never followed.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import certificates, net, tls
from .attempt import Attempt, Stop
from .causes import find_cause
from .message import message_bytes
from .net import ConnectFailed
from .result import DeliveryResult, Diagnosis
from .smtp_auth import secret_forms

USER_AGENT = "Sendwell"


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str          # ASCII, no brackets
    port: int
    request_url: str   # what we request: no user-info
    display_url: str   # what we show: no user-info, no query
    username: str | None
    password: str | None


def _parse_url(url: str) -> tuple[_Target | None, str | None]:
    """The target, or the reason the URL is not acceptable."""
    if not isinstance(url, str) or any(ord(ch) < 0x21 or ch == "\x7f" for ch in url.strip()):
        return None, "invalid"
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None, "invalid"
    if scheme not in ("http", "https"):
        return None, "scheme"
    if not host:
        return None, "host"
    if not host.isascii():
        try:
            import idna  # IDNA 2008, as requests itself encodes host names

            host = idna.encode(host, uts46=True).decode("ascii")
        except Exception:
            return None, "host"
    if scheme == "http" and not net.is_loopback_host(host):
        return None, "not_https"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path or "/"
    return _Target(
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        request_url=urlunsplit((scheme, netloc, path, parts.query, "")),
        display_url=urlunsplit((scheme, netloc, path, "", "")),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    ), None


def _without_userinfo(location: str | None) -> str | None:
    if not location:
        return location
    try:
        parts = urlsplit(location)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return None


class _Tracker:
    """Follows the one connection of a request through connect, TLS and
    request: it connects to the vetted addresses, records those steps, and
    remembers the phase a failure happened in."""

    def __init__(self, attempt: Attempt, addresses: list[net.Address], port: int, tls: bool):
        self.attempt = attempt
        self.addresses = addresses
        self.port = port
        self.tls = tls
        self.phase = "connect"
        self.phase_started = time.monotonic()
        self.error: BaseException | None = None
        self.address: net.Address = addresses[0]

    def _enter(self, phase: str) -> None:
        self.phase, self.phase_started = phase, time.monotonic()

    def open_socket(self) -> socket.socket:
        self._enter("connect")
        try:
            sock, self.address = net.open_connection(self.addresses, self.attempt.timeout)
        except ConnectFailed as failure:
            self.error = failure
            raise
        sockaddr = self.address[1]
        self.attempt.watchdog.watch(sock)
        self.attempt.add_step("connect", True, self.phase_started,
                              {"address": sockaddr[0], "port": self.port})
        self._enter("tls" if self.tls else "request")
        return sock

    def connected(self, sock) -> None:
        if self.tls:
            self.attempt.add_step("tls", True, self.phase_started, tls.tls_detail(sock, True))
        self._enter("request")

    def failed(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc


def _pinned_pool_classes(tracker: _Tracker):
    """urllib3 pools whose connections go to the addresses we resolved and
    vetted, not to a fresh lookup of the name (DNS rebinding), while the
    Host header, SNI and certificate check still use the name."""

    class Pinned:
        def _new_conn(self):
            return tracker.open_socket()

        def connect(self):
            try:
                super().connect()
            except BaseException as exc:
                tracker.failed(exc)
                raise
            tracker.connected(self.sock)

    class PinnedHTTPConnection(Pinned, HTTPConnection):
        pass

    class PinnedHTTPSConnection(Pinned, HTTPSConnection):
        pass

    class PinnedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = PinnedHTTPConnection

    class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = PinnedHTTPSConnection

    return PinnedHTTPConnectionPool, PinnedHTTPSConnectionPool


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, tracker: _Tracker):
        self._tracker = tracker
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http_pool, https_pool = _pinned_pool_classes(self._tracker)
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}


def _read_limited(response: requests.Response, limit: int) -> bytes:
    chunks, total = [], 0
    while total < limit:
        chunk = response.raw.read(min(8192, limit - total), decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def send(
    url: str,
    message: EmailMessage,
    *,
    from_address: str,
    to: list[str],
    reply_to: str | None,
    subject: str,
    deadline_s: float = 15.0,
    allow_private: bool = True,
    cafile: str | None = None,
    max_response_bytes: int = 65536,
) -> DeliveryResult:
    """POST ``message`` to ``url``; a 2xx answer is success. Finishes within
    ``deadline_s`` (plus a fraction of a second); never raises for network
    or server trouble."""
    target, bad_url_reason = _parse_url(url)
    secrets: list[str] = []
    if target is not None and target.password:
        secrets = secret_forms(target.password, target.username or "")
    attempt = Attempt(deadline_s, host=target.host if target else "", secrets=secrets)
    adapter: _PinnedAdapter | None = None
    response: requests.Response | None = None
    try:
        if target is None:
            with attempt.step("request") as step:
                step.fail("http_bad_url", facts={"reason": bad_url_reason})
        addresses = net.resolve(attempt, target.host, target.port, allow_private=allow_private)
        if target.scheme == "http" and not all(
                net.is_loopback_host(sockaddr[0]) for _, sockaddr in addresses):
            # Plain http is allowed to this machine only; the name said
            # loopback, the resolver did not.
            with attempt.step("request") as step:
                step.fail("http_bad_url", facts={"reason": "not_https"})

        body = json.dumps({
            "from": from_address,
            "to": list(to),
            "reply_to": reply_to,
            "subject": subject,
            "message": base64.b64encode(message_bytes(message)).decode("ascii"),
        }).encode("utf-8")
        tracker = _Tracker(attempt, addresses, target.port, tls=target.scheme == "https")
        # The adapter alone, not a Session: a Session would read a redirect's
        # whole body (unbounded) even with allow_redirects=False, and would
        # take proxies and .netrc from the environment.
        adapter = _PinnedAdapter(tracker)
        auth = None
        if target.username is not None or target.password is not None:
            auth = ((target.username or "").encode("utf-8"), (target.password or "").encode("utf-8"))
        request = requests.Request(
            "POST",
            target.request_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json, */*;q=0.5",
                "Accept-Encoding": "identity",
                "User-Agent": USER_AGENT,
            },
            auth=auth,
        ).prepare()
        try:
            timeout = attempt.timeout()
            response = adapter.send(request, stream=True, timeout=(timeout, timeout),
                                    verify=cafile or True, proxies={})
        except Exception as exc:
            raise Stop(_request_failure(attempt, tracker, exc, target)) from None
        attempt.add_step("request", True, tracker.phase_started,
                         {"method": "POST", "url": target.display_url, "size": len(body)})

        with attempt.step("response") as step:
            status = response.status_code
            step.detail = {"status": status}
            reply = _read_limited(response, max_response_bytes)
            step.reply = attempt.text(reply)
            if 300 <= status < 400:
                location = _without_userinfo(response.headers.get("Location"))
                facts = {"status": status, "location": attempt.text(location)}
                if location:
                    redirect_host = urlsplit(urljoin(target.request_url, location)).hostname
                    facts["same_host"] = redirect_host == target.host
                step.fail("http_redirect", reply_code=status, reply_text=reply, facts=facts)
            if not 200 <= status < 300:
                step.fail("http_status", reply_code=status, reply_text=reply, facts={"status": status})
        return attempt.finish()
    except Stop as stop:
        return attempt.finish(stop.diagnosis)
    finally:
        try:
            if response is not None:
                response.close()
            if adapter is not None:
                adapter.close()
        finally:
            attempt.close()


def _request_failure(attempt: Attempt, tracker: _Tracker, exc: BaseException,
                     target: _Target) -> Diagnosis:
    """Record the phase that failed (connect, tls or request) and say why."""
    phase = tracker.phase
    error = tracker.error or exc
    detail = {"port": tracker.port} if phase == "connect" else {}
    if phase == "request":
        detail = {"method": "POST", "url": target.display_url}
    attempt.add_step(phase, False, tracker.phase_started, detail)
    if isinstance(error, ConnectFailed) and not attempt.expired():
        code, facts = net.connect_error_diagnosis(error.errors)
        return attempt.diagnosis(code, phase, facts={**facts, "port": tracker.port}
                                 if code != "timed_out" else None)

    def http_specific(step: str, failure: BaseException) -> Diagnosis | None:
        if find_cause(failure, requests.Timeout) is not None:
            return attempt.diagnosis("timed_out", step)
        return None

    diagnosis = attempt.diagnose_exception(phase, error, http_specific)
    if diagnosis.code == "certificate_wrong_host":
        der = certificates.fetch_certificate(attempt, tracker.address, target.host)
        names = certificates.certificate_names(der)
        if names:
            diagnosis.facts["cert_names"] = names
    return diagnosis
