"""Emailing a PDF document with the saved settings, and the history of sends."""
import base64
import html as htmlmod
import email
import email.policy
import io
import re
from datetime import datetime, timezone

import pytest
from babel.dates import format_datetime
from cryptography.fernet import Fernet

from helpers import HX, WORDS_FOR_TEST, assert_oob_error, element, text_of
from webapp import storage
from webapp.storage import SendRecord

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n"
       + b"0" * 2000 + b"\n%%EOF\n")


def save_smtp(client, server, credentials, **extra):
    response = client.post("/en/settings", data={
        "csrf_token": client.csrf_token, "protocol": "SMTP", "smtp_host": "127.0.0.1",
        "smtp_port": str(server.port), "smtp_security": "starttls",
        "username": credentials.user, "password": credentials.password,
        "copy_enabled": "y", "copy_address": "archive@example.com",
        "reply_to_enabled": "y", "reply_to_address": "replies@example.com",
        "action": "update-anyway", **extra})
    assert response.status_code == 302


def send(client, lang="en", pdf=PDF, filename="Invoice 42.pdf", headers=HX, **fields):
    data = {"csrf_token": client.csrf_token, "recipients": "customer@example.com",
            "subject": "Invoice 42", "message": "Hello,\nplease find the invoice attached.",
            "document": (io.BytesIO(pdf), filename), **fields}
    return client.post(f"/{lang}/documents", data=data, headers=headers,
                       content_type="multipart/form-data")


def test_before_saving_the_page_explains_and_links_to_the_settings(auth_client):
    settings_page = auth_client.get("/en/settings").get_data(as_text=True)
    assert "/en/documents" not in settings_page  # no Email action yet
    html = auth_client.get("/en/documents").get_data(as_text=True)
    assert "To email documents, first set up and save your email settings." in html
    assert 'href="/en/settings"' in html


def test_after_saving_the_email_action_appears(auth_client, smtp_server, server_tls, smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    save_smtp(auth_client, server, smtp_credentials)
    html = auth_client.get("/en/settings").get_data(as_text=True)
    assert html.count('href="/en/documents"') == 2  # navigation and beside Update


def test_document_is_sent_over_smtp_with_bcc_in_the_envelope_only(
        auth_client, smtp_server, server_tls, smtp_credentials, store):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    save_smtp(auth_client, server, smtp_credentials)
    response = send(auth_client, recipients="customer@example.com,\nsecond@example.com")
    html = response.get_data(as_text=True)
    assert "Invoice 42.pdf was sent to customer@example.com, second@example.com." in text_of(html)

    [mail] = server.received
    assert mail.rcpt_tos == ["customer@example.com", "second@example.com", "archive@example.com"]
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert message["Bcc"] is None and "archive@example.com" not in mail.content.decode("ascii", "replace")
    assert message.get_all("Reply-To") == ["replies@example.com"]
    assert message["Subject"] == "Invoice 42"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Invoice 42.pdf"
    assert attachment.get_content() == PDF

    [record] = store.sends()
    assert record.ok and record.recipients == ["customer@example.com", "second@example.com"]
    assert record.filename == "Invoice 42.pdf" and record.size == len(PDF)
    assert record.protocol == "SMTP" and record.diagnosis is None
    # The new row arrives out of band, in the recent sends.
    recent = element(html, "section", id="recent-sends")
    assert recent.attrs["hx-swap-oob"] == "true" and "Invoice 42.pdf" in recent.text


def test_document_is_sent_over_http(auth_client, http_server, store):
    server = http_server()
    auth_client.post("/en/settings", data={
        "csrf_token": auth_client.csrf_token, "protocol": "HTTP",
        "http_url": server.url("/send", userinfo="api:k3y"), "http_reply_to": "office@example.com",
        "action": "update-anyway"})
    html = send(auth_client).get_data(as_text=True)
    assert "Invoice 42.pdf was sent to customer@example.com." in text_of(html)
    [request] = server.requests
    body = request.json()
    assert body["to"] == ["customer@example.com"] and body["reply_to"] == "office@example.com"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"api:k3y").decode()
    message = email.message_from_bytes(base64.b64decode(body["message"]), policy=email.policy.default)
    assert message["Bcc"] is None
    assert [a.get_content() for a in message.iter_attachments()] == [PDF]
    assert store.sends()[0].protocol == "HTTP"


def test_a_failed_send_is_recorded_as_failed(auth_client, fault_server, fault_scripts, store):
    server = fault_server(fault_scripts.smtp(replies={"RCPT": "550 5.1.1 <customer@example.com>: no such user"}))
    auth_client.post("/en/settings", data={
        "csrf_token": auth_client.csrf_token, "protocol": "SMTP", "smtp_host": "127.0.0.1",
        "smtp_port": str(server.port), "smtp_security": "opportunistic",
        "from_address": "office@example.com", "action": "update-anyway"})
    html = send(auth_client).get_data(as_text=True)
    assert "The server refused the recipient" in text_of(html)
    [record] = store.sends()
    assert not record.ok and record.diagnosis == "recipient_refused"
    assert "no such user" in record.reply
    history = auth_client.get("/en/documents/history").get_data(as_text=True)
    assert "Not sent: The server refused the recipient" in text_of(history)


