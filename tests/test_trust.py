"""Trust this certificate on the settings page, through the Flask test client
and real aiosmtpd servers with self-signed certificates: the facts under a
failed test, the button (htmx and plain form), the trusted certificate as
its own slot, the saved password bound to it, a changed certificate, the
refusal for well-known providers, and the warning about an expiring one."""
import datetime
import ssl

import pytest

from helpers import HX, SERVED, element, elements, openssl_fingerprint, post, smtp_form, text_of
from webapp.mail.certificates import colon_hex

@pytest.fixture
def trusted_and_saved(auth_client, smtp_server, self_signed_certificate, smtp_credentials):
    """A STARTTLS server with a login and a self-signed certificate; a test
    fails on it, its certificate is trusted from the offer and the settings
    saved: (certificate files, server, form, trusted fingerprint)."""
    files = self_signed_certificate()
    server = smtp_server(login=True, **SERVED["starttls"](files.context))
    form = smtp_form(server, smtp_credentials)
    html = post(auth_client, "/en/settings/test", form).get_data(as_text=True)
    fingerprint = element(html, "button", name="trust_certificate").attrs["value"]
    response = post(auth_client, "/en/settings", {**form, "trusted_certificate": fingerprint,
                                                  "action": "update-anyway"}, headers={})
    assert response.status_code == 302
    return files, server, form, fingerprint


def markers(html):
    return [shown.attrs["value"] for shown in elements(html, "input", name="shown")]


def oob_slots(html):
    return {div.attrs["id"].removeprefix("slot-"): div
            for div in elements(html, "div", **{"hx-swap-oob": "true"})
            if div.attrs["id"].startswith("slot-")}


def fingerprints(html):
    """The fingerprints shown, in order, as a reader would copy them."""
    return [span.text.replace(" ", "") for span in elements(html, "span", **{"class": "fingerprint"})]


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_trust_a_self_signed_certificate_then_pass_then_fail_when_it_changes(
        auth_client, smtp_server, self_signed_certificate, smtp_credentials, security, store):
    first = self_signed_certificate("mail.example.lan")
    server = smtp_server(login=True, **SERVED[security](first.context))
    form = smtp_form(server, smtp_credentials, smtp_security=security)

    # 1. Without trust: fails, shows the certificate and offers to trust it.
    html = post(auth_client, "/en/settings/test", form).get_data(as_text=True)
    text = text_of(html)
    assert "The server's certificate is self-signed" in text
    expected = openssl_fingerprint(first.cert_path)
    assert fingerprints(html) == [expected]
    assert "mail.example.lan" in element(html, "dl", **{"class": "certificate-facts"}).text
    assert "compare it with this one, group by group" in text
    offer = oob_slots(html)["certificate_offer"]
    assert "hidden" not in offer.attrs
    button = element(html, "button", name="trust_certificate")
    assert button.text == "Trust this certificate"
    assert colon_hex(button.attrs["value"]) == expected
    assert server.auth_attempts == []

    # 2. Trust it (htmx): the fingerprint goes into the form, nothing is saved.
    shown = markers(auth_client.get("/en/settings").get_data(as_text=True))
    html = post(auth_client, "/en/settings/fields", {
        **form, "shown": shown + [f"certificate_offer={button.attrs['value']}"],
        "trust_certificate": button.attrs["value"]}).get_data(as_text=True)
    slots = oob_slots(html)
    assert "hidden" not in slots["trusted_certificate"].attrs
    assert element(html, "input", name="trusted_certificate").attrs["value"] == button.attrs["value"]
    assert "Trusted certificate: SHA-256" in slots["trusted_certificate"].text
    assert "for mail.example.lan, valid until" in slots["trusted_certificate"].text
    assert fingerprints(html) == [expected]
    assert "hidden" in slots["tls_check"].attrs  # no "Do not verify" beside a trusted certificate
    assert "hidden" in slots["certificate_offer"].attrs
    assert store.saved() is None

    # 3. Test with the trusted certificate: passes, although it is self-signed
    # and for another name.
    trusted = {**form, "trusted_certificate": button.attrs["value"]}
    html = post(auth_client, "/en/settings/test", trusted).get_data(as_text=True)
    assert "The test email was sent to" in text_of(html), text_of(html)
    assert "trusted certificate" in element(html, "li", **{"data-step": "tls"}).text
    assert len(server.received) == 1 and len(server.auth_attempts) == 1

    # 4. The server switches to another self-signed certificate: stops before AUTH.
    second = self_signed_certificate("mail.example.lan")
    first.context.load_cert_chain(second.cert_path, second.key_path)
    html = post(auth_client, "/en/settings/test", trusted).get_data(as_text=True)
    text = text_of(html)
    assert "The server's certificate has changed" in text
    assert "stopped before sending your password" in text
    table = element(html, "table", **{"class": "fingerprints"})
    assert "The certificate you trusted" in table.text and "The certificate presented now" in table.text
    assert fingerprints(html)[:2] == [expected, openssl_fingerprint(second.cert_path)]
    assert len(server.auth_attempts) == 1 and len(server.received) == 1
    # ... and the new one can be trusted in its turn.
    assert colon_hex(element(html, "button", name="trust_certificate").attrs["value"]) == \
        openssl_fingerprint(second.cert_path)


