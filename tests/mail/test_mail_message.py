import email
import email.policy
import email.utils

import pytest

from webapp.mail.message import build_message, message_bytes, safe_filename


def parse(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message_bytes(message), policy=email.policy.default)


def make(**overrides):
    fields = dict(
        from_address="Ana Novak <ana@example.com>",
        to=["bob@example.org", '"Doe, John" <john@example.net>'],
        subject="Račun št. 42 — 請求書",
        body="Pozdravljeni,\nv prilogi je račun.\n日本語も。\n",
        reply_to="replies@example.com",
    )
    fields.update(overrides)
    return build_message(**fields)


def test_headers_and_body_survive_the_wire():
    parsed = parse(make())

    assert parsed.get_all("Reply-To") == ["replies@example.com"]
    assert "Bcc" not in parsed
    assert parsed["Subject"] == "Račun št. 42 — 請求書"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["bob@example.org", "john@example.net"]
    assert parsed["From"].addresses[0].display_name == "Ana Novak"
    date = email.utils.parsedate_to_datetime(parsed["Date"])
    assert date.tzinfo is not None
    assert parsed["Message-ID"].startswith("<") and parsed["Message-ID"].endswith("@example.com>")
    body = parsed.get_body(("plain",))
    assert body.get_content_type() == "text/plain"
    assert body.get_content_charset() == "utf-8"
    # Text is canonically CRLF on the wire, also inside base64.
    assert body.get_content().replace("\r\n", "\n") == "Pozdravljeni,\nv prilogi je račun.\n日本語も。\n"


def test_wire_format_is_seven_bit_with_crlf():
    data = message_bytes(make())
    assert data.isascii()
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_no_reply_to_unless_given():
    assert "Reply-To" not in parse(make(reply_to=None))


def test_message_id_domain_can_be_chosen_and_idn_is_punycoded():
    assert parse(make(message_id_domain="mail.example.net"))["Message-ID"].endswith("@mail.example.net>")
    parsed = parse(make(from_address="Žan <zan@šola.si>"))
    assert parsed["From"].addresses[0].addr_spec == "zan@xn--ola-zza.si"
    assert parsed["Message-ID"].endswith("@xn--ola-zza.si>")


@pytest.mark.parametrize("breaker", ["\r", "\n", "\r\n", "\0", "\u2028", "\u2029", "\x85", "\x0b"])
@pytest.mark.parametrize("field", ["subject", "from_address", "reply_to", "to"])
def test_header_injection_is_refused(field, breaker):
    value = {
        "subject": f"Hello{breaker}Bcc: victim@example.com",
        "from_address": f"ana@example.com{breaker}Bcc: victim@example.com",
        "reply_to": f"replies@example.com{breaker}X-Evil: 1",
        "to": [f"bob@example.org{breaker}Bcc: victim@example.com"],
    }[field]
    with pytest.raises(ValueError):
        make(**{field: value})


@pytest.mark.parametrize("bad", ["not an address", "a@b.example, c@d.example", "a@", ""])
def test_each_recipient_must_be_one_address(bad):
    with pytest.raises(ValueError):
        make(to=[bad])


def test_recipients_are_required():
    with pytest.raises(ValueError):
        make(to=[])


def test_attachment_round_trip():
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 10
    parsed = parse(make(attachments=[("../../Računi/račun 42.pdf", pdf, "application/pdf")]))
    assert parsed.get_content_type() == "multipart/mixed"
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "račun 42.pdf"
    assert attachment.get_content() == pdf
    assert parsed.get_body(("plain",)).get_content().startswith("Pozdravljeni")


def test_unknown_mime_type_falls_back_to_octet_stream():
    parsed = parse(make(attachments=[("x.bin", b"\x00\x01", "not a type")]))
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "application/octet-stream"


@pytest.mark.parametrize("given, expected", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\ana\\Rechnung.pdf", "Rechnung.pdf"),
    ('a"b\'c`.pdf', "abc.pdf"),
    ("in\r\nject.pdf", "inject.pdf"),
    ("tab\there.pdf", "tabhere.pdf"),
    ("请求书 Račun.pdf", "请求书 Račun.pdf"),
    ("\u202eevil.pdf", "evil.pdf"),
    ("line\u2028break.pdf", "linebreak.pdf"),
    ("", "document.pdf"),
    ("...", "document.pdf"),
    ("/", "document.pdf"),
    (None, "document.pdf"),
])
def test_safe_filename(given, expected):
    assert safe_filename(given) == expected


def test_safe_filename_keeps_the_extension_when_shortening():
    name = safe_filename("a" * 400 + ".pdf")
    assert len(name) <= 150 and name.endswith(".pdf")


def test_a_bcc_header_never_goes_on_the_wire():
    message = make()
    message["Bcc"] = "hidden@example.com"
    data = message_bytes(message)
    assert b"hidden@example.com" not in data
    assert b"Bcc" not in data
    assert message["Bcc"] == "hidden@example.com"  # the caller's object is left alone
