"""Test email settings, end to end: the view, real servers on loopback, the fragment."""
import base64
import email
import email.policy
import html as htmlmod
import re

import pytest
from flask_babel import force_locale, gettext

from helpers import HX, assert_oob_error, element, post, relay_form, smtp_form, text_of
from webapp.diagnoses import EXPLANATIONS



def test_successful_test_lists_every_step_and_what_the_server_received(
        auth_client, smtp_server, server_tls, smtp_credentials, store):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    response = post(auth_client, "/en/settings/test", smtp_form(
        server, smtp_credentials, copy_enabled="y", copy_address="archive@example.com",
        reply_to_enabled="y", reply_to_address="replies@example.com",
        test_recipient="inbox@example.com"))
    html = response.get_data(as_text=True)
    text = text_of(html)
    assert response.status_code == 200
    assert "The test email was sent to inbox@example.com in" in text
    steps = re.findall(r'data-step="([a-z]+)"', html)
    # The copy address is a second recipient, in the envelope only.
    assert steps == ["resolve", "connect", "greeting", "ehlo", "starttls", "tls", "ehlo",
                     "login", "sender", "recipient", "recipient", "message"]
    assert re.search(r"TLSv1\.[23], certificate checked", text)
    assert "accepted, queue ID TESTQ123" in text
    assert smtp_credentials.password not in html

    [mail] = server.received
    assert mail.mail_from == smtp_credentials.user
    assert mail.rcpt_tos == ["inbox@example.com", "archive@example.com"]
    assert mail.tls and mail.authenticated
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert message.get_all("Reply-To") == ["replies@example.com"]
    assert message["Bcc"] is None
    assert message["Subject"] == "Sendwell test email"
    assert message["Date"] and message["Message-ID"]
    # The test status beside Update turns to passed, out of band.
    assert element(html, id="slot-test_status").attrs["hx-swap-oob"] == "true"
    assert re.search(r"Tested at [^<]+: passed\.", html)


def test_test_email_is_written_in_the_page_language(auth_client, smtp_server, server_tls,
                                                    smtp_credentials, app):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    post(auth_client, "/ja/settings/test", smtp_form(server, smtp_credentials))
    [mail] = server.received
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    with app.test_request_context(), force_locale("ja"):
        assert message["Subject"] == gettext("Sendwell test email") != "Sendwell test email"
    assert message.get_content_charset() == "utf-8"


@pytest.mark.parametrize("lang", ["en", "es", "ja"])
def test_refused_login_names_the_step_and_explains_in_the_page_language(
        auth_client, fault_server, fault_scripts, app, lang):
    server = fault_server(fault_scripts.smtp(
        replies={"AUTH": "535 5.7.8 Username and Password not accepted <b>hx-get</b>"}))
    response = post(auth_client, f"/{lang}/settings/test", relay_form(
        server, username="sender@example.com", password="wrong-password-xyz"))
    html = response.get_data(as_text=True)
    with app.test_request_context(), force_locale(lang):
        step = gettext("Sign in to the server")
        title = gettext("The server refused the username or password")
    assert (lang == "en") == (title == "The server refused the username or password")
    assert 'data-step="login"' in html
    assert htmlmod.escape(title, quote=False) in html or title in htmlmod.unescape(html)
    assert step in htmlmod.unescape(html)
    # Of the reply to AUTH only the codes are kept: its words may echo the password.
    assert "535 5.7.8" in html
    assert "hx-get" not in html and "Username and Password not accepted" not in html
    assert "wrong-password-xyz" not in html
    assert not any(line.startswith("AUTH PLAIN") and "wrong-password" in line
                   for line in server.commands)


def test_silent_server_times_out_in_place(auth_client, fault_server, fault_scripts):
    server = fault_server(fault_scripts.silent)
    html = post(auth_client, "/en/settings/test", {
        "protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": str(server.port),
        "smtp_security": "tls", "from_address": "office@example.com"}).get_data(as_text=True)
    text = text_of(html)
    assert "The server did not answer in time" in text
    assert "Tested at" in text and "failed." in text