def test_without_javascript_trust_and_stop_trusting_rerender_the_page(
        auth_client, smtp_server, self_signed_certificate, smtp_credentials):
    files = self_signed_certificate()
    server = smtp_server(login=True, **SERVED["starttls"](files.context))
    form = smtp_form(server, smtp_credentials)
    html = post(auth_client, "/en/settings", {**form, "action": "test"}, headers={}).get_data(
        as_text=True)
    button = element(html, "button", name="trust_certificate")
    assert button is not None and button.attrs["type"] == "submit"
    # The offer sits outside the inert result, so it is a live part of the form.
    result = html[html.index('id="test-result"'):html.index('id="slot-certificate_offer"')]
    assert 'name="trust_certificate"' not in result

    html = post(auth_client, "/en/settings", {**form, "trust_certificate": button.attrs["value"]},
                headers={}).get_data(as_text=True)
    assert element(html, "input", name="trusted_certificate").attrs["value"] == button.attrs["value"]
    assert element(html, "input", id="skip_tls_verify") is None
    assert "Trusted certificate: SHA-256" in text_of(html)

    trusted = {**form, "trusted_certificate": button.attrs["value"]}
    html = post(auth_client, "/en/settings", {**trusted, "action": "test"}, headers={}).get_data(
        as_text=True)
    assert "The test email was sent to" in text_of(html)

    html = post(auth_client, "/en/settings", {**trusted, "stop_trusting": "y"},
                headers={}).get_data(as_text=True)
    assert element(html, "input", name="trusted_certificate") is None
    assert element(html, "input", id="skip_tls_verify") is not None


def test_enter_in_a_field_still_runs_a_test(auth_client, smtp_server, self_signed_certificate,
                                            smtp_credentials):
    server = smtp_server(login=True, **SERVED["starttls"](self_signed_certificate().context))
    html = post(auth_client, "/en/settings", {
        **smtp_form(server, smtp_credentials), "action": "refresh",
        "trust_certificate": "0" * 64}, headers={}).get_data(as_text=True)
    # The form's first submit button in the page is a hidden Test button, before
    # Stop trusting (and before the language buttons, which belong to the form too).
    first = elements(html.split("<body", 1)[1], "button", type="submit")[0]
    assert (first.attrs["name"], first.attrs["value"]) == ("action", "test")
    assert first.attrs["form"] == "settings-form"


def test_the_saved_password_is_bound_to_the_trusted_certificate(auth_client, trusted_and_saved,
                                                                smtp_credentials, store):
    _files, server, form, fingerprint = trusted_and_saved
    saved = store.saved().settings
    assert saved.trusted_certificate == fingerprint
    assert f"pin:{fingerprint}" in saved.destination
    assert store.secret_for(saved.destination) == smtp_credentials.password
    # The saved page shows the trusted certificate from the kept certificate.
    page = auth_client.get("/en/settings").get_data(as_text=True)
    assert element(page, "input", name="trusted_certificate").attrs["value"] == fingerprint
    assert "valid until" in element(page, id="slot-trusted_certificate").text

    # Another fingerprint, no password typed: the saved one is not used.
    other = {**form, "password": "", "trusted_certificate": "ab" * 32}
    html = post(auth_client, "/en/settings/test", other).get_data(as_text=True)
    assert "type the password again" in element(html, id="errors-password").text
    # Stop trusting is a change of destination too.
    html = post(auth_client, "/en/settings/test", {**form, "password": ""}).get_data(as_text=True)
    assert "type the password again" in element(html, id="errors-password").text
    assert len(server.auth_attempts) == 0


