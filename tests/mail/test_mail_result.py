import re

import pytest

from webapp.mail.attempt import Attempt
from webapp.mail.net import connect_error_diagnosis, is_forbidden_address, is_loopback_host
from webapp.mail.providers import provider_for_host
from webapp.mail.result import CODES, Diagnosis, shorten


def test_codes_are_unique_snake_case():
    assert len(CODES) == len(set(CODES))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in CODES)


def test_diagnosis_refuses_unknown_codes():
    with pytest.raises(ValueError):
        Diagnosis("no_such_code", "connect")


@pytest.mark.parametrize("host, provider", [
    ("smtp.gmail.com", "Gmail"),
    ("SMTP.GMAIL.COM.", "Gmail"),
    ("gmail.com", "Gmail"),
    ("smtp.googlemail.com", "Gmail"),
    ("smtp-relay.google.com", "Gmail"),
    ("smtp.mail.yahoo.com", "Yahoo Mail"),
    ("smtp.ymail.com", "Yahoo Mail"),
    ("smtp.mail.yahoo.co.jp", "Yahoo! JAPAN"),
    ("yahoo.co.jp.evil.example", None),
    ("smtp.office365.com", "Microsoft 365"),
    ("smtp-mail.outlook.com", "Microsoft 365"),
    ("smtp.live.com", "Microsoft 365"),
    ("smtp.mail.me.com", "iCloud"),
    ("smtp.aol.com", "AOL"),
    ("smtp.zoho.eu", "Zoho Mail"),
    ("mail.gmx.net", "GMX"),
    ("smtp.fastmail.com", "Fastmail"),
    ("smtp.yandex.ru", "Yandex"),
    ("smtp.protonmail.ch", "Proton"),
    ("evilgmail.com", None),
    ("gmail.com.evil.example", None),
    ("mail.example.com", None),
    ("127.0.0.1", None),
    ("", None),
])
def test_provider_for_host(host, provider):
    assert provider_for_host(host) == provider


def test_shorten_makes_one_clean_line():
    text = shorten("550 5.1.1\r\nUser\x1b[31m unknown\x00\n" + "x" * 1000)
    assert "\r" not in text and "\n" not in text and "\x1b" not in text and "\x00" not in text
    assert text.startswith("550 5.1.1 User[31m unknown")
    assert len(text) <= 300 and text.endswith("…")
    assert shorten(None) is None
    assert shorten(b"250 ok \xff") == "250 ok \ufffd"


@pytest.mark.parametrize("host, provider", [("smtp.gmail.com", "Gmail"),
                                            ("smtp.mail.yahoo.co.jp", "Yahoo! JAPAN")])
def test_provider_is_a_fact_of_every_diagnosis_for_its_servers(attempt, host, provider):
    # Which codes it matters for is for the explain layer to say.
    known = attempt(1.0, host=host)
    assert known.diagnosis("login_refused", "login").facts["provider"] == provider
    assert known.diagnosis("certificate_untrusted", "tls").facts["provider"] == provider
    assert known.diagnosis("relay_denied", "recipient").facts == {"provider": provider}
    other = attempt(1.0, host="mail.example.com")
    assert "provider" not in other.diagnosis("login_refused", "login").facts


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1",
    "::1", "::", "fe80::1", "fe80::1%1", "fc00::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "64:ff9b::a00:1",
])
def test_non_global_addresses_are_forbidden(address):
    assert is_forbidden_address(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "::ffff:93.184.215.14"])
def test_global_addresses_are_allowed(address):
    # Only parsed, never contacted.
    assert not is_forbidden_address(address)


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True), ("127.8.9.10", True),
    ("::1", True), ("[::1]", True), ("::ffff:127.0.0.1", True),
    ("example.com", False), ("10.0.0.1", False), ("localhost.example.com", False),
])
def test_is_loopback_host(host, loopback):
    assert is_loopback_host(host) is loopback


def test_connect_errors_map_to_codes():
    refused = ConnectionRefusedError(111, "Connection refused")
    unreachable = OSError(101, "Network is unreachable")
    timeout = TimeoutError("timed out")
    assert connect_error_diagnosis([unreachable])[0] == "network_unreachable"
    assert connect_error_diagnosis([unreachable])[1] == {"errors": ["ENETUNREACH"]}
    assert connect_error_diagnosis([unreachable, refused])[0] == "connection_refused"
    assert connect_error_diagnosis([timeout, timeout])[0] == "timed_out"
    assert connect_error_diagnosis([timeout, unreachable])[0] == "network_unreachable"


def test_unexpected_errors_become_internal_error_not_exceptions():
    attempt = Attempt(1.0, host="mail.example.com")
    try:
        diagnosis = attempt.diagnose_exception("message", KeyError("bug"))
        assert (diagnosis.code, diagnosis.step) == ("internal_error", "message")
        assert diagnosis.facts == {"error": "KeyError"}
        assert attempt.diagnose_exception("message", ConnectionResetError()).code == "connection_dropped"
        assert attempt.diagnose_exception("greeting", TimeoutError()).code == "timed_out"
    finally:
        attempt.close()


def test_shorten_cuts_a_huge_text_before_cleaning_it():
    import time

    huge = "\x1b[31m" + "F" * 30_000_000
    started = time.monotonic()
    assert shorten(huge) == "[31m" + "F" * 295 + "…"
    assert shorten(huge.encode()) == "[31m" + "F" * 295 + "…"
    # Cleaning 30 million characters one by one takes seconds.
    assert time.monotonic() - started < 0.5