@pytest.mark.parametrize("pdf, filename, message", [
    (b"GIF89a not a pdf at all", "fake.pdf", "This file is not a PDF document. Choose a PDF file."),
    (b"%PDF-1.4 truncated without an end", "cut.pdf", "This file is not a PDF document. Choose a PDF file."),
    (b"%PDF-1.4\n" + b"0" * 5000 + b"\n%%EOF\n", "big.pdf", "This file is larger than 4 KB. Choose a smaller file."),
])
def test_bad_files_are_refused_before_any_connection(auth_client, app, fault_server, fault_scripts,
                                                      store, pdf, filename, message):
    app.config["MAX_PDF_BYTES"] = 4096
    server = fault_server(fault_scripts.smtp())
    auth_client.post("/en/settings", data={
        "csrf_token": auth_client.csrf_token, "protocol": "SMTP", "smtp_host": "127.0.0.1",
        "smtp_port": str(server.port), "smtp_security": "opportunistic",
        "from_address": "office@example.com", "action": "update-anyway"})
    html = send(auth_client, pdf=pdf, filename=filename).get_data(as_text=True)
    assert_oob_error(html, "document", message)
    assert server.connections == 0
    assert store.sends() == []


@pytest.mark.parametrize("fields, field, message", [
    ({"recipients": ""}, "recipients", "Fill in this field."),
    ({"recipients": "a@example.com, not-an-address"}, "recipients",
     "not-an-address: An email address needs an @, as in name@example.com."),
    ({"recipients": "a@example.com\r\nRCPT TO:<x@example.com>"}, "recipients",
     "RCPT TO:<x@example.com>: Enter the address alone"),
    ({"subject": "Hi\r\nBcc: victim@example.com"}, "subject",
     "Line breaks and control characters are not allowed here."),
    # (With a file, an empty subject is the file's name: see test_documents_a11y.py.)
    ({"subject": "", "document": (io.BytesIO(b""), "")}, "subject", "Fill in this field."),
    ({"message": "text\x00"}, "message", "Control characters are not allowed here."),
])
def test_invalid_fields_are_refused_before_any_connection(auth_client, fault_server, fault_scripts,
                                                          store, fields, field, message):
    server = fault_server(fault_scripts.smtp())
    auth_client.post("/en/settings", data={
        "csrf_token": auth_client.csrf_token, "protocol": "SMTP", "smtp_host": "127.0.0.1",
        "smtp_port": str(server.port), "smtp_security": "opportunistic",
        "from_address": "office@example.com", "action": "update-anyway"})
    html = send(auth_client, **fields).get_data(as_text=True)
    assert_oob_error(html, field, message)
    assert server.connections == 0 and store.sends() == []


