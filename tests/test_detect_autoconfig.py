"""The autoconfig document: where to fetch it, hardened parsing, and the
loopback https server that serves documents to the integration's tests."""

import http.client
import socket
import ssl
import time
from urllib.parse import urlsplit

import pytest

from autoconfig_server import BILLION_LAUGHS
from webapp.detect import findings
from webapp.detect.autoconfig import (MAX_DOCUMENT_BYTES, OutgoingServer, autoconfig_urls,
                                      parse_autoconfig)

ADDRESS = "Anna.Novak@Example.COM"

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="imap">
      <hostname>imap.example.com</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.%EMAILDOMAIN%</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>submit.example.com</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def outgoing(*servers: str) -> bytes:
    body = "".join(f'<outgoingServer type="smtp">{server}</outgoingServer>' for server in servers)
    return f'<clientConfig version="1.1"><emailProvider id="x">{body}</emailProvider></clientConfig>'.encode()


def test_urls_to_try_in_order():
    first, second = autoconfig_urls("anna+news@Example.COM")

    assert first == ("https://autoconfig.example.com/mail/config-v1.1.xml"
                     "?emailaddress=anna%2Bnews%40Example.COM")
    assert second == "https://example.com/.well-known/autoconfig/mail/config-v1.1.xml"


def test_urls_on_a_test_port():
    assert autoconfig_urls("anna@example.test", https_port=8443) == (
        "https://autoconfig.example.test:8443/mail/config-v1.1.xml?emailaddress=anna%40example.test",
        "https://example.test:8443/.well-known/autoconfig/mail/config-v1.1.xml")


def test_urls_of_an_international_domain_use_its_ascii_form():
    first, second = autoconfig_urls("ana@bücher.example")
    assert second == "https://xn--bcher-kva.example/.well-known/autoconfig/mail/config-v1.1.xml"
    assert first.startswith("https://autoconfig.xn--bcher-kva.example/")


@pytest.mark.parametrize("address", ["no-at-sign", "@example.com", "anna@", "anna@a..b"])
def test_urls_refuse_unusable_addresses(address):
    with pytest.raises(ValueError):
        autoconfig_urls(address)


def test_good_document_gives_its_outgoing_servers_filled_in():
    result = parse_autoconfig(GOOD, ADDRESS)

    assert result.ok
    assert result.servers == (
        OutgoingServer("smtp.example.com", 465, "tls", ADDRESS, "address",
                       ("oauth2", "password")),
        OutgoingServer("submit.example.com", 587, "starttls", "Anna.Novak", "local_part",
                       ("password",)),
    )
    # The incoming server is never taken for an outgoing one.
    assert all("imap" not in server.host for server in result.servers)


def test_candidates_from_the_document():
    url = autoconfig_urls(ADDRESS)[0]
    candidates = findings.from_autoconfig(parse_autoconfig(GOOD, ADDRESS), url)

    assert [c.settings for c in candidates] == [("smtp.example.com", 465, "tls"),
                                               ("submit.example.com", 587, "starttls")]
    # What the document says about signing in stays evidence: the sign-in
    # method to propose comes from the provider table only.
    assert [c.evidence[0].facts["authentication"] for c in candidates] == [
        ["oauth2", "password"], ["password"]]
    assert [c.sign_in for c in candidates] == [None, None]
    assert candidates[0].evidence[0].facts["url"] == url
    assert findings.autoconfig_tried(parse_autoconfig(GOOD, ADDRESS), url).code == "found"


@pytest.mark.parametrize("template, username, rule", [
    ("%EMAILADDRESS%", ADDRESS, "address"),
    ("%EMAILLOCALPART%", "Anna.Novak", "local_part"),
    ("%EMAILLOCALPART%@mail.%EMAILDOMAIN%", "Anna.Novak@mail.example.com", "pattern"),
    ("relay-user", "relay-user", "fixed"),
    ("%REALNAME%", None, None),         # nothing we can fill in
    ("", None, None),
])
def test_username_patterns(template, username, rule):
    result = parse_autoconfig(outgoing(
        f"<hostname>smtp.example.com</hostname><port>587</port><socketType>STARTTLS</socketType>"
        f"<username>{template}</username>"), ADDRESS)

    assert (result.servers[0].username, result.servers[0].username_rule) == (username, rule)


@pytest.mark.parametrize("socket_type, security", [
    ("SSL", "tls"), ("STARTTLS", "starttls"), ("plain", "opportunistic")])
def test_socket_types(socket_type, security):
    result = parse_autoconfig(outgoing(
        f"<hostname>smtp.example.com</hostname><port>25</port><socketType>{socket_type}</socketType>"),
        ADDRESS)
    assert result.servers[0].security == security


