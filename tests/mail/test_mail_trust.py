"""A trusted certificate (a pin) on real TLS servers: implicit TLS and
STARTTLS alike reach the one check in tls.handshake. Without trust a
self-signed certificate fails and is shown; trusted, exactly it passes; a
different one stops before AUTH."""
import datetime

import pytest

from helpers import SERVED, assert_failed, openssl_fingerprint
from webapp.mail import smtp
from webapp.mail.certificates import (CertificateFacts, colon_hex, expires_soon,
                                      normalized_fingerprint, sha256_of)
from webapp.mail.message import build_message

def deliver(server, credentials, security, *, pin=None, ca_file=None, verify=True):
    dest = smtp.SmtpDestination(host="127.0.0.1", port=server.port, security=security,
                                verify_tls=verify, pinned_sha256=pin,
                                username=credentials.user, password=credentials.password)
    message = build_message(from_address=credentials.user, to=["to@example.com"],
                            subject="pin", body="hello")
    return smtp.send(dest, message, envelope_from=credentials.user,
                     envelope_to=["to@example.com"], deadline_s=5, cafile=ca_file)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_trusted_self_signed_certificate_passes_and_a_different_one_stops_before_auth(
        security, smtp_server, self_signed_certificate, smtp_credentials, ca_file):
    first = self_signed_certificate("mail.example.lan")
    server = smtp_server(login=True, **SERVED[security](first.context))

    untrusted = deliver(server, smtp_credentials, security, ca_file=ca_file)
    diagnosis = assert_failed(untrusted, "certificate_untrusted", "tls")
    assert diagnosis.facts["self_signed"] is True
    presented = diagnosis.facts["certificate"]
    assert colon_hex(presented.sha256) == openssl_fingerprint(first.cert_path)
    assert presented.names == ("mail.example.lan",) and presented.self_signed

    # Trusted: accepted although it is self-signed and for another name.
    trusted = deliver(server, smtp_credentials, security, pin=presented.sha256, ca_file=ca_file)
    assert trusted.ok, trusted.diagnosis
    tls_step = next(step for step in trusted.steps if step.name == "tls")
    assert tls_step.detail["pinned"] is True and tls_step.detail["verified"] is False
    assert len(server.received) == 1
    assert len(server.auth_attempts) == 1

    # The server now presents another self-signed certificate.
    second = self_signed_certificate("mail.example.lan")
    first.context.load_cert_chain(second.cert_path, second.key_path)
    changed = deliver(server, smtp_credentials, security, pin=presented.sha256, ca_file=ca_file)
    diagnosis = assert_failed(changed, "certificate_changed", "tls")
    assert diagnosis.facts["trusted_sha256"] == presented.sha256
    assert colon_hex(diagnosis.facts["presented_sha256"]) == openssl_fingerprint(second.cert_path)
    assert diagnosis.facts["certificate"].sha256 == diagnosis.facts["presented_sha256"]
    assert [step.name for step in changed.steps if step.name in ("login", "sender")] == []
    assert len(server.auth_attempts) == 1  # only the trusted connection's
    assert len(server.received) == 1


def test_a_pin_wins_over_do_not_verify(smtp_server, self_signed_certificate, smtp_credentials):
    server = smtp_server(login=True, **SERVED["tls"](self_signed_certificate().context))
    result = deliver(server, smtp_credentials, "tls", pin="0" * 64, verify=False)
    assert_failed(result, "certificate_changed", "tls")
    assert server.auth_attempts == []


def test_a_pin_never_lets_port_25_fall_back_to_plain_text(fault_server, fault_scripts,
                                                          smtp_credentials):
    server = fault_server(fault_scripts.smtp())  # offers no STARTTLS
    result = deliver(server, smtp_credentials, "opportunistic", pin="0" * 64)
    assert_failed(result, "starttls_not_offered", "starttls")
    assert not any(command.upper().startswith("AUTH") for command in server.commands)


def test_a_verified_certificate_reports_when_it_expires(smtp_server, tls_ca, smtp_credentials,
                                                        ca_file):
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    not_after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
    tls_ca.issue_cert("127.0.0.1", not_after=not_after).configure_cert(context)
    server = smtp_server(login=True, **SERVED["starttls"](context))
    result = deliver(server, smtp_credentials, "starttls", ca_file=ca_file)
    assert result.ok, result.diagnosis
    detail = next(step for step in result.steps if step.name == "tls").detail
    assert detail["verified"] is True and detail["pinned"] is False
    assert abs(detail["expires"] - not_after) < datetime.timedelta(seconds=1)
    assert expires_soon(detail["expires"])


def test_certificate_facts(self_signed_certificate):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    files = self_signed_certificate("mail.example.lan", "192.0.2.7", valid_days=3)
    with open(files.cert_path, "rb") as pem:
        der = x509.load_pem_x509_certificate(pem.read()).public_bytes(Encoding.DER)
    facts = CertificateFacts.from_der(der)
    assert facts.names == ("mail.example.lan", "192.0.2.7")
    assert facts.subject == facts.issuer == "CN=mail.example.lan" and facts.self_signed
    assert facts.sha256 == sha256_of(der) and len(facts.sha256) == 64
    assert expires_soon(facts.not_after)
    assert not expires_soon(facts.not_after, now=facts.not_after - datetime.timedelta(days=15))
    assert CertificateFacts.from_der(b"not a certificate") is None


@pytest.mark.parametrize("text", ["AB:CD" + ":EF" * 29 + ":01", " abcd" + "ef" * 29 + "01 ",
                                  "AB CD" + " EF" * 29 + " 01"])
def test_fingerprints_are_read_however_they_are_written(text):
    assert normalized_fingerprint(text) == "abcd" + "ef" * 29 + "01"


@pytest.mark.parametrize("text", ["", "abc", "g" * 64, "ab" * 33])
def test_what_is_no_fingerprint(text):
    assert normalized_fingerprint(text) is None
