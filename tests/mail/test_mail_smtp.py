"""SMTP delivery against real servers on loopback: aiosmtpd for the good
paths and certificates, scripted fault servers for everything that can go
wrong."""

import base64
import email
import email.policy
import threading
import time

import pytest

from helpers import assert_failed

from webapp.mail import smtp
from webapp.mail.message import build_message
from webapp.mail.smtp import SmtpDestination
from webapp.mail.smtp_replies import parse_queue_id

DEADLINE = 2.0
SENDER = "sender@example.com"
TO = "client@example.org"
BLIND_COPY = "archive@example.com"
REPLY_TO = "office@example.com"
SUBJECT = "Test — Račun 請求書"


def make_message():
    return build_message(from_address=SENDER, to=[TO], subject=SUBJECT,
                         body="Zdravo, to je preizkus.\n", reply_to=REPLY_TO)


def deliver(dest, *, envelope_to=(TO,), deadline_s=DEADLINE, **kwargs):
    return smtp.send(dest, make_message(), envelope_from=SENDER,
                     envelope_to=list(envelope_to), deadline_s=deadline_s, **kwargs)


def names(result):
    return [step.name for step in result.steps]


def step(result, name):
    return next(s for s in result.steps if s.name == name)


def auth_plain_token(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def assert_no_secret(credentials, result, dest=None):
    """Neither the password nor the AUTH PLAIN token shows up anywhere."""
    for text in (repr(result), repr(dest) if dest else ""):
        assert credentials.password not in text
        assert auth_plain_token(credentials.user, credentials.password) not in text
        assert base64.b64encode(credentials.password.encode()).decode() not in text


def local(port, security, **kwargs):
    return SmtpDestination("127.0.0.1", port, security, **kwargs)


# --- success ------------------------------------------------------------------

def test_starttls_with_login_delivers_headers_and_blind_copy(smtp_server, server_tls, ca_file,
                                                             smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True,
                         auth_require_tls=True)
    dest = SmtpDestination("localhost", server.port, "starttls",
                           username=smtp_credentials.user, password=smtp_credentials.password)

    result = deliver(dest, envelope_to=[TO, BLIND_COPY], cafile=ca_file)

    assert result.ok and result.diagnosis is None
    assert names(result) == ["resolve", "connect", "greeting", "ehlo", "starttls", "tls", "ehlo",
                             "login", "sender", "recipient", "recipient", "message"]
    assert all(s.ok and s.elapsed_ms >= 0 for s in result.steps)
    assert step(result, "tls").detail["version"] in ("TLSv1.2", "TLSv1.3")
    assert step(result, "tls").detail["verified"] is True
    assert step(result, "connect").detail == {"address": "127.0.0.1", "port": server.port}
    assert "127.0.0.1" in step(result, "resolve").detail["addresses"]
    assert step(result, "login").detail == {"mechanism": "PLAIN", "username": smtp_credentials.user}
    assert step(result, "sender").detail == {"address": SENDER}
    assert [s.detail["address"] for s in result.steps if s.name == "recipient"] == [TO, BLIND_COPY]
    assert step(result, "message").detail["queue_id"] == "TESTQ123"
    assert step(result, "message").reply == "250 2.0.0 Ok: queued as TESTQ123"
    assert result.total_ms >= sum(s.elapsed_ms for s in result.steps) * 0.9

    (mail,) = server.received
    assert mail.tls and mail.authenticated
    assert mail.mail_from == SENDER
    assert mail.rcpt_tos == [TO, BLIND_COPY]
    parsed = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert parsed.get_all("Reply-To") == [REPLY_TO]
    assert "Bcc" not in parsed and BLIND_COPY.encode() not in mail.content
    assert parsed["Date"] and parsed["Message-ID"]
    assert parsed["Subject"] == SUBJECT
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Zdravo, to je preizkus.\n"
    assert_no_secret(smtp_credentials, result, dest)


def test_implicit_tls_with_login(smtp_server, server_tls, ca_file, smtp_credentials):
    # aiosmtpd counts only STARTTLS as TLS for auth_require_tls.
    server = smtp_server(ssl_context=server_tls.valid, login=True, auth_require_tls=False)
    dest = SmtpDestination("localhost", server.port, "tls",
                           username=smtp_credentials.user, password=smtp_credentials.password)

    result = deliver(dest, cafile=ca_file)

    assert result.ok, result.diagnosis
    assert names(result) == ["resolve", "connect", "tls", "greeting", "ehlo", "login",
                             "sender", "recipient", "message"]
    assert step(result, "tls").detail["version"] in ("TLSv1.2", "TLSv1.3")
    assert server.received[0].authenticated
    assert_no_secret(smtp_credentials, result, dest)


def test_opportunistic_stays_plain_when_starttls_is_not_offered(smtp_server):
    server = smtp_server()
    result = deliver(local(server.port, "opportunistic"))
    assert result.ok, result.diagnosis
    assert "tls" not in names(result) and "starttls" not in names(result)
    assert not server.received[0].tls


def test_opportunistic_upgrades_when_starttls_is_offered(smtp_server, server_tls, ca_file):
    server = smtp_server(tls_context=server_tls.valid)
    result = deliver(SmtpDestination("localhost", server.port, "opportunistic"), cafile=ca_file)
    assert result.ok, result.diagnosis
    assert names(result)[:7] == ["resolve", "connect", "greeting", "ehlo", "starttls", "tls", "ehlo"]
    assert server.received[0].tls


def test_opportunistic_carries_on_when_starttls_is_refused(fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(ehlo=("fault.test", "STARTTLS", "SIZE 1000000")))
    result = deliver(local(server.port, "opportunistic"))
    assert result.ok, result.diagnosis
    refused = step(result, "starttls")
    assert not refused.ok and refused.reply.startswith("454")
    assert "tls" not in names(result)
    assert step(result, "message").detail["queue_id"] == "FAULTQ1"
    assert len(server.messages) == 1


def test_ipv6_literal(smtp_server):
    server = smtp_server(hostname="::1")
    result = deliver(SmtpDestination("::1", server.port, "opportunistic"))
    assert result.ok, result.diagnosis
    assert step(result, "connect").detail["address"] == "::1"
    assert step(result, "ehlo").detail["name"] == "[IPv6:::1]"


def test_local_hostname_is_used_for_ehlo(fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp())
    result = deliver(local(server.port, "opportunistic"), local_hostname="app.example.com")
    assert result.ok
    assert "ehlo app.example.com" in [c.lower() for c in server.commands]


def test_no_queue_id_when_the_server_gives_none(smtp_server):
    server = smtp_server(data_reply="250 OK")
    result = deliver(local(server.port, "opportunistic"))
    assert result.ok and step(result, "message").detail["queue_id"] is None


@pytest.mark.parametrize("reply, queue_id", [
    ("2.0.0 Ok: queued as 4Xk9Lq2mZbz1", "4Xk9Lq2mZbz1"),
    ("OK id=1rT3aB-0004xY-2Q", "1rT3aB-0004xY-2Q"),
    ("2.6.0 <abc.def@mail.example.com> [InternalId=123] Queued mail for delivery",
     "abc.def@mail.example.com"),
    ("2.0.0 OK  1700000000 d9443c01a7336-1e2b1c2d3e4f.5 - gsmtp", "d9443c01a7336-1e2b1c2d3e4f.5"),
    ("Ok 0100018c2b3d4e5f-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000",
     "0100018c2b3d4e5f-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000"),
    ("2.0.0 Message queued for delivery", None),
    ("OK", None),
    ("2.0.0 Ok", None),
    (None, None),
])
def test_parse_queue_id(reply, queue_id):
    assert parse_queue_id(reply) == queue_id


def test_unverified_tls_still_encrypts_a_self_signed_server(smtp_server, server_tls):
    server = smtp_server(tls_context=server_tls.self_signed, require_starttls=True)
    result = deliver(SmtpDestination("localhost", server.port, "starttls", verify_tls=False))
    assert result.ok, result.diagnosis
    assert step(result, "tls").detail["verified"] is False
    assert server.received[0].tls


def test_password_is_not_in_the_destination_repr(smtp_credentials):
    password = smtp_credentials.password
    dest = SmtpDestination("mail.example.com", 587, "starttls", username=SENDER, password=password)
    assert password not in repr(dest) and password not in str(dest)


def test_no_deadline_thread_outlives_a_send(fault_server, fault_scripts, smtp_server):
    silent = fault_server(fault_scripts.silent)
    assert deliver(local(silent.port, "tls"), deadline_s=0.5).diagnosis.code == "timed_out"
    assert deliver(local(smtp_server().port, "opportunistic")).ok
    assert not [t for t in threading.enumerate() if t.name.startswith("sendwell")]


# --- network and TLS failures ------------------------------------------------

def test_name_not_found():
    result = deliver(SmtpDestination("nonexistent.invalid", 587, "starttls"))
    diagnosis = assert_failed(result, "name_not_found", "resolve")
    assert diagnosis.facts["host"] == "nonexistent.invalid"


def test_connection_refused(unused_port):
    port = unused_port()
    diagnosis = assert_failed(deliver(local(port, "starttls")), "connection_refused", "connect")
    assert diagnosis.facts["port"] == port


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_private_destinations_can_be_forbidden(fault_server, fault_scripts, host):
    server = fault_server(fault_scripts.smtp())
    result = deliver(SmtpDestination(host, server.port, "opportunistic"), allow_private=False)
    assert_failed(result, "destination_forbidden", "connect")
    assert server.connections == 0


@pytest.mark.parametrize("security, failing_step", [("tls", "tls"), ("starttls", "greeting"),
                                                     ("opportunistic", "greeting")])
def test_silent_server_times_out_within_the_deadline(fault_server, fault_scripts, security,
                                                     failing_step):
    server = fault_server(fault_scripts.silent)
    started = time.monotonic()
    result = deliver(local(server.port, security))
    elapsed = time.monotonic() - started
    assert_failed(result, "timed_out", failing_step)
    assert elapsed <= DEADLINE + 0.5


def test_dripping_server_times_out_within_the_deadline(fault_server, fault_scripts):
    server = fault_server(fault_scripts.drip)
    started = time.monotonic()
    result = deliver(local(server.port, "starttls"))
    elapsed = time.monotonic() - started
    assert_failed(result, "timed_out", "greeting")
    assert DEADLINE - 0.1 <= elapsed <= DEADLINE + 0.5


@pytest.mark.parametrize("make_script", [
    lambda scripts: scripts.http_reply,
    lambda scripts: scripts.smtp(greeting="SSH-2.0-OpenSSH_9.6"),
    lambda scripts: scripts.smtp(greeting="200 looks like a reply but is not a greeting"),
], ids=["http", "ssh", "not-220"])
def test_not_smtp(fault_server, fault_scripts, make_script):
    server = fault_server(make_script(fault_scripts))
    assert_failed(deliver(local(server.port, "starttls")), "not_smtp", "greeting")


def test_greeting_4xx_is_temporary(fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(greeting="421 4.3.2 Service not available, try later"))
    diagnosis = assert_failed(deliver(local(server.port, "starttls")), "temporary_failure", "greeting")
    assert diagnosis.reply_code == 421
    assert diagnosis.reply_text == "4.3.2 Service not available, try later"


def test_greeting_5xx_is_refused(fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(greeting="554 5.7.1 Your address is blocked"))
    diagnosis = assert_failed(deliver(local(server.port, "starttls")), "greeting_refused", "greeting")
    assert diagnosis.reply_code == 554


def test_plain_smtp_where_tls_was_expected(smtp_server):
    server = smtp_server()
    diagnosis = assert_failed(deliver(local(server.port, "tls")), "plain_on_tls_port", "tls")
    assert diagnosis.facts == {"suggested_port": 587}
    assert diagnosis.reply_text.startswith("220")


def test_tls_expected_where_we_spoke_plain(smtp_server, server_tls):
    server = smtp_server(ssl_context=server_tls.valid)
    started = time.monotonic()
    result = deliver(local(server.port, "starttls"))
    elapsed = time.monotonic() - started
    diagnosis = assert_failed(result, "tls_expected_on_connect", "greeting")
    assert diagnosis.facts == {"suggested_port": 465}
    assert elapsed <= DEADLINE + 0.5


def test_tls_handshake_failure(fault_server, fault_scripts):
    server = fault_server(fault_scripts.tls_alert)
    diagnosis = assert_failed(deliver(local(server.port, "tls")), "tls_handshake_failed", "tls")
    assert "HANDSHAKE_FAILURE" in diagnosis.facts["reason"]


def test_untrusted_certificate(smtp_server, server_tls, ca_file):
    server = smtp_server(ssl_context=server_tls.untrusted)
    result = deliver(SmtpDestination("localhost", server.port, "tls"), cafile=ca_file)
    diagnosis = assert_failed(result, "certificate_untrusted", "tls")
    assert diagnosis.facts["self_signed"] is False


def test_self_signed_certificate(smtp_server, server_tls, ca_file):
    server = smtp_server(ssl_context=server_tls.self_signed)
    result = deliver(SmtpDestination("localhost", server.port, "tls"), cafile=ca_file)
    diagnosis = assert_failed(result, "certificate_untrusted", "tls")
    assert diagnosis.facts["self_signed"] is True


def test_certificate_for_another_host(smtp_server, server_tls, ca_file):
    server = smtp_server(ssl_context=server_tls.wrong_host)
    result = deliver(SmtpDestination("localhost", server.port, "tls"), cafile=ca_file)
    diagnosis = assert_failed(result, "certificate_wrong_host", "tls")
    assert diagnosis.facts["cert_names"] == ["other.example"]


def test_certificate_for_another_host_over_starttls(smtp_server, server_tls, ca_file,
                                                    smtp_credentials):
    server = smtp_server(tls_context=server_tls.wrong_host, require_starttls=True, login=True)
    dest = SmtpDestination("localhost", server.port, "starttls",
                           username=smtp_credentials.user, password=smtp_credentials.password)
    result = deliver(dest, cafile=ca_file)
    diagnosis = assert_failed(result, "certificate_wrong_host", "tls")
    assert diagnosis.facts["cert_names"] == ["other.example"]
    assert server.received == []
    assert_no_secret(smtp_credentials, result, dest)


def test_expired_certificate(smtp_server, server_tls, ca_file):
    server = smtp_server(ssl_context=server_tls.expired)
    result = deliver(SmtpDestination("localhost", server.port, "tls"), cafile=ca_file)
    diagnosis = assert_failed(result, "certificate_expired", "tls")
    assert diagnosis.facts["not_yet_valid"] is False


def test_system_trust_store_does_not_trust_the_test_ca(smtp_server, server_tls):
    server = smtp_server(ssl_context=server_tls.valid)
    result = deliver(SmtpDestination("localhost", server.port, "tls"))
    assert_failed(result, "certificate_untrusted", "tls")


# --- STARTTLS and AUTH ---------------------------------------------------------

NO_STARTTLS = ("fault.test", "SIZE 1000000", "AUTH PLAIN LOGIN")
WITH_STARTTLS = ("fault.test", "STARTTLS", "AUTH PLAIN LOGIN")


@pytest.fixture
def with_login(smtp_credentials):
    def destination(port, security="starttls"):
        return local(port, security, username=smtp_credentials.user,
                     password=smtp_credentials.password)
    return destination


def test_starttls_not_offered_stops_before_auth(fault_server, fault_scripts, with_login,
                                                smtp_credentials):
    server = fault_server(fault_scripts.smtp(ehlo=NO_STARTTLS))
    result = deliver(with_login(server.port))
    assert_failed(result, "starttls_not_offered", "starttls")
    assert not any(c.upper().startswith(("AUTH", "MAIL", "STARTTLS")) for c in server.commands)
    assert_no_secret(smtp_credentials, result)


def test_starttls_not_offered_by_aiosmtpd(smtp_server):
    server = smtp_server()
    assert_failed(deliver(local(server.port, "starttls")), "starttls_not_offered", "starttls")
    assert server.received == []


def test_unverified_tls_never_skips_starttls(fault_server, fault_scripts, with_login):
    server = fault_server(fault_scripts.smtp(ehlo=NO_STARTTLS))
    dest = SmtpDestination("127.0.0.1", server.port, "starttls", verify_tls=False,
                           username="someone", password="pw-123")
    assert_failed(deliver(dest), "starttls_not_offered", "starttls")
    assert not any(c.upper().startswith("AUTH") for c in server.commands)


def test_starttls_refused_stops_before_auth(fault_server, fault_scripts, with_login):
    server = fault_server(fault_scripts.smtp(ehlo=WITH_STARTTLS))
    diagnosis = assert_failed(deliver(with_login(server.port)), "starttls_refused", "starttls")
    assert diagnosis.reply_code == 454
    assert not any(c.upper().startswith(("AUTH", "MAIL")) for c in server.commands)


def test_auth_not_offered(fault_server, fault_scripts, with_login):
    server = fault_server(fault_scripts.smtp(ehlo=("fault.test", "SIZE 1000000")))
    diagnosis = assert_failed(deliver(with_login(server.port, "opportunistic")),
                              "auth_not_offered", "login")
    assert diagnosis.facts["encrypted"] is False
    assert not any(c.upper().startswith(("AUTH", "MAIL")) for c in server.commands)


def test_auth_offered_only_after_tls_on_a_plain_server(smtp_server, with_login):
    # A port-25 server that keeps AUTH for TLS sessions but offers no STARTTLS.
    server = smtp_server(login=True, auth_require_tls=True)
    assert_failed(deliver(with_login(server.port, "opportunistic")), "auth_not_offered", "login")
    assert server.received == []


def test_wrong_password_is_refused(smtp_server, server_tls, ca_file, smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    dest = SmtpDestination("localhost", server.port, "starttls", username=smtp_credentials.user,
                           password=smtp_credentials.password + "-wrong")
    result = deliver(dest, cafile=ca_file)
    diagnosis = assert_failed(result, "login_refused", "login")
    assert diagnosis.reply_code == 535
    assert "provider" not in diagnosis.facts
    assert server.received == []
    assert dest.password not in repr(result)
    assert_no_secret(smtp_credentials, result, dest)


def test_login_refused_by_fault_server_never_echoes_the_password(fault_server, fault_scripts,
                                                                with_login, smtp_credentials):
    token = auth_plain_token(smtp_credentials.user, smtp_credentials.password)
    # A hostile server quoting our AUTH line back at us.
    server = fault_server(fault_scripts.smtp(
        replies={"AUTH": f"535 5.7.8 Bad credentials for {token}"}))
    result = deliver(with_login(server.port, "opportunistic"))
    diagnosis = assert_failed(result, "login_refused", "login")
    assert (diagnosis.reply_code, diagnosis.reply_text) == (535, "5.7.8")
    assert step(result, "login").reply == "535 5.7.8"
    assert_no_secret(smtp_credentials, result)
    assert not any(c.upper().startswith("MAIL") for c in server.commands)


def test_app_password_required(fault_server, fault_scripts, with_login):
    server = fault_server(fault_scripts.smtp(replies={
        "AUTH": "534 5.7.9 Application-specific password required."}))
    diagnosis = assert_failed(deliver(with_login(server.port, "opportunistic")), "login_refused", "login")
    assert diagnosis.facts["app_password_required"] is True


def test_microsoft_smtp_auth_disabled(fault_server, fault_scripts, with_login):
    server = fault_server(fault_scripts.smtp(replies={"AUTH": (
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
        "for the Tenant.")}))
    diagnosis = assert_failed(deliver(with_login(server.port, "opportunistic")),
                              "smtp_auth_disabled", "login")
    assert diagnosis.reply_code == 535


def test_temporary_auth_failure(fault_server, fault_scripts, with_login):
    server = fault_server(fault_scripts.smtp(replies={"AUTH": "454 4.7.0 Temporary authentication failure"}))
    assert_failed(deliver(with_login(server.port, "opportunistic")), "temporary_failure", "login")


# --- envelope and data -------------------------------------------------------------

@pytest.mark.parametrize("verb, reply, code, failing_step", [
    ("MAIL", "530 5.7.0 Authentication required", "auth_required", "sender"),
    ("MAIL", "550 5.7.1 Client must authenticate first", "auth_required", "sender"),
    ("MAIL", "553 5.7.1 Sender address rejected: not owned by user", "sender_refused", "sender"),
    ("MAIL", "451 4.3.0 Try again later", "temporary_failure", "sender"),
    ("MAIL", "552 5.3.4 Message size exceeds fixed maximum message size", "message_too_large", "sender"),
    ("RCPT", "550 5.7.1 Relaying denied", "relay_denied", "recipient"),
    ("RCPT", "554 5.7.1 <client@example.org>: Relay access denied", "relay_denied", "recipient"),
    ("RCPT", "550 5.1.1 <client@example.org>: Recipient address rejected: User unknown",
     "recipient_refused", "recipient"),
    ("RCPT", "450 4.2.0 Greylisted, try again", "temporary_failure", "recipient"),
    ("DATA", "554 5.5.1 No valid recipients", "message_refused", "message"),
])
def test_refusals(fault_server, fault_scripts, verb, reply, code, failing_step):
    server = fault_server(fault_scripts.smtp(replies={verb: reply}))
    diagnosis = assert_failed(deliver(local(server.port, "opportunistic")), code, failing_step)
    assert diagnosis.reply_code == int(reply[:3])
    assert diagnosis.reply_text == reply[4:]
    if failing_step == "recipient":
        assert diagnosis.facts["address"] == TO


@pytest.mark.parametrize("end_of_data, code", [
    ("552 5.3.4 Message size exceeds fixed limit", "message_too_large"),
    ("554 5.7.1 Message rejected as spam", "message_refused"),
    ("451 4.7.1 Please try again later", "temporary_failure"),
])
def test_refusals_at_end_of_data(fault_server, fault_scripts, end_of_data, code):
    server = fault_server(fault_scripts.smtp(end_of_data=end_of_data))
    diagnosis = assert_failed(deliver(local(server.port, "opportunistic")), code, "message")
    assert diagnosis.reply_code == int(end_of_data[:3])
    assert len(server.messages) == 1


def test_advertised_size_limit_is_checked_before_sending(smtp_server):
    server = smtp_server(data_size_limit=200)
    diagnosis = assert_failed(deliver(local(server.port, "opportunistic")), "message_too_large", "sender")
    assert diagnosis.facts["max_size"] == 200 and diagnosis.facts["size"] > 200
    assert server.received == []


def test_second_recipient_refused_names_it(fault_server, fault_scripts):
    def script(conn):
        # Refuse only the blind copy.
        inner = fault_scripts.smtp(replies={})
        original_send = conn.send

        def send(line):
            if isinstance(line, str) and line.startswith("250 2.1.0") and \
                    conn.server.commands and BLIND_COPY in conn.server.commands[-1]:
                line = "550 5.1.1 No such mailbox"
            original_send(line)

        conn.send = send
        inner(conn)

    server = fault_server(script)
    result = deliver(local(server.port, "opportunistic"), envelope_to=[TO, BLIND_COPY])
    diagnosis = assert_failed(result, "recipient_refused", "recipient")
    assert diagnosis.facts["address"] == BLIND_COPY
    assert [s.ok for s in result.steps if s.name == "recipient"] == [True, False]


def test_connection_dropped_after_354_is_never_success(fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(close_after_354=True))
    result = deliver(local(server.port, "opportunistic"))
    assert_failed(result, "connection_dropped", "message")


def test_connection_dropped_mid_session(fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(replies={"RCPT": fault_scripts.CLOSE}))
    assert_failed(deliver(local(server.port, "opportunistic")), "connection_dropped", "recipient")


def test_ehlo_refused_falls_back_to_helo(fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(replies={"EHLO": "502 5.5.2 Command not recognized"}))
    result = deliver(local(server.port, "opportunistic"))
    assert result.ok, result.diagnosis
    assert any(c.upper().startswith("HELO ") for c in server.commands)


@pytest.mark.parametrize("verify_tls", [True, False])
def test_plain_text_injected_after_starttls_stops_before_auth(fault_server, fault_scripts, verify_tls):
    # A man in the middle answers STARTTLS and plants a reply for after the handshake.
    server = fault_server(fault_scripts.smtp(
        ehlo=("fault.test", "STARTTLS", "AUTH PLAIN LOGIN"),
        replies={"STARTTLS": ["220 2.0.0 Ready to start TLS\r\n235 2.7.0 Authentication successful"]}))
    dest = SmtpDestination("127.0.0.1", server.port, "starttls", verify_tls=verify_tls,
                           username="sender@example.com", password="secret-pw-1")
    result = smtp.send(dest, build_message(from_address="sender@example.com", to=["to@example.com"],
                                           subject="s", body="b"),
                       envelope_from="sender@example.com", envelope_to=["to@example.com"],
                       deadline_s=3)
    assert not result.ok
    assert (result.diagnosis.code, result.diagnosis.step) == ("starttls_injection", "starttls")
    assert not any(command.upper().startswith("AUTH") for command in server.commands)


def test_a_size_in_unicode_digits_is_no_size_and_no_error(fault_server, fault_scripts):
    # smtplib reads EHLO as Latin-1: the byte B2 is "²", which str.isdigit() takes.
    server = fault_server(fault_scripts.smtp(replies={
        "EHLO": [b"250-fault.test\r\n", b"250 SIZE \xb2\r\n"]}))
    result = deliver(local(server.port, "opportunistic"))
    assert result.ok, result.diagnosis
    assert "max_size" not in step(result, "ehlo").detail


# --- no password in plain text to a public address (issue 12, item 10) -----------

@pytest.fixture
def loopback_counts_as_public(monkeypatch):
    """Every test server is on loopback; a public address cannot be reached
    here, so the one question asked of the address is answered for one."""
    from webapp.mail import net

    monkeypatch.setattr(net, "is_local_network_address", lambda address: False)


@pytest.mark.parametrize("ehlo, replies, offered", [
    (NO_STARTTLS, {}, False),                                             # not offered or stripped
    (WITH_STARTTLS, {"STARTTLS": "454 4.7.0 TLS not available"}, True),  # refused
])
@pytest.mark.parametrize("mechanisms", ["AUTH PLAIN LOGIN", "AUTH CRAM-MD5"])
def test_no_password_goes_unencrypted_to_a_public_address(
        fault_server, fault_scripts, with_login, smtp_credentials, loopback_counts_as_public,
        ehlo, replies, offered, mechanisms):
    ehlo = tuple(mechanisms if line.startswith("AUTH") else line for line in ehlo)
    server = fault_server(fault_scripts.smtp(ehlo=ehlo, replies=replies))
    result = deliver(with_login(server.port, "opportunistic"))
    diagnosis = assert_failed(result, "unencrypted_login", "login")
    assert diagnosis.facts["starttls_offered"] is offered
    assert not any(command.upper().startswith(("AUTH", "MAIL")) for command in server.commands)
    assert_no_secret(smtp_credentials, result)


def test_a_relay_without_login_still_sends_unencrypted_to_a_public_address(
        fault_server, fault_scripts, loopback_counts_as_public):
    server = fault_server(fault_scripts.smtp(ehlo=NO_STARTTLS))
    assert deliver(local(server.port, "opportunistic")).ok
    assert len(server.messages) == 1


def test_a_password_goes_unencrypted_only_on_this_computer_or_a_private_network(
        fault_server, fault_scripts, with_login):
    from webapp.mail import net

    server = fault_server(fault_scripts.smtp(ehlo=NO_STARTTLS))
    assert deliver(with_login(server.port, "opportunistic")).ok
    assert any(command.upper().startswith("AUTH") for command in server.commands)
    assert all(net.is_local_network_address(address)
               for address in ("127.0.0.1", "::1", "10.1.2.3", "192.168.1.20", "fd00::5"))
    assert not any(net.is_local_network_address(address)
                   for address in ("8.8.8.8", "2a00:1450::1"))


# --- a server that echoes the password in disguise (issue 12, item 12) ------------

def disguises(user: str, password: str) -> list[str]:
    raw = password.encode()
    return [password.upper(), password.lower(), raw.hex(), raw.hex().upper(), password[::-1],
            " ".join(password), "\x00".join(password), "\u200b".join(password),
            base64.b64encode(raw).decode(), base64.b64encode(b"x" + raw).decode(),
            base64.b64encode(b"xy" + raw).decode(), auth_plain_token(user, password),
            base64.urlsafe_b64encode(b"z" + raw).decode(), password.replace("-", "%2D")]


def visible_parts(password: str) -> list[str]:
    """Pieces of the password that must not survive in any disguise."""
    raw = password.encode()
    return [password[2:10].lower(), raw.hex()[4:20], password[::-1][2:10].lower(),
            base64.b64encode(raw).decode()[2:12]]


ECHO_PASSWORD = "Echo-Pw-4455xyz"


@pytest.mark.parametrize("echo", disguises(SENDER, ECHO_PASSWORD))
def test_an_echoed_password_is_scrubbed_in_every_disguise(fault_server, fault_scripts, echo):
    server = fault_server(fault_scripts.smtp(replies={
        "MAIL": [f"550 5.7.1 Refused, you said {echo} twice: {echo}\r\n".encode()]}))
    dest = local(server.port, "opportunistic", username=SENDER, password=ECHO_PASSWORD)
    result = deliver(dest)
    diagnosis = assert_failed(result, "sender_refused", "sender")
    kept = (diagnosis.reply_text + " " + step(result, "sender").reply).lower()
    assert kept.count("***") == 4, kept
    for part in visible_parts(ECHO_PASSWORD):
        assert part.lower() not in kept, part
    # The reply to AUTH keeps its codes only.
    assert step(result, "login").reply == "235 2.7.0"
