"""The address-bound HTTP client: URLs, credentials, and requests other than
the JSON POST (GET, a form), against real servers on loopback."""
import pytest

from webapp.mail import web
from webapp.mail.attempt import Stop
from webapp.mail.http import HttpDestination


def test_parse_url_reads_what_we_request_and_what_we_show():
    url = web.parse_url("https://api:s%3Acret@Bücher.Example:8443/v1/send?token=abc#top")
    assert (url.scheme, url.host, url.port) == ("https", "xn--bcher-kva.example", 8443)
    assert url.request_url == "https://xn--bcher-kva.example:8443/v1/send?token=abc"
    assert url.display_url == "https://xn--bcher-kva.example:8443/v1/send"
    assert url.without_userinfo == "https://bücher.example:8443/v1/send?token=abc#top"
    assert url.userinfo == "api:s%3Acret"
    assert "s%3Acret" not in repr(url)
    assert web.parse_url("http://[::1]/").port == 80


@pytest.mark.parametrize("url, reason", [
    ("https://☃.example/", "host"),
    ("http://example.com/", "not_https"),
    ("mailto:office@example.com", "scheme"),
    ("https://example.com:0x1/", "invalid"),
])
def test_parse_url_refuses_with_a_reason(url, reason):
    with pytest.raises(web.BadUrl) as refused:
        web.parse_url(url)
    assert refused.value.reason == reason


@pytest.mark.parametrize("secret, username, password", [
    ("api:p%C3%A4ss:word", "api", "päss:word"),
    ("token-only", "token-only", None),
    (":key", "", "key"),
])
def test_destination_from_the_stored_secret(secret, username, password):
    destination = HttpDestination.from_secret("https://mail.example.com/send", secret)
    assert (destination.url, destination.username, destination.password) == (
        "https://mail.example.com/send", username, password)
    assert password is None or password not in repr(destination)


@pytest.mark.parametrize("secret", ["", None])
def test_destination_without_a_secret_has_no_credentials(secret):
    destination = HttpDestination.from_secret("https://mail.example.com/send", secret)
    assert (destination.username, destination.password) == (None, None)


def test_destination_from_a_url_with_credentials():
    destination = HttpDestination.from_url("https://api:k3y@mail.example.com/send?x=1")
    assert destination == HttpDestination("https://mail.example.com/send?x=1", "api", "k3y")


def answer_get(conn):
    request_line = conn.read_line()
    while conn.read_line():  # the headers, up to the blank line
        pass
    conn.server.commands.append(request_line)
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world")
    conn.wait_closed()


def test_get_records_the_steps_and_caps_the_response(attempt, fault_server):
    server = fault_server(answer_get)
    getting = attempt(2.0)
    url = web.parse_url(f"http://127.0.0.1:{server.port}/.well-known/x?q=1")
    with web.request(getting, "GET", url, max_response_bytes=5) as (step, response):
        assert (response.status, response.body) == (200, b"hello")
    result = getting.finish()
    assert server.commands == ["GET /.well-known/x?q=1 HTTP/1.1"]
    assert [step.name for step in result.steps] == ["resolve", "connect", "request", "response"]
    assert result.steps[2].detail == {"method": "GET", "url": f"http://127.0.0.1:{server.port}/.well-known/x"}
    assert result.steps[3].reply == "hello"


def test_form_post_and_an_answer_the_caller_refuses(attempt, http_server):
    server = http_server()
    posting = attempt(2.0)
    with pytest.raises(Stop) as stopped:
        with web.request(posting, "POST", web.parse_url(server.url("/unauthorized")),
                         data={"grant_type": "refresh_token", "scope": "a b"}) as (step, response):
            step.fail("http_status", reply_code=response.status, reply_text=response.body)
    steps = posting.steps
    (request,) = server.requests
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == b"grant_type=refresh_token&scope=a+b"
    assert (stopped.value.diagnosis.code, stopped.value.diagnosis.reply_text) == (
        "http_status", "bad credentials")
    assert [(step.name, step.ok) for step in steps][-2:] == [("request", True), ("response", False)]
    assert steps[-2].detail["size"] == len(request.body)