def test_first_known_socket_type_wins():
    result = parse_autoconfig(outgoing(
        "<hostname>smtp.example.com</hostname><port>587</port>"
        "<socketType>QUANTUM</socketType><socketType>STARTTLS</socketType><socketType>SSL</socketType>"),
        ADDRESS)
    assert result.servers[0].security == "starttls"


@pytest.mark.parametrize("server, problem", [
    ("<hostname>smtp.example.com</hostname><port>0</port><socketType>SSL</socketType>", "bad_port"),
    ("<hostname>smtp.example.com</hostname><port>x</port><socketType>SSL</socketType>", "bad_port"),
    ("<hostname>smtp.example.com</hostname><socketType>SSL</socketType>", "bad_port"),
    ("<hostname>smtp.example.com</hostname><port>465</port>", "bad_socket_type"),
    ("<hostname>smtp.example.com/evil</hostname><port>465</port><socketType>SSL</socketType>",
     "bad_hostname"),
    ("<hostname>-bad.example.com</hostname><port>465</port><socketType>SSL</socketType>",
     "bad_hostname"),
    ("<hostname>%REALNAME%.example.com</hostname><port>465</port><socketType>SSL</socketType>",
     "bad_hostname"),
    ("<hostname>localhost</hostname><port>465</port><socketType>SSL</socketType>", "bad_hostname"),
])
def test_unusable_servers_are_skipped(server, problem):
    result = parse_autoconfig(outgoing(server), ADDRESS)

    assert result.failure == "no_outgoing_server"
    assert result.facts["skipped"] == [problem]


def test_an_unusable_server_does_not_hide_a_good_one():
    result = parse_autoconfig(outgoing(
        "<hostname>bad host</hostname><port>465</port><socketType>SSL</socketType>",
        "<hostname>smtp.example.com</hostname><port>465</port><socketType>SSL</socketType>"),
        ADDRESS)
    assert [s.host for s in result.servers] == ["smtp.example.com"]
    assert result.facts["skipped"] == ["bad_hostname"]


def test_only_smtp_outgoing_servers():
    document = outgoing().replace(b"</emailProvider>", b'<outgoingServer type="ews">'
                                  b"<hostname>ews.example.com</hostname><port>443</port>"
                                  b"<socketType>SSL</socketType></outgoingServer></emailProvider>")
    assert parse_autoconfig(document, ADDRESS).facts["skipped"] == ["not_smtp"]


def test_a_namespaced_document_is_the_same_document():
    document = GOOD.replace(b'<clientConfig version="1.1">',
                            b'<clientConfig xmlns="http://example.com/ns" version="1.1">')
    assert len(parse_autoconfig(document, ADDRESS).servers) == 2