def test_sending_without_javascript_renders_the_page(auth_client, smtp_server, server_tls,
                                                     smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    save_smtp(auth_client, server, smtp_credentials)
    response = send(auth_client, headers={})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert "Invoice 42.pdf was sent to customer@example.com." in text_of(html)


def test_history_is_newest_first_with_localized_times(auth_client, store):
    for day in (1, 2):
        store.record_send(SendRecord(at=datetime(2026, 3, day, 14, 5, tzinfo=timezone.utc),
                                     recipients=["a@example.com"], subject=f"Day {day}",
                                     filename="a.pdf", size=1000, protocol="SMTP", ok=True))
    html = auth_client.get("/en/documents/history").get_data(as_text=True)
    assert html.index("Day 2") < html.index("Day 1")
    assert "3/2/26, 2:05\u202fPM" in html
    for lang in ("sl", "ja", "es"):
        expected = format_datetime(datetime(2026, 3, 2, 14, 5, tzinfo=timezone.utc), "short",
                                   tzinfo=timezone.utc, locale=lang)
        assert expected != "3/2/26, 2:05\u202fPM"
        assert expected in auth_client.get(f"/{lang}/documents/history").get_data(as_text=True)


def test_a_secret_that_no_longer_decrypts_asks_for_the_password_again(
        auth_client, app, smtp_server, server_tls, smtp_credentials, store):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    save_smtp(auth_client, server, smtp_credentials)
    app.extensions["store"].use_keys(storage.keyring([Fernet.generate_key()]))
    html = send(auth_client).get_data(as_text=True)
    assert "The saved password can no longer be used." in text_of(html)
    assert server.received == []


def test_an_upload_far_over_the_limit_is_refused_in_place(auth_client, app, smtp_server,
                                                          server_tls, smtp_credentials):
    app.config["MAX_PDF_BYTES"] = 4096
    app.config["MAX_CONTENT_LENGTH"] = 8192
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    save_smtp(auth_client, server, smtp_credentials)
    response = send(auth_client, pdf=b"%PDF-1.4\n" + b"0" * 50_000 + b"\n%%EOF\n")
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#send-result"
    assert "This file is larger than 4 KB." in response.get_data(as_text=True)
    plain = send(auth_client, headers={}, pdf=b"%PDF-1.4\n" + b"0" * 50_000 + b"\n%%EOF\n")
    assert plain.status_code == 413 and "This file is larger than 4 KB." in plain.get_data(as_text=True)
    assert server.received == []


LANGS = list(WORDS_FOR_TEST)
WITH_STARTTLS = ("fault.test", "PIPELINING", "STARTTLS", "AUTH PLAIN LOGIN")


def bug_in_sendwell(monkeypatch):
    """An unexpected error in Sendwell's own code after the server accepted the message."""
    def broken(reply):
        raise KeyError("a bug")
    monkeypatch.setattr("webapp.mail.smtp_replies.parse_queue_id", broken)


@pytest.mark.parametrize("code, script, security, arrange", [
    ("internal_error", {}, "opportunistic", bug_in_sendwell),
    ("temporary_failure", {"replies": {"RCPT": "451 4.3.0 Mailbox busy, come back later"}},
     "opportunistic", None),
    ("connection_dropped", {"close_after_354": True}, "opportunistic", None),
    ("starttls_refused", {"ehlo": WITH_STARTTLS}, "starttls", None),
    ("message_refused", {"end_of_data": "554 5.7.1 Message rejected as spam"},
     "opportunistic", None),
])
def test_a_failed_send_is_never_called_a_test(auth_client, app, fault_server, fault_scripts,
                                              store, monkeypatch, code, script, security,
                                              arrange):
    app.config["RATELIMIT_MAIL"] = "1000 per minute"
    server = fault_server(fault_scripts.smtp(**script))
    auth_client.post("/en/settings", data={
        "csrf_token": auth_client.csrf_token, "protocol": "SMTP", "smtp_host": "127.0.0.1",
        "smtp_port": str(server.port), "smtp_security": security,
        "from_address": "office@example.com", "action": "update-anyway"})
    if arrange:
        arrange(monkeypatch)
    for lang in LANGS:
        html = send(auth_client, lang=lang).get_data(as_text=True)
        assert store.sends()[0].diagnosis == code, lang
        # The server's own words (in <code>) are its business, not Sendwell's.
        result = element(re.sub(r"<code[^>]*>.*?</code>", "", html), "div",
                         **{"class": "result result-failed"})
        assert result is not None and "result-failed" in result.attrs["class"], lang
        # The step, the explanation, the advice and the checklist: all of it.
        assert len(result.text) > 100, (lang, result.text)
        found = re.findall(WORDS_FOR_TEST[lang], result.text, re.IGNORECASE)
        assert found == [], (lang, found, result.text)


def message_field(html):
    """The Message field's text as the browser shows it (and sends it back: CRLF)."""
    raw = re.search(r'<textarea[^>]*name="message"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    return htmlmod.unescape(raw.removeprefix("\r\n").removeprefix("\n")).replace("\n", "\r\n")


def body_of(mail):
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


@pytest.mark.parametrize("lang, sent", [
    ("en", "Hello,\n\nPlease find attached the document Invoice 42.pdf.\n\nKind regards"),
    ("ja", "お世話になっております。\n\n書類（Invoice 42.pdf）を添付いたしましたので、ご確認ください。"
           "\n\nよろしくお願いいたします。"),
    ("sl", "Pozdravljeni,\n\nv prilogi je dokument Invoice 42.pdf.\n\nLep pozdrav"),
])
def test_the_suggested_message_is_sent_with_the_files_name(auth_client, smtp_server, server_tls,
                                                           smtp_credentials, lang, sent):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    save_smtp(auth_client, server, smtp_credentials)
    suggested = message_field(auth_client.get(f"/{lang}/documents").get_data(as_text=True))
    assert suggested.strip() and "Invoice 42.pdf" not in suggested
    # Left as it is, and left empty: both send the suggestion, naming the file.
    send(auth_client, lang=lang, message=suggested)
    send(auth_client, lang=lang, message="")
    assert [body_of(mail).strip() for mail in server.received] == [sent, sent]


def test_an_edited_message_is_sent_as_typed(auth_client, smtp_server, server_tls,
                                            smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    save_smtp(auth_client, server, smtp_credentials)
    suggested = message_field(auth_client.get("/en/documents").get_data(as_text=True))
    send(auth_client, message=suggested.replace("Kind regards", "Kind regards,\r\nAna"))
    [mail] = server.received
    assert body_of(mail).strip() == (
        "Hello,\n\nPlease find the attached document.\n\nKind regards,\nAna")
