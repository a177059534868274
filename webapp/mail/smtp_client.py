"""smtplib's client on a socket we connected ourselves."""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket

from .smtp_auth import AuthClient


class _LineRecorder:
    """Wraps smtplib's reply reader to keep the raw lines of the last reply,
    so that a greeting which is not SMTP can be recognized and quoted."""

    def __init__(self, reader):
        self._reader = reader
        self.lines: list[bytes] = []

    def readline(self, size: int = -1) -> bytes:
        line = self._reader.readline(size)
        self.lines.append(line)
        return line

    def peek(self, size: int = 0) -> bytes:
        return self._reader.peek(size)

    def close(self) -> None:
        self._reader.close()


class SmtpClient(AuthClient):
    """smtplib on a socket that we connected ourselves, to the address we
    resolved and vetted (so DNS cannot move us elsewhere between the check
    and the connection), while TLS still checks the host name."""

    def __init__(self, sock: socket.socket, *, host: str, local_hostname: str):
        # Passing local_hostname keeps smtplib from calling socket.getfqdn(),
        # a DNS lookup with no deadline.
        super().__init__(local_hostname=local_hostname)
        self._connected_socket = sock
        self._host = host  # smtplib's name for the TLS server_hostname
        self.raw_reply_lines: list[bytes] = []

    def _get_socket(self, host, port, timeout):
        return self._connected_socket

    def getreply(self):
        if self.file is None:
            self.file = _LineRecorder(self.sock.makefile("rb"))
        self.file.lines = self.raw_reply_lines = []
        code, reply = super().getreply()
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
