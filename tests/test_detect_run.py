"""Detect settings end to end, with real parts on loopback: a DNS server
serving test zones, aiosmtpd servers on 127.0.0.x addresses, a silent server,
an https server with autoconfig documents (trustme certificates)."""

import ssl
import time
from email.message import EmailMessage

import pytest

from webapp.detect.dns import DetectResolver
from webapp.detect.run import DetectOptions, detect_settings, parse_ports
from webapp.detect.sources import AddressBook
from webapp.mail.providers import Mailboxes, Provider, SmtpEndpoint
from webapp.mail.smtp import SmtpDestination, _Session


@pytest.fixture
def tls_for(tls_ca):
    """Server-side TLS context with a certificate for these names."""
    def make(*names):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ca.issue_cert(*names).configure_cert(context)
        return context
    return make


def options(zone, ca_file, ports, **extra):
    return DetectOptions(deadline_s=extra.pop("deadline_s", 10.0), dns_server=zone.address,
                         ports=tuple(ports), cafile=ca_file, **extra)


def tried(detection, source=None, code=None):
    return [t for t in detection.tried
            if (source is None or t.source == source) and (code is None or t.code == code)]


def send_with(detection, zone, ca_file, credentials) -> bool:
    """Send a real email with the settings Detect chose, the server's name
    resolved through the test DNS server as Detect resolved it."""
    chosen = detection.chosen
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = credentials.user, "inbox@example.com", "Hi"
    message.set_content("Detected settings work.")
    session = _Session(SmtpDestination(chosen.host, chosen.port, chosen.security,
                                       username=chosen.username, password=credentials.password),
                       deadline_s=5, allow_private=True, cafile=ca_file, local_hostname=None,
                       resolver=AddressBook(DetectResolver(zone.address)))
    return session.run(message.as_bytes(), credentials.user, ["inbox@example.com"]).ok


# --- one domain for each way of finding settings -------------------------------------

def test_found_by_srv_records(dns_server, smtp_server, tls_for, ca_file, smtp_credentials, unused_port):
    server = smtp_server(hostname="127.0.0.11", tls_context=tls_for("submit.example.com"),
                         require_starttls=True, login=True)
    zone = dns_server(f"""
_submission._tcp.example.com. 300 IN SRV 0 1 {server.port} submit.example.com.
submit.example.com. 300 IN A 127.0.0.11
""")
    detection = detect_settings("sender@example.com",
                                options(zone, ca_file, [unused_port("127.0.0.11")]))

    chosen = detection.chosen
    assert (chosen.source, chosen.settings) == ("dns_srv", ("submit.example.com", server.port, "starttls"))
    assert chosen.username == "sender@example.com"
    assert chosen.evidence[0].facts["name"] == "_submission._tcp.example.com"
    # The SRV target inside the domain was probed on its own port: it answered with STARTTLS.
    answered = [e for e in chosen.evidence if e.code == "probe_answer"]
    if answered:  # the answer may be settled before the probe ends
        assert answered[0].facts["answered"] == "starttls"
    assert zone.asked("_submissions._tcp.example.com", "SRV")
    assert send_with(detection, zone, ca_file, smtp_credentials)
    assert server.received[0].tls and server.received[0].authenticated


