"""HTTP requests to servers the user names, recorded step by step.

Every request goes to an address resolved once and vetted (no fresh lookup
between the check and the connection), follows no redirect, takes no proxy
or .netrc from the environment, and reads at most a capped response. It is
recorded as the steps resolve, connect, tls (https), request and response,
like an SMTP session. The JSON POST (http.py) goes through ``request``; so
can fetching autoconfig files or calling a token endpoint.
"""

from __future__ import annotations

import re
import socket
import ssl
from contextlib import ExitStack, contextmanager
import dataclasses
from dataclasses import dataclass, field
from typing import Iterator, Mapping, NoReturn
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

import idna
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import net, tls
from .attempt import Attempt, DeadlinePassed, StepRecord, Stop
from .causes import find_cause
from .certificates import presented_facts
from .result import Diagnosis

USER_AGENT = "Sendwell"


class BadUrl(ValueError):
    """A URL we do not request; ``reason`` says why: "invalid", "scheme",
    "host" or "not_https" (http is for this machine only)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Url:
    """An http(s) URL we may request, in its parts."""
    scheme: str
    host: str                # ASCII (IDNA 2008 for a name), no brackets: what we resolve
    explicit_port: int | None
    netloc: str              # as written, without the user-info
    path: str                # "/" when empty
    query: str
    fragment: str
    userinfo: str | None = field(default=None, repr=False)  # as written: "user:password"

    @property
    def port(self) -> int:
        return self.explicit_port or (443 if self.scheme == "https" else 80)

    @property
    def request_url(self) -> str:
        """What we request: no user-info."""
        return urlunsplit((self.scheme, self._ascii_netloc(), self.path, self.query, ""))

    @property
    def display_url(self) -> str:
        """What we show: no user-info, no query (which may hold a token)."""
        return urlunsplit((self.scheme, self._ascii_netloc(), self.path, "", ""))

    @property
    def without_userinfo(self) -> str:
        """The URL as written, less the user-info, host in lower case."""
        return urlunsplit((self.scheme, self.netloc.lower(), self.path, self.query, self.fragment))

    @property
    def without_secrets(self) -> str:
        """The URL as written, less the user-info and the credential parameters."""
        return urlunsplit((self.scheme, self.netloc.lower(), self.path,
                           split_query(self.query)[0], self.fragment))

    def with_query(self, extra: str) -> "Url":
        """This URL with the parameters `extra` (as written) added to its query."""
        return dataclasses.replace(self, query=join_query(self.query, extra))

    def _ascii_netloc(self) -> str:
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        return netloc if self.explicit_port is None else f"{netloc}:{self.explicit_port}"


def parse_url(url: str) -> Url:
    """``url`` as we would request it, or BadUrl. The one reading of a URL,
    for the form's check and for sending alike."""
    if not isinstance(url, str) or any(ord(ch) < 0x21 or ch == "\x7f" for ch in url.strip()):
        raise BadUrl("invalid")
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise BadUrl("invalid") from None
    if scheme not in ("http", "https"):
        raise BadUrl("scheme")
    if not host:
        raise BadUrl("host")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")  # IDNA 2008, as requests encodes
        except Exception:
            raise BadUrl("host") from None
    if scheme == "http" and not net.is_loopback_host(host):
        raise BadUrl("not_https")
    userinfo, at, netloc = parts.netloc.rpartition("@")
    return Url(scheme, host, port, netloc, parts.path or "/", parts.query, parts.fragment,
               userinfo if at else None)


# Words that make a query parameter a credential (?api_key=, ?access_token=,
# ?sig=, X-Amz-Signature=...): it is a secret like the user-info.
_CREDENTIAL_WORDS = {"key", "apikey", "token", "secret", "password", "passwd", "pwd", "pass",
                     "signature", "sig", "auth", "credential", "credentials"}
_CREDENTIAL_ENDINGS = ("key", "token", "secret", "password", "signature")


def is_credential_parameter(name: str) -> bool:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", unquote_plus(name))  # apiKey -> api_Key
    words = re.findall(r"[a-z0-9]+", name.lower())
    return any(word in _CREDENTIAL_WORDS or word.endswith(_CREDENTIAL_ENDINGS) for word in words)


def split_query(query: str) -> tuple[str, str]:
    """A query string as (its public parameters, its credential parameters),
    each as written, joined by "&"."""
    public, secret = [], []
    for part in query.split("&"):
        if part:
            (secret if is_credential_parameter(part.partition("=")[0]) else public).append(part)
    return "&".join(public), "&".join(secret)


def join_query(*queries: str) -> str:
    return "&".join(query for query in queries if query)


def query_values(query: str) -> list[str]:
    """The values in a query string, decoded (to scrub them from replies)."""
    return [unquote_plus(part.partition("=")[2]) for part in query.split("&") if "=" in part]


def credentials(userinfo: str | None) -> tuple[str | None, str | None]:
    """The username and password in a URL's user-info ("user:password",
    percent-encoded); None for what is not there."""
    if userinfo is None:
        return None, None
    username, colon, password = userinfo.partition(":")
    return unquote(username), unquote(password) if colon else None


def display_url(url: str) -> str:
    """A URL as we show it: no user-info, no query (see Url.display_url)."""
    try:
        return parse_url(url).display_url
    except BadUrl:
        return without_userinfo(url.partition("?")[0]) or ""


def without_userinfo(location: str | None) -> str | None:
    """A URL we only show (a redirect's Location), less its user-info."""
    if not location:
        return location
    try:
        parts = urlsplit(location)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return None