def test_a_fingerprint_the_server_never_presented_is_not_trusted(auth_client, smtp_server,
                                                                 smtp_credentials):
    server = smtp_server()
    form = smtp_form(server, smtp_credentials)
    html = post(auth_client, "/en/settings/fields", {
        **form, "shown": ["smtp=", "tls_check="], "trust_certificate": "ab" * 32}).get_data(
        as_text=True)
    assert "trusted_certificate" not in oob_slots(html)


def test_trusting_is_refused_for_smtp_gmail_com(auth_client, self_signed_certificate, store, app):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    files = self_signed_certificate("smtp.gmail.com")
    with open(files.cert_path, "rb") as pem:
        der = x509.load_pem_x509_certificate(pem.read()).public_bytes(Encoding.DER)
    # As if a test of smtp.gmail.com had met this certificate (an interception).
    fingerprint = store.remember_certificate("smtp.gmail.com", 465, der).sha256
    gmail = {"protocol": "SMTP", "smtp_host": "smtp.gmail.com", "smtp_port": "465",
             "username": "office@gmail.com", "password": "app-password-1"}

    # The button does nothing for a well-known provider.
    html = post(auth_client, "/en/settings/fields", {
        **gmail, "shown": ["smtp=", "tls_check="], "trust_certificate": fingerprint}).get_data(
        as_text=True)
    assert "trusted_certificate" not in oob_slots(html)

    # A fingerprint in the form anyway: refused, with the verify-off warning's reasons.
    refusal = ("Gmail has a valid certificate, so Sendwell does not trust any other certificate "
               "for it: a different one means someone on the network could be posing as Gmail "
               "to take your password.")
    for action in ("update", "test"):
        response = post(auth_client, "/en/settings", {**gmail, "trusted_certificate": fingerprint,
                                                      "action": action}, headers={})
        html = response.get_data(as_text=True)
        assert refusal in element(html, id="errors-trusted_certificate").text
        assert store.saved() is None

    # The result of a failed test says so instead of offering the button.
    from webapp import explain
    from webapp.mail.certificates import CertificateFacts
    from webapp.mail.result import DeliveryResult, Diagnosis
    from webapp.model import MailSettings
    from webapp.trust import remember_offer
    result = DeliveryResult(ok=False, steps=[], total_ms=1, diagnosis=Diagnosis(
        "certificate_untrusted", "tls", facts={"self_signed": True, "provider": "Gmail",
                                               "certificate": CertificateFacts.from_der(der)}))
    settings = MailSettings(smtp_host="smtp.gmail.com", smtp_port=465)
    with app.test_request_context():
        report = explain.report(result, settings, success_text="")
        assert report.certificate.advice == refusal
        assert remember_offer(store, settings, result) is None


def test_an_expiring_certificate_is_warned_about_in_a_passing_test(
        auth_client, smtp_server, tls_ca, smtp_credentials, self_signed_certificate):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    not_after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5)
    tls_ca.issue_cert("127.0.0.1", not_after=not_after).configure_cert(context)
    server = smtp_server(login=True, **SERVED["starttls"](context))
    html = post(auth_client, "/en/settings/test",
                smtp_form(server, smtp_credentials)).get_data(as_text=True)
    result = element(html, "div", **{"class": "result result-ok"})
    assert result is not None, text_of(html)
    assert "The server's certificate expires on" in result.text
    assert not_after.strftime("%Y") in result.text

    # A trusted one that is about to run out: the warning says what will happen.
    files = self_signed_certificate(valid_days=3)
    pinned = smtp_server(login=True, **SERVED["tls"](files.context))
    form = smtp_form(pinned, smtp_credentials, smtp_security="tls")
    html = post(auth_client, "/en/settings/test", form).get_data(as_text=True)
    fingerprint = element(html, "button", name="trust_certificate").attrs["value"]
    html = post(auth_client, "/en/settings/test",
                {**form, "trusted_certificate": fingerprint}).get_data(as_text=True)
    assert ("sending fails with “The server's certificate has changed” until you trust the new "
            "certificate") in text_of(html)