def test_found_by_mx_mapped_to_a_provider_of_the_table(dns_server, smtp_server, tls_for, ca_file,
                                                       smtp_credentials, fault_server, fault_scripts):
    server = smtp_server(hostname="127.0.0.12", tls_context=tls_for("smtp.mapped-mail.test"),
                         require_starttls=True, login=True)
    mapped = Provider("Mapped Mail", ("mapped-mail.test",), login="password",
                      smtp=(SmtpEndpoint("smtp.mapped-mail.test", server.port, "starttls"),),
                      mailboxes=(Mailboxes(SmtpEndpoint("smtp.mapped-mail.test", server.port, "starttls"),
                                           mx_suffixes=("mx.mapped-mail.test",)),))
    # The customer's own servers do not exist; the provider's host is never contacted.
    zone = dns_server("""
example.com. 300 IN MX 10 in1.mx.mapped-mail.test.
example.com. 300 IN MX 20 in2.mx.mapped-mail.test.
smtp.mapped-mail.test. 300 IN A 127.0.0.12
""")
    detection = detect_settings("sender@example.com",
                                options(zone, ca_file, [465, 587], providers=(mapped,)))

    chosen = detection.chosen
    assert (chosen.source, chosen.provider) == ("dns_mx", "Mapped Mail")
    assert chosen.settings == ("smtp.mapped-mail.test", server.port, "starttls")
    assert chosen.evidence[0].facts["host"] == "in1.mx.mapped-mail.test"
    assert detection.provider == "Mapped Mail"
    assert not zone.asked("smtp.mapped-mail.test")   # only the send below looks it up
    assert send_with(detection, zone, ca_file, smtp_credentials)
    assert len(server.received) == 1


def test_mx_of_microsoft_365_proposes_its_server_and_sign_in(dns_server, ca_file):
    zone = dns_server("contoso.test. 300 IN MX 0 contoso-test.mail.protection.outlook.com.")
    detection = detect_settings("anna@contoso.test", options(zone, ca_file, [465]))

    assert detection.chosen.settings == ("smtp.office365.com", 587, "starttls")
    assert (detection.chosen.sign_in, detection.chosen.username) == ("microsoft", "anna@contoso.test")


def test_found_by_autoconfig(dns_server, smtp_server, tls_for, ca_file, autoconfig_server,
                             autoconfig_documents, smtp_credentials):
    server = smtp_server(hostname="127.0.0.13", tls_context=tls_for("out.example.com"),
                         require_starttls=True, login=True)
    https = autoconfig_server(("autoconfig.example.com", "example.com"), host="127.0.0.13",
                              autoconfig=autoconfig_documents.good(host="out.%EMAILDOMAIN%",
                                                                   port=server.port))
    zone = dns_server("""
autoconfig.example.com. 300 IN A 127.0.0.13
out.example.com. 300 IN A 127.0.0.13
""")
    detection = detect_settings("sender@example.com", options(zone, ca_file, [465],
                                                              https_port=https.port))

    chosen = detection.chosen
    assert (chosen.source, chosen.settings) == ("autoconfig", ("out.example.com", server.port, "starttls"))
    assert chosen.username == "sender@example.com"
    assert https.requests[0][0] == "/mail/config-v1.1.xml?emailaddress=sender%40example.com"
    # Settled once the document is in: a probe of its server may or may not have ended.
    assert [e.facts["answered"] for e in chosen.evidence if e.code == "probe_answer"] in (
        [], ["starttls"])
    assert send_with(detection, zone, ca_file, smtp_credentials)


def test_found_only_by_probing_with_465_silent_587_starttls_and_25_closed(
        dns_server, smtp_server, tls_for, ca_file, fault_server, fault_scripts, unused_port):
    silent = fault_server(fault_scripts.silent, host="127.0.0.14")
    starttls = smtp_server(hostname="127.0.0.14", tls_context=tls_for("smtp.probe.test"),
                           require_starttls=True, login=True)
    closed = unused_port("127.0.0.14")
    zone = dns_server("smtp.probe.test. 300 IN A 127.0.0.14")

    started = time.monotonic()
    detection = detect_settings("sender@probe.test",
                                options(zone, ca_file, [silent.port, starttls.port, closed]))
    elapsed = time.monotonic() - started

    chosen = detection.chosen
    assert (chosen.source, chosen.settings) == ("probe", ("smtp.probe.test", starttls.port, "starttls"))
    assert chosen.evidence[0].facts["auth"] == ["LOGIN", "PLAIN"]
    # Silent ports are given up on in parallel, after 3 s, not the whole deadline.
    assert 2.5 < elapsed < 4.5
    by_port = {t.facts["port"]: t for t in tried(detection, "probe") if t.facts.get("host") == "smtp.probe.test"}
    assert (by_port[silent.port].code, by_port[silent.port].facts["seconds"]) == ("timed_out", 3.0)
    assert by_port[closed].code == "connection_refused"
    assert by_port[starttls.port].code == "answered"
    assert silent.connections >= 1 and silent.commands == []   # never a word sent to it
    assert {t.code for t in tried(detection, "probe") if t.facts["host"] == "mail.probe.test"} == {
        "name_not_found"}
    # Every lookup, the addresses of the hosts probed too, went to the test DNS server.
    assert zone.asked("smtp.probe.test", "A")


