"""smtplib's client on a socket we connected ourselves."""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
from typing import Callable

from .attempt import DeadlinePassed
from .smtp_auth import AuthClient

# No SMTP server needs more for one reply: a long EHLO has some 20 lines.
# smtplib itself caps each line (8 KB) but not how many there are, so a
# server sending continuation lines without end would fill the memory and,
# faster than any socket timeout, hold the worker past the deadline.
MAX_REPLY_LINES = 100
MAX_REPLY_BYTES = 64 * 1024


class ReplyTooLarge(smtplib.SMTPResponseException):
    """A reply past MAX_REPLY_LINES or MAX_REPLY_BYTES: not an SMTP server
    (diagnosed as not_smtp); carries the reply's first lines."""

    def __init__(self, first_lines: bytes):
        super().__init__(-1, first_lines)


def excerpt(lines: list[bytes], limit: int = 1000) -> bytes:
    """The start of a reply's raw lines, enough to quote."""
    kept, size = [], 0
    for line in lines:
        if size >= limit:
            break
        kept.append(line[:limit])
        size += len(kept[-1]) + 1
    return b" ".join(kept)[:limit]


class _LineRecorder:
    """Wraps smtplib's reply reader: keeps the raw lines of the reply being
    read (so a greeting which is not SMTP can be recognized and quoted),
    holds each reply to the caps above and stops at the deadline."""

    def __init__(self, reader, expired: Callable[[], bool]):
        self._reader = reader
        self._expired = expired
        self.lines: list[bytes] = []
        self._size = 0

    def start_reply(self) -> list[bytes]:
        self.lines, self._size = [], 0
        return self.lines

    def readline(self, size: int = -1) -> bytes:
        if self._expired():
            # Lines already buffered would otherwise keep coming after the
            # watchdog shut the socket.
            raise DeadlinePassed("the overall deadline has passed")
        if len(self.lines) >= MAX_REPLY_LINES or self._size >= MAX_REPLY_BYTES:
            raise ReplyTooLarge(excerpt(self.lines))
        line = self._reader.readline(size)
        self.lines.append(line)
        self._size += len(line)
        return line

    def peek(self, size: int = 0) -> bytes:
        return self._reader.peek(size)

    def close(self) -> None:
        self._reader.close()


class SmtpClient(AuthClient):
    """smtplib on a socket that we connected ourselves, to the address we
    resolved and vetted (so DNS cannot move us elsewhere between the check
    and the connection), while TLS still checks the host name.
    ``expired`` says when the attempt's deadline has passed."""

    def __init__(self, sock: socket.socket, *, host: str, local_hostname: str,
                 expired: Callable[[], bool] = lambda: False):
        # Passing local_hostname keeps smtplib from calling socket.getfqdn(),
        # a DNS lookup with no deadline.
        super().__init__(local_hostname=local_hostname)
        self._connected_socket = sock
        self._host = host  # smtplib's name for the TLS server_hostname
        self._expired = expired
        self.raw_reply_lines: list[bytes] = []

    def _get_socket(self, host, port, timeout):
        return self._connected_socket

    def getreply(self):
        if self.file is None:
            self.file = _LineRecorder(self.sock.makefile("rb"), self._expired)
        self.raw_reply_lines = self.file.start_reply()
        try:
            code, reply = super().getreply()
        except smtplib.SMTPServerDisconnected as disconnected:
            # smtplib takes any OSError of the reader (SMTPException is one)
            # for a lost connection; a reply past the caps is not one.
            if isinstance(disconnected.__context__, ReplyTooLarge):
                raise disconnected.__context__ from None
            raise
        if not self.raw_reply_lines[-1].endswith(b"\n"):
            # smtplib takes a line cut short by the connection closing as a
            # whole reply: "220 half a greet" must not pass for a greeting.
            self.close()
            raise smtplib.SMTPServerDisconnected("connection closed in the middle of a reply")
        return code, reply


def default_local_hostname(sock: socket.socket) -> str:
    """Our name for EHLO: the host's own name when it is fully qualified,
    else our address as a literal (RFC 5321 §4.1.4)."""
    name = socket.gethostname()
    if "." in name and re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", name):
        return name
    ip = ipaddress.ip_address(sock.getsockname()[0].split("%", 1)[0])
    return f"[{ip}]" if ip.version == 4 else f"[IPv6:{ip}]"
