"""The step recorder's deadline and its fresh connections for second looks."""
import socket
import time

import pytest

from webapp.mail import net
from webapp.mail.attempt import DeadlinePassed, Stop


@pytest.fixture
def listener():
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def address_of(server: socket.socket) -> net.Address:
    return socket.AF_INET, server.getsockname()


def address_of_port(port: int) -> net.Address:
    return socket.AF_INET, ("127.0.0.1", port)


def test_no_time_left_raises_deadline_passed_diagnosed_as_timed_out(attempt):
    expired = attempt(0.0, host="mail.example.com")
    with pytest.raises(DeadlinePassed) as raised:
        expired.timeout()
    assert isinstance(raised.value, TimeoutError)
    diagnosis = expired.diagnose_exception("connect", raised.value)
    assert (diagnosis.code, diagnosis.facts) == ("timed_out", {"deadline_s": 0.0})


def test_connecting_stops_at_the_deadline_not_at_a_timeout_that_mentions_it(unused_port):
    addresses = [address_of_port(unused_port()), address_of_port(unused_port())]

    def deadline_passed() -> float:
        raise DeadlinePassed("the overall deadline has passed")

    def worded_like_it() -> float:
        raise TimeoutError("the overall deadline has passed")

    with pytest.raises(net.ConnectFailed) as stopped:
        net.open_connection(addresses, deadline_passed)
    assert len(stopped.value.errors) == 1
    with pytest.raises(net.ConnectFailed) as tried_all:
        net.open_connection(addresses, worded_like_it)
    assert len(tried_all.value.errors) == 2


def test_connect_step_after_the_deadline_is_timed_out(attempt, unused_port):
    expired = attempt(0.0)
    with pytest.raises(Stop) as stopped:
        net.connect(expired, [address_of_port(unused_port())], 25)
    diagnosis = stopped.value.diagnosis
    assert (diagnosis.code, diagnosis.step) == ("timed_out", "connect")
    assert [(step.name, step.ok) for step in expired.steps] == [("connect", False)]


def test_probe_socket_connects_afresh_and_closes_on_leaving(attempt, listener):
    with attempt(5.0).probe_socket(address_of(listener), 0.25) as sock:
        accepted, _ = listener.accept()
        assert sock.getpeername() == listener.getsockname()
        assert sock.gettimeout() == 0.25
    assert sock.fileno() == -1
    accepted.close()


def test_probe_socket_is_cut_off_at_the_deadline(attempt, listener):
    started = time.monotonic()
    with attempt(0.3).probe_socket(address_of(listener), timeout=5.0) as sock:
        silent, _ = listener.accept()  # accepts and never speaks
        assert sock.recv(1) == b""
    assert time.monotonic() - started < 1.5
    silent.close()


def test_probe_socket_refused_raises_oserror(attempt, unused_port):
    with pytest.raises(OSError):
        with attempt(2.0).probe_socket(address_of_port(unused_port())):
            pass