def test_a_certificate_valid_for_long_is_not_warned_about(auth_client, smtp_server, server_tls,
                                                          smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    html = post(auth_client, "/en/settings/test",
                smtp_form(server, smtp_credentials)).get_data(as_text=True)
    assert "The test email was sent to" in text_of(html)
    assert 'class="warning"' not in html


@pytest.mark.parametrize("kind, title", [
    ("untrusted", "The server's certificate is not trusted"),
    ("expired", "The server's certificate has expired"),
    ("wrong_host", "The certificate belongs to another server"),
])
def test_every_certificate_failure_shows_the_certificate_and_offers_trust(
        auth_client, smtp_server, server_tls, smtp_credentials, kind, title):
    server = smtp_server(login=True, **SERVED["starttls"](getattr(server_tls, kind)))
    form = smtp_form(server, smtp_credentials)
    html = post(auth_client, "/en/settings/test", form).get_data(as_text=True)
    assert title in text_of(html)
    facts = element(html, "dl", **{"class": "certificate-facts"})
    assert "Issued by" in facts.text and "Valid until" in facts.text
    if kind == "expired":
        assert "(expired)" in facts.text
    fingerprint = element(html, "button", name="trust_certificate").attrs["value"]
    html = post(auth_client, "/en/settings/test",
                {**form, "trusted_certificate": fingerprint}).get_data(as_text=True)
    assert "The test email was sent to" in text_of(html)


def test_over_http_the_certificate_is_shown_but_not_offered(auth_client, http_server, server_tls):
    endpoint = http_server(tls_context=server_tls.self_signed)
    html = post(auth_client, "/en/settings/test", {
        "protocol": "HTTP", "http_url": endpoint.url("/send"),
        "http_reply_to": "office@example.com"}).get_data(as_text=True)
    assert "The server's certificate is self-signed" in text_of(html)
    assert element(html, "dl", **{"class": "certificate-facts"}) is not None
    assert element(html, "button", name="trust_certificate") is None
    assert endpoint.requests == []


def test_documents_are_sent_only_to_the_trusted_certificate(auth_client, trusted_and_saved,
                                                            self_signed_certificate):
    import io

    files, server, _form, fingerprint = trusted_and_saved

    def send_document():
        return auth_client.post("/en/documents", data={
            "csrf_token": auth_client.csrf_token, "recipients": "customer@example.com",
            "subject": "Invoice", "message": "Attached.",
            "document": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "invoice.pdf")},
            headers=HX, content_type="multipart/form-data").get_data(as_text=True)

    assert "invoice.pdf was sent to customer@example.com." in text_of(send_document())
    other = self_signed_certificate()
    files.context.load_cert_chain(other.cert_path, other.key_path)
    html = send_document()
    assert "The server's certificate has changed" in text_of(html)
    assert fingerprints(html)[:2] == [colon_hex(fingerprint), openssl_fingerprint(other.cert_path)]
    assert len(server.received) == 1 and len(server.auth_attempts) == 1


@pytest.mark.parametrize("lang", ["en", "sl", "sw", "it", "ja", "es"])
def test_the_certificate_part_of_a_failure_never_calls_it_a_test(app, lang):
    """It shows under failed document sends too."""
    import re

    from flask_babel import force_locale

    from helpers import WORDS_FOR_TEST
    from webapp.certificate_texts import COMPARE_ADVICE, TRUST_REFUSED
    from webapp.fields import fill
    with app.test_request_context(), force_locale(lang):
        texts = [fill(COMPARE_ADVICE), fill(TRUST_REFUSED, provider="Gmail")]
    assert [text for text in texts if re.search(WORDS_FOR_TEST[lang], text, re.I)] == []
