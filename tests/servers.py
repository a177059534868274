"""Real servers on loopback for the mail tests; self-contained and reusable.

- ``tls_ca``/``ca_file``: a trustme CA that the client trusts (pass
  ``cafile=ca_file``), and ``server_tls``: server-side SSL contexts for a
  valid certificate ('localhost', '127.0.0.1', '::1'), one for another name,
  one from an untrusted CA, a truly self-signed one and an expired one;
  ``self_signed_certificate``: self-signed certificate files made to order.
- ``smtp_server``: starts aiosmtpd Controllers (plain, STARTTLS, implicit
  TLS, AUTH with ``smtp_credentials``) that record what they received.
- ``fault_server`` + ``fault_scripts``: scripted raw-socket servers that
  misbehave on purpose.
- ``http_server``: a ThreadingHTTPServer (optionally TLS) recording JSON posts;
  ``loopback_http`` starts such servers (autoconfig_server.py's too).
- ``unused_port``: a port on which nothing listens.

Helpers reach tests through fixtures only, so this file can move into a
shared conftest without test modules importing it.

Everything listens on 127.0.0.1 (or ::1) on a free port and is stopped at
teardown; nothing here touches any other address.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "sender@example.com"
# Non-ASCII on purpose: credentials travel as UTF-8 (RFC 4616).
SMTP_PASSWORD = "pässwörd-Ω-7f3kQ9"


# --- TLS material ------------------------------------------------------------

@dataclass
class ServerTLS:
    """Server-side SSL contexts, one per kind of certificate."""
    valid: ssl.SSLContext
    wrong_host: ssl.SSLContext
    untrusted: ssl.SSLContext
    self_signed: ssl.SSLContext
    expired: ssl.SSLContext


def _server_context() -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)


@dataclass
class CertificateFiles:
    """A self-signed certificate and its key as PEM files, and a server
    context presenting it."""
    cert_path: str
    key_path: str
    context: ssl.SSLContext


def _self_signed_files(tmp_dir, names=("localhost", "127.0.0.1"), *, stem="self-signed",
                       valid_days: float = 30, age_days: float = 1) -> CertificateFiles:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def san(name: str):
        try:
            return x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            return x509.DNSName(name)

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=age_days))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName([san(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp_dir / f"{stem}.pem"
    key_path = tmp_dir / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = _server_context()
    context.load_cert_chain(str(cert_path), str(key_path))
    return CertificateFiles(str(cert_path), str(key_path), context)


def _self_signed_context(tmp_dir) -> ssl.SSLContext:
    return _self_signed_files(tmp_dir).context


@pytest.fixture
def self_signed_certificate(tmp_path):
    """Factory: ``self_signed_certificate(*names, valid_days=30, age_days=1)``
    writes a new self-signed certificate for ``names`` (default: localhost,
    127.0.0.1) and its key; returns CertificateFiles. A server switches to
    another one with ``context.load_cert_chain(other.cert_path, other.key_path)``."""
    count = 0

    def make(*names: str, valid_days: float = 30, age_days: float = 1) -> CertificateFiles:
        nonlocal count
        count += 1
        return _self_signed_files(tmp_path, names or ("localhost", "127.0.0.1"),
                                  stem=f"self-signed-{count}", valid_days=valid_days,
                                  age_days=age_days)

    return make


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(tls_ca, tmp_path_factory) -> str:
    """PEM file of the trusted test CA: pass it as ``cafile``."""
    path = tmp_path_factory.mktemp("trusted-ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def server_tls(tls_ca, tmp_path_factory) -> ServerTLS:
    def issued(ca: trustme.CA, *names: str, **validity) -> ssl.SSLContext:
        context = _server_context()
        ca.issue_cert(*names, **validity).configure_cert(context)
        return context

    now = datetime.datetime.now(datetime.timezone.utc)
    return ServerTLS(
        valid=issued(tls_ca, "localhost", "127.0.0.1", "::1"),
        wrong_host=issued(tls_ca, "other.example"),
        untrusted=issued(trustme.CA(), "localhost", "127.0.0.1"),
        self_signed=_self_signed_context(tmp_path_factory.mktemp("self-signed")),
        expired=issued(tls_ca, "localhost", "127.0.0.1",
                       not_before=now - datetime.timedelta(days=60),
                       not_after=now - datetime.timedelta(days=1)),
    )


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# --- aiosmtpd servers -----------------------------------------------------------

@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool


class RecordingHandler:
    """Accepts everything and keeps the envelope and content of each mail."""

    def __init__(self, data_reply: str = "250 2.0.0 Ok: queued as TESTQ123"):
        self.data_reply = data_reply
        self.received: list[ReceivedMail] = []

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self.received.append(ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            content=content,
            tls=session.ssl is not None,
            authenticated=bool(session.authenticated),
        ))
        return self.data_reply


def accept_test_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    """Authenticator accepting SMTP_USER / SMTP_PASSWORD only."""
    accepted = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode("utf-8")
        and auth_data.password == SMTP_PASSWORD.encode("utf-8")
    )
    return AuthResult(success=accepted, handled=False)


@dataclass
class RunningSmtp:
    host: str
    port: int
    handler: RecordingHandler
    controller: Controller
    auth_attempts: list[str] = field(default_factory=list)  # the mechanism of every AUTH

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received


@pytest.fixture
def smtp_server():
    """Factory: ``smtp_server(**aiosmtpd_kwargs)`` starts an aiosmtpd server
    on 127.0.0.1 (``hostname='::1'`` for IPv6) and returns a RunningSmtp whose
    ``received`` lists the mails it got. ``login=True`` accepts
    ``smtp_credentials`` only, and ``auth_attempts`` lists every AUTH it
    saw; ``data_reply`` is the final reply to DATA.
    Useful aiosmtpd kwargs: ``tls_context=`` + ``require_starttls=True``
    (STARTTLS), ``ssl_context=`` (implicit TLS), ``auth_require_tls=``,
    ``data_size_limit=``."""
    running: list[Controller] = []

    def start(*, hostname: str = "127.0.0.1", login: bool = False,
              data_reply: str = "250 2.0.0 Ok: queued as TESTQ123", **kwargs) -> RunningSmtp:
        handler = RecordingHandler(data_reply)
        auth_attempts: list[str] = []
        if login:
            def authenticator(server, session, envelope, mechanism, auth_data):
                auth_attempts.append(mechanism)
                return accept_test_login(server, session, envelope, mechanism, auth_data)

            kwargs["authenticator"] = authenticator
        port = free_port(hostname)
        # server_hostname keeps aiosmtpd from calling socket.getfqdn() (DNS).
        controller = Controller(handler, hostname=hostname, port=port,
                                server_hostname="localhost", ready_timeout=5, **kwargs)
        controller.start()
        running.append(controller)
        return RunningSmtp(hostname, port, handler, controller, auth_attempts)

    yield start
    for controller in running:
        controller.stop()


# --- fault servers -------------------------------------------------------------

CLOSE = object()  # as a scripted reply: close the connection instead of answering


class FaultConnection:
    """One accepted connection, seen from the script."""

    def __init__(self, sock: socket.socket, server: "FaultServer"):
        self.sock = sock
        self.server = server
        self._buffer = b""
        sock.settimeout(0.1)

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode("utf-8") + b"\r\n"
        self.sock.sendall(data)

    def read_line(self) -> str | None:
        """The next line from the client, None once it closed (or we stop)."""
        while b"\n" not in self._buffer:
            if self.server.stopping.is_set():
                return None
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        return text

    def read_data(self) -> bytes | None:
        """The message after 354, up to the lone dot."""
        lines = []
        while True:
            line = self.read_line()
            if line is None:
                return None
            if line == ".":
                return "\r\n".join(lines).encode("utf-8")
            lines.append(line)

    def pause(self, seconds: float) -> bool:
        """Sleep; False when the server is stopping."""
        return not self.server.stopping.wait(seconds)

    def wait_closed(self) -> None:
        """Say nothing until the client leaves or the server stops."""
        while self.read_line() is not None:
            pass


class FaultServer:
    """A listening socket on 127.0.0.1 whose connections run ``script``."""

    def __init__(self, script: Callable[[FaultConnection], None], host: str = "127.0.0.1"):
        self.script = script
        self.host = host
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.connections = 0
        self.commands: list[str] = []   # every command line received, in order
        self.messages: list[bytes] = []
        self._open: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.listener.settimeout(0.1)
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._open.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.script(FaultConnection(sock, self))
        except OSError:
            pass  # the client went away mid-script
        finally:
            sock.close()

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._acceptor.join(timeout=2)
        for thread in self._threads:
            thread.join(timeout=2)


DEFAULT_EHLO = ("fault.test", "PIPELINING", "SIZE 10485760", "8BITMIME", "AUTH PLAIN LOGIN")


def smtp_script(*, greeting: str | None = "220 fault.test ESMTP ready",
                ehlo: tuple[str, ...] = DEFAULT_EHLO, replies: dict | None = None,
                close_after_354: bool = False,
                end_of_data: str = "250 2.0.0 Ok: queued as FAULTQ1"):
    """A well-behaved SMTP dialogue except where ``replies`` (verb -> reply,
    or CLOSE) says otherwise. Multi-line replies: a list of lines."""
    replies = dict(replies or {})

    def script(conn: FaultConnection) -> None:
        server = conn.server
        if greeting is None:
            conn.wait_closed()
            return
        conn.send(greeting)
        while True:
            line = conn.read_line()
            if line is None:
                return
            server.commands.append(line)
            verb = line.split(" ", 1)[0].upper()
            if verb in replies:
                reply = replies[verb]
                if reply is CLOSE:
                    return
                for part in ([reply] if isinstance(reply, str) else reply):
                    conn.send(part)
                if verb == "DATA" and str(reply).startswith("354"):
                    server.messages.append(conn.read_data() or b"")
                    conn.send(end_of_data)
                continue
            if verb == "EHLO":
                lines = list(ehlo)
                for index, text in enumerate(lines):
                    conn.send(("250 " if index == len(lines) - 1 else "250-") + text)
            elif verb == "HELO":
                conn.send("250 fault.test")
            elif verb == "AUTH":
                conn.send("235 2.7.0 Authentication successful")
            elif verb == "STARTTLS":
                conn.send("454 4.7.0 TLS not available due to local problem")
            elif verb == "DATA":
                conn.send("354 End data with <CR><LF>.<CR><LF>")
                if close_after_354:
                    return
                data = conn.read_data()
                if data is None:
                    return
                server.messages.append(data)
                conn.send(end_of_data)
            elif verb == "QUIT":
                conn.send("221 2.0.0 Bye")
                return
            else:
                conn.send("250 2.1.0 Ok")

    return script


def silent_script(conn: FaultConnection) -> None:
    """Accepts and never says a word."""
    conn.wait_closed()


def drip_script(conn: FaultConnection) -> None:
    """Sends a greeting one byte at a time, every half second, never ending
    the line: socket timeouts alone never fire."""
    text = b"220 this greeting never ends " + b"." * 1000
    for byte in text:
        conn.send(bytes([byte]))
        if not conn.pause(0.5):
            return


def tls_alert_script(conn: FaultConnection) -> None:
    """Answers a TLS ClientHello with a fatal handshake_failure alert: a TLS
    server that cannot agree on anything with us."""
    while conn.pause(0.01):
        try:
            if conn.sock.recv(4096):
                break
        except socket.timeout:
            continue
    conn.send(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]))
    conn.wait_closed()


def http_reply_script(conn: FaultConnection) -> None:
    """An HTTP server where SMTP was expected."""
    conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.wait_closed()


@pytest.fixture
def smtp_credentials() -> SimpleNamespace:
    """The one login the ``login=True`` aiosmtpd servers accept."""
    return SimpleNamespace(user=SMTP_USER, password=SMTP_PASSWORD)


@pytest.fixture
def unused_port() -> Callable[..., int]:
    """``unused_port(host='127.0.0.1')``: a port nothing listens on (now)."""
    return free_port


@pytest.fixture
def fault_scripts() -> SimpleNamespace:
    """The scripts for ``fault_server``: ``smtp(**options)`` (see
    smtp_script; ``CLOSE`` as a reply hangs up), ``silent``, ``drip``,
    ``http_reply``, ``tls_alert``."""
    return SimpleNamespace(smtp=smtp_script, CLOSE=CLOSE, silent=silent_script,
                           drip=drip_script, http_reply=http_reply_script,
                           tls_alert=tls_alert_script)


@pytest.fixture
def fault_server():
    """Factory: ``fault_server(script)`` with ``smtp_script(...)``,
    ``silent_script``, ``drip_script``, ``http_reply_script``,
    ``tls_alert_script`` or your own."""
    servers: list[FaultServer] = []

    def start(script: Callable[[FaultConnection], None], host: str = "127.0.0.1") -> FaultServer:
        server = FaultServer(script, host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# --- HTTP endpoint -----------------------------------------------------------------

@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class RunningHttp:
    server: ThreadingHTTPServer
    scheme: str
    port: int
    requests: list[RecordedRequest] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, userinfo: str = "", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{userinfo + '@' if userinfo else ''}{host}:{self.port}{path}"


def _http_handler(state: RunningHttp):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep the test output clean
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(RecordedRequest("POST", self.path, dict(self.headers), body))
            path = self.path.split("?", 1)[0]
            if path == "/redirect":
                self._reply(302, b"moved", {"Location": "https://user:hunter2@elsewhere.invalid/next"})
            elif path == "/error":
                self._reply(500, b"internal trouble\r\n\x1b[31mred\x1b[0m")
            elif path == "/unauthorized":
                self._reply(401, b"bad credentials")
            elif path == "/drip":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.flush()
                for _ in range(1000):
                    if state.stopping.wait(0.5):
                        return
                    try:
                        self.wfile.write(b".")
                        self.wfile.flush()
                    except OSError:
                        return
            else:
                self._reply(202, json.dumps({"id": "msg-1"}).encode(),
                            {"Content-Type": "application/json"})

        def _reply(self, status: int, body: bytes, headers: dict | None = None):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class LoopbackHttp:
    """ThreadingHTTPServers on loopback, each serving in a thread of its own,
    all stopped at teardown (``http_server``; autoconfig_server.py). A state
    made by ``start`` needs ``server`` and ``stopping`` (set first at teardown,
    so a handler that drips or waits ends at once)."""

    def __init__(self):
        self._running: list[tuple[object, threading.Thread]] = []

    def start(self, make_state, make_handler, *, host: str = "127.0.0.1",
              tls_context: ssl.SSLContext | None = None):
        """``make_state(server)`` -> the state; ``make_handler(state)`` -> its handler class."""
        server = ThreadingHTTPServer((host, 0), BaseHTTPRequestHandler)
        server.daemon_threads = True
        # Clients that give up mid-handshake or refuse the certificate on purpose are no news.
        server.handle_error = lambda request, client_address: None
        if tls_context is not None:
            # Handshake in the handler thread, so a failed one never blocks accept().
            server.socket = tls_context.wrap_socket(server.socket, server_side=True,
                                                    do_handshake_on_connect=False)
        state = make_state(server)
        server.RequestHandlerClass = make_handler(state)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        self._running.append((state, thread))
        return state

    def stop_all(self) -> None:
        for state, thread in self._running:
            state.stopping.set()
            state.server.shutdown()
            state.server.server_close()
            thread.join(timeout=2)


@pytest.fixture
def loopback_http():
    servers = LoopbackHttp()
    yield servers
    servers.stop_all()


@pytest.fixture
def http_server(loopback_http):
    """Factory: ``http_server(tls_context=None)`` starts a JSON-recording
    endpoint on 127.0.0.1. Paths: anything -> 202; /redirect -> 302;
    /error -> 500; /unauthorized -> 401; /drip -> 200 then a byte every 0.5 s."""

    def start(tls_context: ssl.SSLContext | None = None) -> RunningHttp:
        return loopback_http.start(
            lambda server: RunningHttp(server, "https" if tls_context else "http",
                                       server.server_address[1]),
            _http_handler, tls_context=tls_context)

    return start
