"""Detect's DNS lookups against a real DNS server on loopback (dnslib)."""

import random
import socket
import time
from collections import Counter

import pytest

from webapp.detect import findings
from webapp.detect.dns import (DetectResolver, Lookup, SrvRecord, is_within, order_srv,
                               parse_server, submission_services)
from webapp.detect.mx import provider_for_mx
from webapp.mail.providers import Mailboxes, Provider, SmtpEndpoint

ZONE = """
_submissions._tcp.srv.test.  300 IN SRV 0 1 465 smtp.srv.test.
_submission._tcp.srv.test.   300 IN SRV 0 1 587 smtp.srv.test.
smtp.srv.test.               300 IN A    127.0.0.2
smtp.srv.test.               300 IN AAAA ::1
mail.srv.test.               300 IN CNAME smtp.srv.test.

_submissions._tcp.none.test. 300 IN SRV 0 0 0 .
_submission._tcp.none.test.  300 IN SRV 0 0 0 .
none.test.                   300 IN MX  0 .

_submission._tcp.prio.test.  300 IN SRV 20 0 2587 second.prio.test.
_submission._tcp.prio.test.  300 IN SRV 10 0 1587 first.prio.test.
_submissions._tcp.prio.test. 300 IN SRV 20 0 2465 tls.prio.test.

m365.test.                   300 IN MX 0 m365-test.mail.protection.outlook.com.
google.test.                 300 IN MX 10 alt1.aspmx.l.google.com.
google.test.                 300 IN MX 1 aspmx.l.google.com.
mixed.test.                  300 IN MX 5 mx.filter.example.
mixed.test.                  300 IN MX 10 mx.zoho.eu.
v4only.test.                 300 IN A 127.0.0.3
"""


@pytest.fixture
def zone(dns_server):
    return dns_server(ZONE, silent=["silent.test"], servfail=["broken.test"])


@pytest.fixture
def resolver(zone):
    return DetectResolver(zone.address)


# --- SRV ------------------------------------------------------------------------

def test_srv_found_for_both_submission_services(resolver, zone):
    implicit = resolver.srv("_submissions._tcp.srv.test", 2.0)
    starttls = resolver.srv("_submission._tcp.srv.test", 2.0)

    assert implicit.ok and starttls.ok
    assert implicit.records == (SrvRecord(0, 1, 465, "smtp.srv.test"),)
    services = submission_services(implicit, starttls)
    # Same priority: TLS from the first byte goes first (RFC 8314).
    assert [(s.host, s.port, s.security) for s in services] == [
        ("smtp.srv.test", 465, "tls"), ("smtp.srv.test", 587, "starttls")]
    # The lookups really went to the loopback server.
    assert zone.asked("_submissions._tcp.srv.test", "SRV")
    assert zone.asked("_submission._tcp.srv.test", "SRV")


def test_srv_target_dot_means_no_service(resolver):
    found = resolver.srv("_submissions._tcp.none.test", 2.0)

    assert found.ok and found.no_service
    assert found.records == ()
    assert submission_services(found, resolver.srv("_submission._tcp.none.test", 2.0)) == []
    assert findings.srv_tried(found).code == "no_service"


def test_srv_priority_decides_across_both_services(resolver):
    services = submission_services(resolver.srv("_submissions._tcp.prio.test", 2.0),
                                   resolver.srv("_submission._tcp.prio.test", 2.0))

    assert [(s.host, s.port, s.security) for s in services] == [
        ("first.prio.test", 1587, "starttls"),   # priority 10 beats TLS at 20
        ("tls.prio.test", 2465, "tls"),
        ("second.prio.test", 2587, "starttls"),
    ]
    candidates = findings.from_srv(services, "Anna@Prio.test")
    assert candidates[0].settings == ("first.prio.test", 1587, "starttls")
    assert candidates[0].username == "Anna@Prio.test"
    assert candidates[0].evidence[0].facts["name"] == "_submission._tcp.prio.test"


