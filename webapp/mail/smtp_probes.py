"""Second looks at an SMTP server, each on a fresh connection: when a
conversation fails in a way that may mean the wrong port or TLS mode, ask the
server what it really speaks, so the diagnosis can say so. Best effort: a
look that fails just has nothing to tell."""

from __future__ import annotations

import re
import socket
from typing import Callable

from .attempt import Attempt
from .net import Address
from .smtp_client import SmtpClient
from .tls import probe_context

# How long the look for a plain "220" greeting waits (after a failed
# implicit-TLS handshake).
PLAIN_BANNER_WAIT_S = 3.0


def plain_banner(attempt: Attempt, address: Address) -> str | None:
    """A fresh connection's first line, if it is an SMTP greeting."""
    if attempt.expired():
        return None
    try:
        # A plain SMTP server greets at once; do not spend the whole
        # deadline waiting on one that does not.
        wait = min(PLAIN_BANNER_WAIT_S, attempt.timeout(0.5))
        with attempt.probe_socket(address, wait) as sock:
            line = b""
            while b"\n" not in line and len(line) < 1024:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                line += chunk
    except OSError:
        return None
    first = line.split(b"\n", 1)[0]
    return first.decode("utf-8", "replace") if re.match(rb"^220[ -]", first) else None


def speaks_implicit_tls(attempt: Attempt, address: Address, host: str) -> bool:
    """Does a fresh connection complete a TLS handshake right away? Then
    the server waits for TLS from the first byte (port 465 style)."""
    try:
        with attempt.probe_socket(address) as sock, probe_context().wrap_socket(
                sock, server_hostname=host, do_handshake_on_connect=False) as tls_sock:
            tls_sock.settimeout(attempt.timeout())
            tls_sock.do_handshake()
            return True
    except OSError:
        return False


def up_to_starttls(attempt: Attempt, host: str, port: int,
                   local_hostname: str) -> Callable[[socket.socket], None]:
    """What brings a fresh plain connection up to the point of the TLS
    handshake: greeting, EHLO, STARTTLS."""

    def prepare(sock: socket.socket) -> None:
        client = SmtpClient(sock, host=host, local_hostname=local_hostname,
                            expired=attempt.expired)
        sock.settimeout(attempt.timeout())
        code, _ = client.connect(host, port)
        if code != 220 or client.ehlo()[0] != 250 or client.docmd("STARTTLS")[0] != 220:
            raise OSError("STARTTLS not reached")

    return prepare
