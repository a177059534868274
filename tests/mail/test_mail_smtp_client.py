"""smtplib on our socket: each reply is held to caps and to the deadline."""
import smtplib
import socket

import pytest

from webapp.mail.causes import is_timeout
from webapp.mail.smtp_client import MAX_REPLY_LINES, ReplyTooLarge, SmtpClient


@pytest.fixture
def server_and_client():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        yield theirs, ours


def client_on(sock, expired=lambda: False) -> SmtpClient:
    client = SmtpClient(sock, host="mail.example.com", local_hostname="client.example.com",
                        expired=expired)
    client.sock = sock
    return client


def test_a_reply_of_too_many_lines_stops_with_its_first_lines(server_and_client):
    server, sock = server_and_client
    server.sendall(b"250-line\r\n" * (MAX_REPLY_LINES + 5) + b"250 end\r\n")
    client = client_on(sock)
    with pytest.raises(ReplyTooLarge) as raised:
        client.getreply()
    assert raised.value.smtp_error.startswith(b"250-line")
    assert len(client.raw_reply_lines) == MAX_REPLY_LINES


def test_a_reply_of_too_many_bytes_stops(server_and_client):
    server, sock = server_and_client
    server.sendall((b"250-" + b"x" * 8000 + b"\r\n") * 10)
    with pytest.raises(ReplyTooLarge):
        client_on(sock).getreply()


def test_a_reply_of_the_largest_size_allowed_is_read(server_and_client):
    server, sock = server_and_client
    server.sendall(b"250-line\r\n" * (MAX_REPLY_LINES - 1) + b"250 end\r\n")
    code, reply = client_on(sock).getreply()
    assert code == 250 and reply.endswith(b"\nend")


def test_reading_a_reply_stops_at_the_deadline_even_with_lines_waiting(server_and_client):
    server, sock = server_and_client
    server.sendall(b"220-waiting\r\n" * 50)
    reads = []

    def expired() -> bool:
        reads.append(1)
        return len(reads) > 3

    client = client_on(sock, expired)
    with pytest.raises(smtplib.SMTPServerDisconnected) as raised:
        client.getreply()
    assert is_timeout(raised.value)
    assert len(client.raw_reply_lines) == 3