def test_the_saved_password_is_used_for_the_same_destination(
        auth_client, smtp_server, server_tls, smtp_credentials, store):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    form = smtp_form(server, smtp_credentials)
    assert post(auth_client, "/en/settings", {**form, "action": "update-anyway"}, headers={}).status_code == 302
    html = post(auth_client, "/en/settings/test", {**form, "password": ""}).get_data(as_text=True)
    assert "The test email was sent" in text_of(html)
    assert server.received[0].authenticated


def test_a_changed_destination_never_receives_the_saved_password(
        auth_client, smtp_server, fault_server, fault_scripts, server_tls, smtp_credentials):
    good = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    form = smtp_form(good, smtp_credentials)
    post(auth_client, "/en/settings", {**form, "action": "update-anyway"}, headers={})
    elsewhere = fault_server(fault_scripts.smtp())
    html = post(auth_client, "/en/settings/test", {
        **form, "password": "", "smtp_port": str(elsewhere.port),
        "smtp_security": "opportunistic"}).get_data(as_text=True)
    assert "Correct the marked fields, then try again." in text_of(html)
    assert_oob_error(html, "password", "The server details changed")
    assert elsewhere.connections == 0


def test_invalid_input_is_marked_out_of_band_and_nothing_is_sent(auth_client, fault_server,
                                                                  fault_scripts):
    server = fault_server(fault_scripts.smtp())
    html = post(auth_client, "/en/settings/test", relay_form(
        server, username="office", from_address="office@example.com\r\nBcc: victim@example.com",
        test_recipient="a@example.com, b@example.com")).get_data(as_text=True)
    assert_oob_error(html, "from_address", "Line breaks")
    assert_oob_error(html, "test_recipient", "Enter only one")
    assert_oob_error(html, "smtp_host", "")  # cleared
    assert server.connections == 0


def test_http_protocol_posts_the_json_message(auth_client, http_server, store):
    server = http_server()
    html = post(auth_client, "/en/settings/test", {
        "protocol": "HTTP", "http_url": server.url("/send", userinfo="api:k3y-s3cret"),
        "http_reply_to": "office@example.com",
        "test_recipient": "inbox@example.com"}).get_data(as_text=True)
    assert "The test email was sent to inbox@example.com" in text_of(html)
    assert "k3y-s3cret" not in html
    [request] = server.requests
    body = request.json()
    assert body["to"] == ["inbox@example.com"] and body["reply_to"] == "office@example.com"
    message = email.message_from_bytes(base64.b64decode(body["message"]), policy=email.policy.default)
    assert message["Subject"] == "Sendwell test email"


def test_http_error_status_is_explained(auth_client, http_server):
    server = http_server()
    html = post(auth_client, "/en/settings/test", {
        "protocol": "HTTP", "http_url": server.url("/unauthorized"),
        "http_reply_to": "office@example.com"}).get_data(as_text=True)
    text = text_of(html)
    assert "The HTTP server answered with an error" in text
    assert "status 401" in text


def test_without_javascript_the_test_renders_the_whole_page(auth_client, fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(replies={"RCPT": "550 5.1.1 No such user"}))
    response = post(auth_client, "/en/settings", relay_form(
        server, from_address="office@example.com", action="test"), headers={})
    html = response.get_data(as_text=True)
    assert "<html" in html
    assert "The server refused the recipient" in text_of(html)
    assert 'id="smtp_host"' in html


def test_test_needs_sign_in_and_csrf(app, auth_client):
    assert app.test_client().post("/en/settings/test", headers=HX).status_code == 401
    assert auth_client.post("/en/settings/test", data={"protocol": "SMTP"}, headers=HX).status_code == 400


@pytest.mark.parametrize("code", sorted(EXPLANATIONS))
def test_every_diagnosis_has_its_text_in_every_language(app, code):
    explanation = EXPLANATIONS[code]
    for lang in ["sl", "sw", "it", "ja", "es"]:
        with app.test_request_context(), force_locale(lang):
            for text in (explanation.title, explanation.meaning, explanation.advice):
                assert str(text) != text._args[0], f"{lang}: {text._args[0]!r} untranslated"
