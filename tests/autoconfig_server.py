"""A loopback HTTPS server that serves autoconfig documents, for Detect.

``autoconfig_server(names, autoconfig=..., well_known=..., host="127.0.0.1")``
starts a ThreadingHTTPServer with TLS on ``host`` and a free port, with a
certificate from the trusted test CA (``tls_ca``; clients pass ``ca_file``)
for ``names``. It answers the two paths a client asks for:

- ``/mail/config-v1.1.xml`` (any query) with ``autoconfig``,
- ``/.well-known/autoconfig/mail/config-v1.1.xml`` with ``well_known``,

and 404 for anything else. Each answer is bytes (200, application/xml), a
``Reply`` (status, body, headers, no Content-Length, dripped slowly), or None
(404). ``redirect(url)`` is a 302 to ``url``.

``autoconfig_documents`` gives the documents: ``good(host, port, socket_type,
username)``, ``billion_laughs``, ``huge`` (10 MB of valid XML), ``html``.

The RunningAutoconfig it returns has ``port``, ``url(name, path)`` and
``requests``: (path with query, Host header, SNI name) per request, so a
test can prove a server was, or was never, contacted.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

AUTOCONFIG_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"
HUGE_BYTES = 10 * 1024 * 1024


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/xml"})
    content_length: bool = True   # False: the body ends when the connection closes
    drip_seconds: float = 0.0     # > 0: one byte, then a pause, and so on


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, b"moved", {"Location": location, "Content-Type": "text/plain"})


def good_document(host: str = "smtp.%EMAILDOMAIN%", port: int = 587,
                  socket_type: str = "STARTTLS", username: str = "%EMAILADDRESS%") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="%EMAILDOMAIN%">
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port>
      <socketType>SSL</socketType><username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>{host}</hostname><port>{port}</port>
      <socketType>{socket_type}</socketType><username>{username}</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
""".encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<clientConfig version="1.1"><emailProvider id="x"><outgoingServer type="smtp">
<hostname>smtp.example.test</hostname><port>465</port><socketType>SSL</socketType>
<username>&i;</username></outgoingServer></emailProvider></clientConfig>
"""


def huge_document() -> bytes:
    """10 MB of well-formed XML: only a size cap refuses it."""
    head = good_document().replace(b"</clientConfig>\n", b"")
    tail = b"</clientConfig>\n"
    filler_size = HUGE_BYTES - len(head) - len(tail) - len(b"<!--  -->\n")
    return head + b"<!-- " + b"x" * filler_size + b" -->\n" + tail


@dataclass
class RunningAutoconfig:
    server: ThreadingHTTPServer
    host: str
    port: int
    names: tuple[str, ...]
    requests: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, name: str | None = None, path: str = AUTOCONFIG_PATH) -> str:
        return f"https://{name or self.names[0]}:{self.port}{path}"


def _handler(state: RunningAutoconfig, routes: dict):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep the test output clean
            pass

        def do_GET(self):
            state.requests.append((self.path, self.headers.get("Host"),
                                   getattr(self.connection, "sni_name", None)))
            reply = routes.get(self.path.split("?", 1)[0])
            if reply is None:
                reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
            elif isinstance(reply, bytes):
                reply = Reply(body=reply)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.content_length:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            try:
                self._send_body(reply)
            except OSError:
                pass  # the client stopped reading (a size cap did its job)

        def _send_body(self, reply: Reply) -> None:
            if reply.drip_seconds > 0:
                for index in range(len(reply.body)):
                    if state.stopping.wait(reply.drip_seconds):
                        return
                    self.wfile.write(reply.body[index:index + 1])
                    self.wfile.flush()
                return
            view = memoryview(reply.body)
            for start in range(0, len(view), 64 * 1024):
                if state.stopping.is_set():
                    return
                self.wfile.write(view[start:start + 64 * 1024])

    return Handler


@pytest.fixture(scope="session")
def autoconfig_documents() -> SimpleNamespace:
    """``good(host=, port=, socket_type=, username=)`` (placeholders allowed),
    ``billion_laughs``, ``huge`` (10 MB), ``html`` (a web page, not XML we want)."""
    return SimpleNamespace(good=good_document, billion_laughs=BILLION_LAUGHS,
                           huge=huge_document(), html=b"<html><body>Welcome</body></html>")


@pytest.fixture
def autoconfig_server(tls_ca, loopback_http):
    """Factory, see the module doc."""

    def start(names=("autoconfig.example.test", "example.test"), *, autoconfig=None,
              well_known=None, host: str = "127.0.0.1") -> RunningAutoconfig:
        names = tuple(names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ca.issue_cert(*names).configure_cert(context)

        def remember_sni(sock, server_name, _context):
            sock.sni_name = server_name  # read by the handler: which name the client asked for

        context.sni_callback = remember_sni
        routes = {AUTOCONFIG_PATH: autoconfig, WELL_KNOWN_PATH: well_known}
        return loopback_http.start(
            lambda server: RunningAutoconfig(server, host, server.server_address[1], names),
            lambda state: _handler(state, routes), host=host, tls_context=context)

    return start