def refuse(attempt: Attempt, reason: str) -> NoReturn:
    """A URL we do not request: a failed 'request' step, before any connection."""
    with attempt.step("request") as step:
        step.fail("http_bad_url", facts={"reason": reason})


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes                 # at most the cap


@contextmanager
def request(attempt: Attempt, method: str, url: Url, *, allow_private: bool = True,
            cafile: str | None = None, headers: dict[str, str] | None = None,
            data: bytes | dict | None = None, basic_auth: tuple[str, str] | None = None,
            max_response_bytes: int = 65536,
            resolver: net.Resolver | None = None) -> Iterator[tuple[StepRecord, Response]]:
    """``method`` ``url``, recorded as steps. ``data`` is a body as it is, or
    a dict to send form-encoded. Yields the response step under way and the
    response: fail the step when the answer is not one the caller can use.
    ``resolver``: see net.resolve."""
    addresses = net.resolve(attempt, url.host, url.port, allow_private=allow_private,
                            resolver=resolver)
    if url.scheme == "http" and not all(
            net.is_loopback_host(sockaddr[0]) for _, sockaddr in addresses):
        # Plain http is allowed to this machine only; the name said
        # loopback, the resolver did not.
        refuse(attempt, "not_https")
    prepared = requests.Request(
        method,
        url.request_url,
        data=data,
        headers={**(headers or {}), "Accept-Encoding": "identity", "User-Agent": USER_AGENT},
        auth=tuple(part.encode("utf-8") for part in basic_auth) if basic_auth else None,
    ).prepare()
    exchange = _Exchange(attempt, addresses, url, {"method": method, "url": url.display_url})
    # The adapter alone, not a Session: a Session would read a redirect's
    # whole body (unbounded) even with allow_redirects=False, and would
    # take proxies and .netrc from the environment.
    adapter = _AddressBoundAdapter(exchange)
    try:
        response = exchange.send(adapter, prepared, cafile)
        try:
            with attempt.step("response") as step:
                step.detail = {"status": response.status_code}
                body = _read_limited(attempt, response, max_response_bytes)
                step.reply = attempt.text(body)
                yield step, Response(response.status_code, response.headers, body)
        finally:
            response.close()
    finally:
        adapter.close()


class _Exchange:
    """One request's connection and its steps. urllib3 connects inside
    ``adapter.send``, so the connection records the connect and TLS steps
    itself and then opens the request step, which ``send`` ends with the
    outcome of ``adapter.send``."""

    def __init__(self, attempt: Attempt, addresses: list[net.Address], url: Url,
                 request_detail: dict):
        self.attempt = attempt
        self.addresses = addresses
        self.url = url
        self.address = addresses[0]
        self._request_detail = request_detail
        self._request_step = ExitStack()
        self._request: StepRecord | None = None

    def open_socket(self) -> socket.socket:
        sock, self.address = net.connect(self.attempt, self.addresses, self.url.port)
        return sock

    def second_look(self) -> dict:
        return presented_facts(self.attempt, self.address, self.url.host)

    def request_begins(self) -> None:
        self._request = self._request_step.enter_context(self.attempt.step("request", self._diagnose))
        self._request.detail = dict(self._request_detail)

    def send(self, adapter: HTTPAdapter, prepared: requests.PreparedRequest,
             cafile: str | None) -> requests.Response:
        try:
            with self._request_step:
                timeout = self.attempt.timeout()
                response = adapter.send(prepared, stream=True, timeout=(timeout, timeout),
                                        verify=cafile or True, proxies={})
                if prepared.body is not None:
                    self._request.detail["size"] = len(prepared.body)
                return response
        except Stop:
            raise
        except Exception as exc:
            # Failed before connecting (the CA file, the connection pool):
            # no step was under way, so it counts against connecting.
            with self.attempt.step("connect", self._diagnose) as step:
                step.detail = {"port": self.url.port}
                raise exc

    def _diagnose(self, step: str, exc: BaseException) -> Diagnosis | None:
        if find_cause(exc, requests.Timeout) is not None:
            return self.attempt.diagnosis("timed_out", step)
        return None


def _address_bound_pools(exchange: _Exchange):
    """urllib3 pools whose connections go to the addresses we resolved and
    vetted, not to a fresh lookup of the name (DNS rebinding), while the
    Host header, SNI and certificate check still use the name."""

    class _AddressBound:
        def connect(self):
            self._opened = exchange.open_socket()
            if exchange.url.scheme != "https":
                super().connect()
            else:
                with exchange.attempt.step("tls") as step:
                    try:
                        super().connect()
                    except ssl.SSLCertVerificationError as exc:
                        tls.certificate_failure(step, exc, exchange.second_look)
                    step.detail = tls.tls_detail(self.sock, self.is_verified)
            exchange.request_begins()

        def _new_conn(self):
            return self._opened  # urllib3's own connect goes on from here

    class _AddressBoundHTTPConnection(_AddressBound, HTTPConnection):
        pass

    class _AddressBoundHTTPSConnection(_AddressBound, HTTPSConnection):
        pass

    class _AddressBoundHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = _AddressBoundHTTPConnection

    class _AddressBoundHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = _AddressBoundHTTPSConnection

    return _AddressBoundHTTPConnectionPool, _AddressBoundHTTPSConnectionPool


class _AddressBoundAdapter(HTTPAdapter):
    def __init__(self, exchange: _Exchange):
        self._exchange = exchange
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http_pool, https_pool = _address_bound_pools(self._exchange)
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}


def _read_limited(attempt: Attempt, response: requests.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body, read within the deadline."""
    chunks, total = [], 0
    while total < limit:
        if attempt.expired():
            raise DeadlinePassed("the overall deadline has passed")
        chunk = response.raw.read(min(8192, limit - total), decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