def test_tls_from_the_first_byte_is_found_by_what_the_server_does(dns_server, smtp_server, tls_for,
                                                                  ca_file):
    context = tls_for("smtp.tls.test")
    implicit = smtp_server(hostname="127.0.0.15", ssl_context=context, login=True)
    starttls = smtp_server(hostname="127.0.0.15", tls_context=context, require_starttls=True,
                           login=True)
    zone = dns_server("smtp.tls.test. 300 IN A 127.0.0.15")
    # The ports are not 465 and 587: only the servers' behaviour tells them apart.
    detection = detect_settings("sender@tls.test",
                                options(zone, ca_file, [starttls.port, implicit.port]))

    assert detection.chosen.settings == ("smtp.tls.test", implicit.port, "tls")
    answers = {t.facts["port"]: t.facts["answered"] for t in tried(detection, "probe", "answered")}
    assert answers == {implicit.port: "tls", starttls.port: "starttls"}
    assert detection.candidates[1].settings == ("smtp.tls.test", starttls.port, "starttls")


def test_a_certificate_that_fails_is_reported_not_trusted(dns_server, smtp_server, tls_for, ca_file):
    wrong = smtp_server(hostname="127.0.0.16", tls_context=tls_for("other.example"),
                        require_starttls=True)
    zone = dns_server("smtp.cert.test. 300 IN A 127.0.0.16")
    detection = detect_settings("sender@cert.test", options(zone, ca_file, [wrong.port]))

    assert detection.chosen is None
    failure = next(t for t in tried(detection, "probe") if t.facts["host"] == "smtp.cert.test")
    assert failure.code == "certificate_wrong_host"


def test_a_domain_with_nothing(dns_server, ca_file, unused_port):
    zone = dns_server("")
    started = time.monotonic()
    detection = detect_settings("anna@nothing.test", options(zone, ca_file, [unused_port()]))

    assert not detection.found and detection.candidates == ()
    assert time.monotonic() - started < 2
    codes = {(t.source, t.code) for t in detection.tried}
    assert {("provider_table", "not_listed"), ("dns_srv", "nxdomain"), ("dns_mx", "nxdomain"),
            ("autoconfig", "name_not_found"), ("probe", "name_not_found")} <= codes


def test_the_provider_table_answers_at_once_without_the_network(dns_server, ca_file):
    zone = dns_server("")
    detection = detect_settings("Someone@GMAIL.com", options(zone, ca_file, [465]))

    assert detection.chosen.settings == ("smtp.gmail.com", 587, "starttls")
    assert (detection.chosen.source, detection.chosen.sign_in) == ("provider_table", "google")
    assert detection.elapsed_ms < 100 and zone.queries == []


def test_proton_addresses_have_no_server_to_propose(dns_server, ca_file):
    detection = detect_settings("anna@proton.me", options(dns_server(""), ca_file, [465]))
    assert detection.chosen is None and detection.note_key == "proton_bridge"
    assert detection.tried[0].code == "no_server"


# --- hostile autoconfig documents, refused without harm ---------------------------------

