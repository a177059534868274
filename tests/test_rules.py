"""The visibility rules, as plain Python."""
import pytest

from webapp import rules


def shown(values):
    return rules.visible_fields(rules.slot_states(values))


def test_smtp_is_the_default_and_hides_the_http_group():
    fields = shown({})
    assert {"smtp_host", "smtp_port", "username", "password"} <= fields
    assert "http_url" not in fields and "http_reply_to" not in fields


def test_http_shows_only_its_own_group():
    fields = shown({"protocol": "HTTP", "username": "someone"})
    assert fields == {"protocol", "http_url", "http_reply_to"}


@pytest.mark.parametrize("username, email_field_shown", [
    ("", True),
    ("office-sender", True),
    ("name@", True),
    ("not an@address here", True),
    ("accounts@example.com", False),
    ("  accounts@example.com  ", False),
    ("ucet@příklad.cz", False),
    # A local part the 7-bit message cannot carry makes a login name, not the sender.
    ("účet@příklad.cz", True),
])
def test_email_address_field_follows_the_username(username, email_field_shown):
    assert ("from_address" in shown({"protocol": "SMTP", "username": username})) is email_field_shown


@pytest.mark.parametrize("box, field", [
    ("copy_enabled", "copy_address"),
    ("reply_to_enabled", "reply_to_address"),
])
def test_each_checkbox_shows_its_address_field(box, field):
    assert field not in shown({"protocol": "SMTP"})
    assert field in shown({"protocol": "SMTP", box: "y"})
    assert field not in shown({"protocol": "HTTP", box: "y"})


@pytest.mark.parametrize("host, provider", [
    ("smtp.gmail.com", "Gmail"),
    ("SMTP.GMAIL.COM.", "Gmail"),
    ("smtp.mail.yahoo.com", "Yahoo Mail"),
    ("smtp.mail.yahoo.co.jp", "Yahoo! JAPAN"),
    ("smtp.office365.com", "Microsoft 365"),
    ("smtp-mail.outlook.com", "Microsoft 365"),
    ("smtp.mail.me.com", "iCloud"),
    ("mail.example.com", None),
    ("evilgmail.com", None),
    ("gmail.com.attacker.net", None),
])
def test_tls_warning_only_for_well_known_providers(host, provider):
    states = rules.slot_states({"smtp_host": host, "skip_tls_verify": "y"})
    assert states["tls_warning"] == provider
    assert rules.slot_states({"smtp_host": host})["tls_warning"] is None


@pytest.mark.parametrize("port, choice, security, note, security_field", [
    ("465", "", "tls", False, False),
    ("587", "", "starttls", False, False),
    ("25", "", "opportunistic", True, False),
    ("2525", "", None, False, True),
    ("2525", "opportunistic", "opportunistic", True, True),
    ("2525", "tls", "tls", False, True),
    ("not a port", "", None, False, False),
    ("70000", "", None, False, False),
])
def test_port_decides_security_and_the_unencrypted_note(port, choice, security, note, security_field):
    values = {"smtp_port": port, "smtp_security": choice}
    assert rules.security_for(rules.parse_port(port), choice) == security
    states = rules.slot_states(values)
    assert (states["port_note"] is not None) is note
    assert ("smtp_security" in rules.visible_fields(states)) is security_field


def test_nested_slots_hide_with_their_group():
    states = rules.slot_states({"protocol": "HTTP", "copy_enabled": "y"})
    assert states["copy_address"] is None
    assert "copy_address" not in rules.visible_fields(states)


def marker_set(states):
    return {rules.encode_state(slot, key) for slot, key in states.items() if key is not None}


def test_changed_slots_lists_only_what_differs():
    before = rules.slot_states({"username": "accounts@example.com"})
    after = rules.slot_states({"username": "office-sender"})
    assert rules.changed_slots(after, marker_set(before)) == ["from_address"]
    assert rules.changed_slots(before, marker_set(before)) == []


def test_changed_group_is_sent_whole_not_its_parts():
    before = rules.slot_states({"protocol": "HTTP"})
    after = rules.slot_states({"protocol": "SMTP", "copy_enabled": "y"})
    assert rules.changed_slots(after, marker_set(before)) == ["http", "smtp"]


def test_changed_warning_text_counts_as_a_change():
    before = rules.slot_states({"smtp_host": "smtp.gmail.com", "skip_tls_verify": "y"})
    after = rules.slot_states({"smtp_host": "smtp.mail.yahoo.com", "skip_tls_verify": "y"})
    assert rules.changed_slots(after, marker_set(before)) == ["tls_warning"]


def test_callers_own_slots_are_roots():
    states = {**rules.slot_states({}), "test_status": "changed"}
    assert rules.changed_slots(states, marker_set(rules.slot_states({}))) == ["test_status"]


def test_a_trusted_certificate_replaces_the_choice_not_to_verify():
    fingerprint = "ab" * 32
    plain = rules.slot_states({"smtp_host": "mail.example.lan", "skip_tls_verify": "y"})
    assert plain["tls_check"] == "" and plain["trusted_certificate"] is None
    trusted = rules.slot_states({"smtp_host": "mail.example.lan", "skip_tls_verify": "y",
                                 "trusted_certificate": fingerprint})
    assert trusted["tls_check"] is None and trusted["trusted_certificate"] == fingerprint
    fields = rules.visible_fields(trusted)
    assert "trusted_certificate" in fields and "skip_tls_verify" not in fields
    # Over HTTP there is no certificate to trust.
    assert "trusted_certificate" not in shown({"protocol": "HTTP",
                                               "trusted_certificate": fingerprint})
    # Trusting shows one slot and hides the other, nothing inside them.
    before = {rules.encode_state(slot, key) for slot, key in plain.items() if key is not None}
    assert rules.changed_slots(trusted, before) == ["tls_check", "trusted_certificate"]


@pytest.mark.parametrize("raw, port", [("587", 587), (" 465 ", 465), ("065535", 65535), ("0025", 25),
                                       ("65536", None), ("0", None), ("²", None), ("５８７", None),
                                       ("", None), (None, None)])
def test_parse_port_reads_what_validation_accepts(raw, port):
    from webapp import validation

    assert rules.parse_port(raw) == port
    try:
        accepted = validation.port(raw or "")
    except validation.Invalid:
        accepted = None
    assert accepted == port