# --- hostile documents ---------------------------------------------------------------

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY host SYSTEM "file:///etc/hostname">]>
<clientConfig version="1.1"><emailProvider id="x"><outgoingServer type="smtp">
<hostname>&host;</hostname><port>465</port><socketType>SSL</socketType>
</outgoingServer></emailProvider></clientConfig>
"""

DOCTYPE_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig SYSTEM "http://127.0.0.1:9/evil.dtd">
<clientConfig version="1.1"/>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, DOCTYPE_ONLY],
                         ids=["billion-laughs", "external-entity", "external-dtd"])
def test_hostile_xml_is_refused_at_once(document):
    started = time.monotonic()
    result = parse_autoconfig(document, ADDRESS)

    assert result.failure == "forbidden_xml"
    assert result.servers == ()
    assert time.monotonic() - started < 0.5


def test_an_oversized_document_is_refused_unread():
    padding = b"<!-- " + b"x" * MAX_DOCUMENT_BYTES + b" -->"
    result = parse_autoconfig(GOOD.replace(b"<clientConfig", padding + b"<clientConfig", 1), ADDRESS)

    assert result.failure == "too_large"
    assert result.facts == {"limit_bytes": MAX_DOCUMENT_BYTES}


def test_a_document_at_the_limit_is_read():
    padding = b"<!-- " + b"x" * (MAX_DOCUMENT_BYTES - len(GOOD) - 10) + b" -->\n"
    document = GOOD.replace(b"<clientConfig", padding + b"<clientConfig", 1)
    assert len(document) == MAX_DOCUMENT_BYTES
    assert parse_autoconfig(document, ADDRESS).ok


def test_ten_megabytes_are_refused():
    assert parse_autoconfig(b"<a>" + b"x" * (10 * 1024 * 1024) + b"</a>", ADDRESS).failure == "too_large"


@pytest.mark.parametrize("document, failure", [
    (b"", "not_xml"),
    (b"<html><body>Not found</body></html>", "not_autoconfig"),
    (b"<clientConfig><emailProvider>", "not_xml"),
    (b"\x00\x01binary", "not_xml"),
    (b'<clientConfig version="1.1"/>', "no_outgoing_server"),
])
def test_documents_that_are_not_autoconfig(document, failure):
    result = parse_autoconfig(document, ADDRESS)
    assert result.failure == failure
    assert findings.autoconfig_tried(result, "https://example.com/x").code == failure


def test_an_address_without_domain_is_refused():
    assert parse_autoconfig(GOOD, "anna").failure == "bad_address"


# --- the loopback https server the integration's tests will fetch from -----------------

class LoopbackHTTPS(http.client.HTTPSConnection):
    """Verifies the certificate for the URL's name while connecting to a
    loopback address, as an address-bound client does; no DNS involved."""

    def __init__(self, url: str, address: str, cafile: str):
        parts = urlsplit(url)
        super().__init__(parts.hostname, parts.port, timeout=5,
                         context=ssl.create_default_context(cafile=cafile))
        self.address = address
        self.target = parts.path + (f"?{parts.query}" if parts.query else "")

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)

    def fetch(self, limit: int = MAX_DOCUMENT_BYTES + 1) -> tuple[int, dict, bytes]:
        self.request("GET", self.target)
        response = self.getresponse()
        return response.status, dict(response.getheaders()), response.read(limit)


def test_the_good_document_over_verified_https(autoconfig_server, autoconfig_documents, ca_file):
    server = autoconfig_server(autoconfig=autoconfig_documents.good(port=2587))
    url = autoconfig_urls("anna@example.test", https_port=server.port)[0]

    status, headers, body = LoopbackHTTPS(url, server.host, ca_file).fetch()
    result = parse_autoconfig(body, "anna@example.test")

    assert status == 200 and headers["Content-Type"] == "application/xml"
    server_found = result.servers[0]
    assert (server_found.host, server_found.port, server_found.security) == (
        "smtp.example.test", 2587, "starttls")
    assert server.requests == [("/mail/config-v1.1.xml?emailaddress=anna%40example.test",
                                f"autoconfig.example.test:{server.port}", "autoconfig.example.test")]


def test_the_well_known_path_and_a_missing_document(autoconfig_server, autoconfig_documents, ca_file):
    server = autoconfig_server(well_known=autoconfig_documents.good())
    first, second = autoconfig_urls("anna@example.test", https_port=server.port)

    assert LoopbackHTTPS(first, server.host, ca_file).fetch()[0] == 404
    status, _, body = LoopbackHTTPS(second, server.host, ca_file).fetch()
    assert status == 200 and parse_autoconfig(body, "anna@example.test").ok
    assert server.requests[1][2] == "example.test"


def test_billion_laughs_served_and_refused(autoconfig_server, autoconfig_documents, ca_file):
    server = autoconfig_server(autoconfig=autoconfig_documents.billion_laughs)
    _, _, body = LoopbackHTTPS(server.url(), server.host, ca_file).fetch()

    assert parse_autoconfig(body, "anna@example.test").failure == "forbidden_xml"


@pytest.mark.parametrize("content_length", [True, False], ids=["announced", "unannounced"])
def test_ten_megabytes_served_and_refused_after_the_cap(autoconfig_server, autoconfig_documents,
                                                          ca_file, content_length):
    from autoconfig_server import Reply
    server = autoconfig_server(autoconfig=Reply(body=autoconfig_documents.huge,
                                                content_length=content_length))
    connection = LoopbackHTTPS(server.url(), server.host, ca_file)
    status, headers, body = connection.fetch()
    connection.close()

    assert len(autoconfig_documents.huge) == 10 * 1024 * 1024
    assert headers.get("Content-Length") == (str(10 * 1024 * 1024) if content_length else None)
    assert len(body) == MAX_DOCUMENT_BYTES + 1
    assert parse_autoconfig(body, "anna@example.test").failure == "too_large"
    # Well-formed and otherwise good: only the cap refuses it.
    assert parse_autoconfig(autoconfig_documents.huge, "anna@example.test",
                            limit=len(autoconfig_documents.huge)).ok


def test_a_redirect_to_another_host(autoconfig_server, autoconfig_documents, ca_file):
    from autoconfig_server import redirect
    elsewhere = autoconfig_server(("elsewhere.test",), autoconfig=autoconfig_documents.good())
    server = autoconfig_server(autoconfig=redirect(elsewhere.url()))

    status, headers, _ = LoopbackHTTPS(server.url(), server.host, ca_file).fetch()

    assert status == 302 and headers["Location"] == f"https://elsewhere.test:{elsewhere.port}" \
                                                    "/mail/config-v1.1.xml"
    assert elsewhere.requests == []   # a client that does not follow never gets there


def test_a_name_outside_the_certificate_fails_verification(autoconfig_server, ca_file):
    server = autoconfig_server(("autoconfig.example.test",), autoconfig=b"<x/>")

    with pytest.raises(ssl.SSLCertVerificationError):
        LoopbackHTTPS(server.url("autoconfig.other.test"), server.host, ca_file).fetch()