def test_srv_weights_choose_proportionally_within_a_priority():
    records = [SrvRecord(0, 0, 1, "zero.test"), SrvRecord(0, 90, 2, "heavy.test"),
               SrvRecord(0, 10, 3, "light.test"), SrvRecord(5, 100, 4, "later.test")]
    rng = random.Random(7)
    firsts = Counter(order_srv(records, rng)[0].target for _ in range(2000))

    assert all(order_srv(records, rng)[-1].target == "later.test" for _ in range(50))
    assert 1600 < firsts["heavy.test"] < 1900
    assert 100 < firsts["light.test"] < 320
    # Weight 0 keeps a small chance, as RFC 2782 wants.
    assert 0 < firsts["zero.test"] < 60


def test_no_srv_records_is_no_answer_and_missing_name_is_nxdomain(resolver):
    # _tcp.srv.test exists (names below it), so SRV at it is an empty answer.
    assert resolver.srv("_tcp.srv.test", 2.0).failure == "no_answer"
    missing = resolver.srv("_submissions._tcp.nothing.test", 2.0)
    assert missing.failure == "nxdomain"
    assert findings.srv_tried(missing) == findings.Tried(
        "dns_srv", "nxdomain", {"name": "_submissions._tcp.nothing.test"})


def test_servfail_is_reported_not_raised(resolver):
    assert resolver.srv("_submissions._tcp.broken.test", 2.0).failure == "servfail"


def test_a_silent_server_gives_timeout_within_the_time_given(resolver, zone):
    started = time.monotonic()
    found = resolver.srv("_submissions._tcp.silent.test", 0.8)
    elapsed = time.monotonic() - started

    assert found.failure == "timeout"
    assert 0.7 < elapsed < 1.5
    assert zone.asked("_submissions._tcp.silent.test")


def test_no_time_left_asks_nothing(resolver, zone):
    assert resolver.mx("srv.test", 0).failure == "timeout"
    assert not zone.asked("srv.test", "MX")


def test_invalid_names_are_a_failure_not_an_exception(resolver):
    assert resolver.mx("a..test", 1.0).failure == "invalid_name"
    assert resolver.mx("x" * 64 + ".test", 1.0).failure == "invalid_name"


# --- MX -----------------------------------------------------------------------

def test_mx_of_microsoft_365_maps_to_microsoft365(resolver):
    found = resolver.mx("m365.test", 2.0)
    match = provider_for_mx([record.exchange for record in found.records])

    assert match.provider.name == "Microsoft 365"
    assert match.mailboxes.smtp == ("smtp.office365.com", 587, "starttls")
    assert match.host == "m365-test.mail.protection.outlook.com"
    assert match.unanimous
    assert findings.mx_tried(found, match).facts["provider"] == "Microsoft 365"


def test_mx_records_come_lowest_preference_first(resolver):
    found = resolver.mx("google.test", 2.0)

    assert [r.exchange for r in found.records] == ["aspmx.l.google.com", "alt1.aspmx.l.google.com"]
    assert provider_for_mx([r.exchange for r in found.records]).provider.name == "Gmail"


def test_mx_behind_an_unknown_filter_matches_but_not_unanimously(resolver):
    found = resolver.mx("mixed.test", 2.0)
    match = provider_for_mx([r.exchange for r in found.records])

    assert (match.provider.name, match.host, match.unanimous) == ("Zoho Mail", "mx.zoho.eu", False)
    assert match.mailboxes.smtp.host == "smtppro.zoho.eu"


def test_null_mx_means_no_mail_service(resolver):
    found = resolver.mx("none.test", 2.0)

    assert found.ok and found.no_service and found.records == ()
    assert findings.mx_tried(found, None).code == "no_service"


def test_mx_of_unknown_provider_is_no_provider(resolver):
    found = resolver.mx("nothing-here.test", 2.0)
    assert found.failure == "nxdomain"
    lookup = Lookup("own.test", "MX", (), None)
    assert findings.mx_tried(lookup, provider_for_mx(["mx.own.test"])).code == "no_provider"