@pytest.mark.parametrize("document, code", [
    ("billion_laughs", "forbidden_xml"),
    ("huge", "too_large"),
])
def test_hostile_autoconfig_documents_are_refused(dns_server, ca_file, autoconfig_server,
                                                  autoconfig_documents, unused_port, document, code):
    https = autoconfig_server(("autoconfig.hostile.test", "hostile.test"), host="127.0.0.17",
                              autoconfig=getattr(autoconfig_documents, document),
                              well_known=getattr(autoconfig_documents, document))
    zone = dns_server("autoconfig.hostile.test. 300 IN A 127.0.0.17\nhostile.test. 300 IN A 127.0.0.17")
    started = time.monotonic()
    detection = detect_settings("anna@hostile.test", options(zone, ca_file, [unused_port()],
                                                             https_port=https.port))

    assert detection.chosen is None
    assert [t.code for t in tried(detection, "autoconfig")] == [code, code]
    assert time.monotonic() - started < 3


def test_an_autoconfig_redirect_to_another_host_is_not_followed(dns_server, ca_file, autoconfig_server,
                                                               autoconfig_documents, unused_port):
    from autoconfig_server import redirect
    elsewhere = autoconfig_server(("elsewhere.test",), host="127.0.0.18",
                                  autoconfig=autoconfig_documents.good())
    https = autoconfig_server(("autoconfig.moved.test",), host="127.0.0.17",
                              autoconfig=redirect(elsewhere.url()))
    zone = dns_server("autoconfig.moved.test. 300 IN A 127.0.0.17\nelsewhere.test. 300 IN A 127.0.0.18")
    detection = detect_settings("anna@moved.test", options(zone, ca_file, [unused_port()],
                                                           https_port=https.port))

    first = tried(detection, "autoconfig")[0]
    assert first.code == "redirect_off_host"
    assert first.facts["location"].startswith("https://elsewhere.test:")
    assert elsewhere.requests == []


def test_a_host_outside_the_domain_is_proposed_but_never_contacted(dns_server, ca_file, fault_server,
                                                                   fault_scripts):
    outside = fault_server(fault_scripts.smtp(), host="127.0.0.19")
    zone = dns_server(f"""
_submissions._tcp.named.test. 300 IN SRV 0 0 {outside.port} smtp.elsewhere.test.
smtp.elsewhere.test. 300 IN A 127.0.0.19
""")
    detection = detect_settings("anna@named.test", options(zone, ca_file, [outside.port]))

    assert detection.chosen.settings == ("smtp.elsewhere.test", outside.port, "tls")
    assert tried(detection, "probe", "outside_domain")[0].facts["host"] == "smtp.elsewhere.test"
    time.sleep(0.2)
    assert outside.connections == 0


def test_private_addresses_are_refused_when_the_setting_forbids_them(dns_server, smtp_server, tls_for,
                                                                     ca_file):
    server = smtp_server(hostname="127.0.0.20", tls_context=tls_for("smtp.lan.test"))
    zone = dns_server("smtp.lan.test. 300 IN A 127.0.0.20\nautoconfig.lan.test. 300 IN A 127.0.0.20")
    detection = detect_settings("anna@lan.test", options(zone, ca_file, [server.port],
                                                         allow_private=False))

    assert detection.chosen is None
    assert [t.code for t in tried(detection, "probe") if t.facts["host"] == "smtp.lan.test"] == [
        "destination_forbidden"]
    assert tried(detection, "autoconfig")[0].code == "destination_forbidden"


def test_a_silent_dns_server_ends_at_the_deadline(dns_server, ca_file, unused_port):
    zone = dns_server("", silent=["slow.test"])
    started = time.monotonic()
    detection = detect_settings("anna@slow.test", options(zone, ca_file, [unused_port()],
                                                          deadline_s=1.5))

    assert time.monotonic() - started < 2.2
    assert detection.chosen is None
    assert {t.code for t in tried(detection, "dns_srv")} <= {"timeout", "unfinished"}


def test_ports_setting():
    assert parse_ports("465, 587,25,587") == (465, 587, 25)
    for text in ("", "0", "465,x", "70000"):
        with pytest.raises(ValueError):
            parse_ports(text)


def test_an_address_without_a_domain_is_refused():
    with pytest.raises(ValueError):
        detect_settings("no-at-sign")
