"""HTTP delivery against a real ThreadingHTTPServer on loopback."""

import base64
import email
import email.policy
import time

import pytest

from helpers import assert_failed

from webapp.mail import http
from webapp.mail.message import build_message, message_bytes

DEADLINE = 2.0
SENDER = "billing@example.com"
TO = ["client@example.org", "second@example.net"]
REPLY_TO = "office@example.com"
SUBJECT = "Račun 42 — 請求書"
URL_PASSWORD = "s3cr3t-päss"


def make_message():
    return build_message(from_address=SENDER, to=TO, subject=SUBJECT, body="Zdravo!\n",
                         reply_to=REPLY_TO)


def post(url, message=None, *, deadline_s=DEADLINE, **kwargs):
    return http.send(http.HttpDestination.from_url(url), message or make_message(),
                     from_address=SENDER, to=TO, reply_to=REPLY_TO, subject=SUBJECT,
                     deadline_s=deadline_s, **kwargs)


def names(result):
    return [step.name for step in result.steps]


def test_posts_the_message_as_json(http_server):
    server = http_server()
    message = make_message()
    result = post(server.url("/hooks/mail?token=abc123"), message)

    assert result.ok and result.diagnosis is None
    assert names(result) == ["resolve", "connect", "request", "response"]
    assert result.steps[-1].detail == {"status": 202}
    assert result.steps[-1].reply == '{"id": "msg-1"}'
    # Shown without the query string, which may carry a token.
    assert result.steps[2].detail["url"] == f"http://127.0.0.1:{server.port}/hooks/mail"

    (request,) = server.requests
    assert request.path == "/hooks/mail?token=abc123"
    assert request.headers["Content-Type"] == "application/json"
    payload = request.json()
    assert set(payload) == {"from", "to", "reply_to", "subject", "message"}
    assert (payload["from"], payload["to"], payload["reply_to"], payload["subject"]) == (
        SENDER, TO, REPLY_TO, SUBJECT)
    raw = base64.b64decode(payload["message"], validate=True)
    assert raw == message_bytes(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT
    assert parsed.get_all("Reply-To") == [REPLY_TO]
    assert "Bcc" not in parsed


def test_userinfo_becomes_basic_auth_and_is_never_shown(http_server):
    server = http_server()
    result = post(server.url("/hook", userinfo="mailer:s3cr3t-p%C3%A4ss"))
    assert result.ok, result.diagnosis
    (request,) = server.requests
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode("utf-8") == f"mailer:{URL_PASSWORD}"
    text = repr(result)
    assert URL_PASSWORD not in text and "s3cr3t" not in text and "mailer" not in text
    assert token not in text


def test_https_with_trusted_certificate(http_server, server_tls, ca_file):
    server = http_server(server_tls.valid)
    result = post(server.url("/hook", host="localhost"), cafile=ca_file)
    assert result.ok, result.diagnosis
    assert names(result) == ["resolve", "connect", "tls", "request", "response"]
    assert result.steps[2].detail["version"] in ("TLSv1.2", "TLSv1.3")
    assert len(server.requests) == 1


def test_http_to_localhost_is_allowed(http_server):
    server = http_server()
    assert post(server.url("/hook", host="localhost")).ok


def test_redirects_are_reported_not_followed(http_server):
    server = http_server()
    diagnosis = assert_failed(post(server.url("/redirect")), "http_redirect", "response")
    assert diagnosis.reply_code == 302
    # The Location's user-info is dropped before it is shown.
    assert diagnosis.facts == {"status": 302, "location": "https://elsewhere.invalid/next",
                               "same_host": False}
    assert len(server.requests) == 1


@pytest.mark.parametrize("path, status", [("/error", 500), ("/unauthorized", 401)])
def test_non_2xx_is_a_failure(http_server, path, status):
    server = http_server()
    result = post(server.url(path, userinfo="mailer:s3cr3t-p%C3%A4ss"))
    diagnosis = assert_failed(result, "http_status", "response")
    assert diagnosis.reply_code == status and diagnosis.facts == {"status": status}
    assert "\x1b" not in diagnosis.reply_text and "\r" not in diagnosis.reply_text
    assert URL_PASSWORD not in repr(result) and "s3cr3t" not in repr(result)


def test_dripping_response_times_out_within_the_deadline(http_server):
    server = http_server()
    started = time.monotonic()
    result = post(server.url("/drip"))
    elapsed = time.monotonic() - started
    assert_failed(result, "timed_out", "response")
    assert DEADLINE - 0.1 <= elapsed <= DEADLINE + 0.5


@pytest.mark.parametrize("scheme, failing_step", [("http", "request"), ("https", "tls")])
def test_silent_server_times_out_within_the_deadline(fault_server, fault_scripts, scheme,
                                                     failing_step):
    server = fault_server(fault_scripts.silent)
    started = time.monotonic()
    result = post(f"{scheme}://127.0.0.1:{server.port}/hook")
    assert_failed(result, "timed_out", failing_step)
    assert time.monotonic() - started <= DEADLINE + 0.5


@pytest.mark.parametrize("url, reason", [
    ("http://example.com/hook", "not_https"),
    ("http://10.0.0.1/hook", "not_https"),
    ("ftp://127.0.0.1/hook", "scheme"),
    ("https:///hook", "host"),
    ("https://exa mple.com/hook", "invalid"),
    ("https://example.com:99999/hook", "invalid"),
    ("not a url", "invalid"),
])
def test_bad_urls_are_refused_without_any_connection(url, reason):
    started = time.monotonic()
    result = post(url)
    diagnosis = assert_failed(result, "http_bad_url", "request")
    assert diagnosis.facts == {"reason": reason}
    assert names(result) == ["request"]
    assert time.monotonic() - started < 0.5


def test_name_not_found():
    assert_failed(post("https://nonexistent.invalid/hook"), "name_not_found", "resolve")


def test_connection_refused(unused_port):
    port = unused_port()
    diagnosis = assert_failed(post(f"https://127.0.0.1:{port}/hook"), "connection_refused", "connect")
    assert diagnosis.facts["port"] == port


def test_private_destinations_can_be_forbidden(http_server):
    server = http_server()
    assert_failed(post(server.url("/hook"), allow_private=False), "destination_forbidden", "connect")
    assert server.requests == []


def test_untrusted_certificate(http_server, server_tls, ca_file):
    server = http_server(server_tls.untrusted)
    diagnosis = assert_failed(post(server.url("/hook", host="localhost"), cafile=ca_file),
                              "certificate_untrusted", "tls")
    assert diagnosis.facts["self_signed"] is False
    assert server.requests == []


def test_certificate_for_another_host(http_server, server_tls, ca_file):
    server = http_server(server_tls.wrong_host)
    diagnosis = assert_failed(post(server.url("/hook", host="localhost"), cafile=ca_file),
                              "certificate_wrong_host", "tls")
    assert diagnosis.facts["cert_names"] == ["other.example"]
    assert server.requests == []


def test_https_to_a_plain_http_server_fails_the_handshake(http_server):
    server = http_server()
    url = f"https://127.0.0.1:{server.port}/hook"
    assert_failed(post(url), "tls_handshake_failed", "tls")