@pytest.mark.parametrize("host, provider, server", [
    ("contoso-com.mail.protection.outlook.com", "Microsoft 365", "smtp.office365.com"),
    ("contosotest-com.o-v1.mx.microsoft", "Microsoft 365", "smtp.office365.com"),
    ("SMTP.GOOGLE.COM.", "Gmail", "smtp.gmail.com"),
    ("alt4.aspmx.l.google.com", "Gmail", "smtp.gmail.com"),
    ("aspmx3.googlemail.com", "Gmail", "smtp.gmail.com"),
    ("mx2.zoho.com", "Zoho Mail", "smtppro.zoho.com"),
    ("mx3.zoho.com.au", "Zoho Mail", "smtppro.zoho.com.au"),
    ("mx.zoho.jp", "Zoho Mail", "smtppro.zoho.jp"),
    ("mx01.mail.icloud.com", "iCloud", "smtp.mail.me.com"),
    ("mail.protonmail.ch", "Proton", "smtp.protonmail.ch"),
    # Whole labels only: look-alikes never match.
    ("evil-mail.protection.outlook.com.example", None, None),
    ("mx.zoho.com.example", None, None),
    ("smtp.google.com.evil.test", None, None),
    ("notgoogle.com", None, None),
])
def test_mx_hosts_of_the_provider_table(host, provider, server):
    match = provider_for_mx([host])
    assert (match.provider.name if match else None) == provider
    assert (match.mailboxes.smtp.host if match else None) == server


def test_the_table_can_come_from_the_caller():
    mapped = Provider("Mapped Mail", ("mapped.example",), smtp=(), login="password",
                      mailboxes=(Mailboxes(SmtpEndpoint("smtp.mapped.example", 2587, "starttls"),
                                           mx_suffixes=("mx.example",)),))
    match = provider_for_mx(["a.mx.example", "in.other.example"], (mapped,))
    assert match.provider is mapped and not match.unanimous
    assert provider_for_mx(["mx.example."], (mapped,)).unanimous
    assert provider_for_mx(["aspmx.l.google.com"], (mapped,)) is None


# --- addresses to connect to ---------------------------------------------------

def test_resolve_addresses_gives_getaddrinfo_shapes_from_the_named_server(resolver, zone):
    found = resolver.resolve_addresses("smtp.srv.test", 2525, 2.0)

    assert found.ok
    assert found.records == ((socket.AF_INET, ("127.0.0.2", 2525)),
                             (socket.AF_INET6, ("::1", 2525, 0, 0)))
    assert zone.asked("smtp.srv.test", "A") and zone.asked("smtp.srv.test", "AAAA")


def test_resolve_addresses_follows_a_cname(resolver):
    found = resolver.resolve_addresses("mail.srv.test", 25, 2.0)
    assert (socket.AF_INET, ("127.0.0.2", 25)) in found.records


def test_resolve_addresses_with_only_ipv4(resolver):
    found = resolver.resolve_addresses("v4only.test", 465, 2.0)
    assert found.ok and found.records == ((socket.AF_INET, ("127.0.0.3", 465)),)


def test_resolve_addresses_failures(resolver, zone):
    assert resolver.resolve_addresses("missing.srv.test", 25, 2.0).failure == "nxdomain"
    assert resolver.resolve_addresses("silent.test", 25, 0.5).failure == "timeout"


def test_an_ip_literal_is_not_looked_up(resolver, zone):
    found = resolver.resolve_addresses("::1", 587, 2.0)
    assert found.records == ((socket.AF_INET6, ("::1", 587, 0, 0)),)
    assert zone.queries == []


def test_a_truncated_udp_answer_is_asked_again_over_tcp(dns_server):
    zone = dns_server("big.test. 300 IN A 127.0.0.9", truncate_udp=True)
    found = DetectResolver(zone.address).resolve_addresses("big.test", 25, 2.0)

    assert found.records[0] == (socket.AF_INET, ("127.0.0.9", 25))
    assert ("big.test", "A", "tcp") in zone.queries


# --- configuration ---------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1", ("127.0.0.1", 53)),
    ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)),
    ("[::1]:5353", ("::1", 5353)),
    (" [2001:db8::1] ", ("2001:db8::1", 53)),
])
def test_parse_server(text, expected):
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:0", "127.0.0.1:x", "[::1]5353", ""])
def test_parse_server_refuses(text):
    with pytest.raises(ValueError):
        parse_server(text)


def test_is_within():
    assert is_within("smtp.Example.com.", "example.com")
    assert is_within("example.com", "example.com")
    assert not is_within("badexample.com", "example.com")
    assert not is_within("example.com", "")
