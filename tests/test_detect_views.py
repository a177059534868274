"""The Detect settings action on the settings page, through the Flask test
client: the HTMX fragment with the inputs it fills sent out of band, the
same fragment in the page without JavaScript, and every text in six languages."""
import ssl

import pytest
from flask_babel import force_locale

from helpers import element, elements, post, text_of
from webapp import detect_texts
from webapp.detect import autoconfig, dns
from webapp.detect.findings import OUTCOMES, Candidate, Detection, Evidence, Tried
from webapp.fields import LABELS

LANGS = ["en", "sl", "sw", "it", "ja", "es"]


@pytest.fixture
def probe_domain(app, dns_server, smtp_server, tls_ca, fault_server, fault_scripts, unused_port):
    """probe.example.net: a silent port, a STARTTLS port (aiosmtpd, login) and a closed one on
    127.0.0.21; the app's Detect asks the test DNS server and probes those ports."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("smtp.probe.example.net").configure_cert(context)
    silent = fault_server(fault_scripts.silent, host="127.0.0.21")
    server = smtp_server(hostname="127.0.0.21", tls_context=context, require_starttls=True, login=True)
    closed = unused_port("127.0.0.21")
    zone = dns_server("smtp.probe.example.net. 300 IN A 127.0.0.21")
    app.config.update(DNS_SERVER=zone.address, DETECT_PORTS=f"{silent.port},{server.port},{closed}")
    return server


def shown_markers(client, path="/en/settings"):
    html = client.get(path).get_data(as_text=True)
    return [el.attrs["value"] for el in elements(html, "input", name="shown")]


def test_the_box_sits_at_the_top_of_the_smtp_part_prefilled_from_the_username(auth_client, store):
    from webapp.model import MailSettings
    store.save(MailSettings(smtp_host="mail.example.com", smtp_port=587, username="anna@example.com"),
               "secret")
    html = auth_client.get("/en/settings").get_data(as_text=True)

    smtp_part = html[html.index('id="slot-smtp"'):]
    assert smtp_part.index('id="detect_address"') < smtp_part.index('id="smtp_host"')
    assert element(html, "input", id="detect_address").attrs["value"] == "anna@example.com"
    button = element(html, "button", id="detect-button")
    assert button.attrs["hx-post"] == "/en/settings/detect" and "hidden" in button.attrs
    assert 'formaction="/en/settings/detect"' in html  # the <noscript> stand-in


def test_detect_fills_the_inputs_out_of_band_and_never_the_password(auth_client, probe_domain):
    shown = shown_markers(auth_client)
    response = post(auth_client, "/en/settings/detect", {
        "protocol": "SMTP", "detect_address": "sender@probe.example.net", "smtp_port": "587",
        "password": "typed secret", "shown": shown})
    html = response.get_data(as_text=True)

    assert response.status_code == 200, html
    host = element(html, "input", id="smtp_host")
    assert host is not None, text_of(html)
    assert (host.attrs["value"], host.attrs["hx-swap-oob"]) == ("smtp.probe.example.net", "true")
    assert element(html, "input", id="smtp_port").attrs["value"] == str(probe_domain.port)
    assert element(html, "input", id="username").attrs["value"] == "sender@probe.example.net"
    # A port other than 465/587/25: the security choice appears, set to STARTTLS.
    security_slot = element(html, "div", id="slot-port_security")
    assert security_slot.attrs["hx-swap-oob"] == "true"
    assert "checked" in element(html, "input", name="smtp_security", value="starttls").attrs
    # The password input is never sent: what was typed there stays.
    assert element(html, "input", id="password") is None and "typed secret" not in html
    text = text_of(html)
    assert "Settings found for probe.example.net" in text
    assert f"Tried: answered on port {probe_domain.port} with STARTTLS" in text
    assert "no answer within 3 seconds" in text
    assert "nothing accepts connections on this port" in text


def test_without_javascript_the_page_comes_back_filled_with_the_same_fragment(auth_client, probe_domain):
    response = post(auth_client, "/en/settings/detect", {
        "protocol": "SMTP", "detect_address": "sender@probe.example.net", "smtp_port": "587"}, headers={})
    html = response.get_data(as_text=True)

    assert response.status_code == 200 and 'id="settings-form"' in html
    assert element(html, "input", id="smtp_host").attrs["value"] == "smtp.probe.example.net"
    assert "hx-swap-oob" not in element(html, "input", id="smtp_host").attrs
    result = element(html, "div", id="detect-result")
    assert "Settings found for probe.example.net" in result.text
    assert element(html, "input", id="detect_address").attrs["value"] == "sender@probe.example.net"


def test_the_username_is_used_when_the_address_field_is_empty(auth_client, app, dns_server):
    app.config.update(DNS_SERVER=dns_server("").address, DETECT_PORTS="1")
    html = post(auth_client, "/en/settings/detect", {
        "protocol": "SMTP", "detect_address": "", "username": "Anna@GMAIL.com",
        "shown": shown_markers(auth_client)}).get_data(as_text=True)

    assert element(html, "input", id="smtp_host").attrs["value"] == "smtp.gmail.com"
    text = text_of(html)
    assert "Sendwell's list of providers: Gmail" in text
    assert "Gmail needs an app password in Password, not your usual password." in text


def test_nothing_found_says_so_and_what_to_ask(auth_client, app, dns_server, unused_port):
    app.config.update(DNS_SERVER=dns_server("").address, DETECT_PORTS=str(unused_port()))
    html = post(auth_client, "/en/settings/detect", {
        "protocol": "SMTP", "detect_address": "anna@nothing.example.net", "smtp_host": "kept.example.com",
        "shown": shown_markers(auth_client)}).get_data(as_text=True)

    text = text_of(html)
    assert "No settings found for nothing.example.net" in text
    assert "Ask your email provider for the name of its outgoing (SMTP) server" in text
    assert "DNS record _submission._tcp.nothing.example.net: none" in text
    assert element(html, "input", id="smtp_host") is None   # nothing typed is replaced


@pytest.mark.parametrize("address, starts", [("", "Fill in this field."),
                                             ("not an address", "An email address cannot contain spaces.")])
def test_an_unusable_address_is_marked_beside_the_field(auth_client, address, starts):
    html = post(auth_client, "/en/settings/detect", {"protocol": "SMTP", "detect_address": address}
                ).get_data(as_text=True)

    errors = element(html, id="errors-detect_address")
    assert errors.attrs["hx-swap-oob"] == "true" and errors.text.startswith(starts)
    assert element(html, "input", id="smtp_host") is None


def test_detect_shares_the_limit_of_everything_that_connects_out(auth_client, app):
    app.config["RATELIMIT_MAIL"] = "2 per minute"
    for _ in range(2):
        post(auth_client, "/en/settings/detect", {"protocol": "SMTP", "detect_address": "x"})
    post(auth_client, "/en/settings/test", {"protocol": "SMTP"})
    assert post(auth_client, "/en/settings/detect", {"protocol": "SMTP", "detect_address": "x"}
                ).status_code == 429


def test_the_language_switcher_on_the_page_without_javascript_leads_back_to_settings(auth_client):
    assert auth_client.get("/sl/settings/detect").headers["Location"].endswith("/sl/settings")


# --- every text, in every language ------------------------------------------------------

def every_tried():
    """One Tried per outcome the fragment can show, with the facts each carries."""
    facts = {"name": "_submission._tcp.example.com", "domain": "example.com", "host": "smtp.example.com",
             "port": 587, "hosts": ["mx.example.com"], "provider": "Gmail", "url": "https://x.example/",
             "status": 404, "location": "https://elsewhere.example/", "limit_bytes": 65536,
             "seconds": 3.0, "answered": "starttls"}
    for source in ("provider_table", "dns_srv", "dns_mx", "autoconfig", "probe"):
        for code in (*OUTCOMES, *dns.FAILURES, *autoconfig.FAILURES, "name_not_found",
                     "timed_out", "connection_refused", "destination_forbidden",
                     "certificate_untrusted", "tls_handshake_failed"):
            yield Tried(source, code, dict(facts))


def sample_detection(found=True, **extra):
    chosen = Candidate("probe", "smtp.example.com", 2587, "starttls", "address", "anna@example.com",
                       evidence=(Evidence("probe_answer", {"answered": "starttls"}),)) if found else None
    return Detection("anna@example.com", "example.com", chosen, (chosen,) if found else (),
                     tuple(every_tried()), 1234.0, 10.0, **extra)


@pytest.mark.parametrize("lang", LANGS)
def test_every_text_of_the_fragment_renders_and_is_translated(app, lang):
    with app.test_request_context():
        reports = {}
        for language in ("en", lang):
            with force_locale(language):
                reports[language] = [
                    detect_texts.report(sample_detection(), {"username": "anna@example.com"}),
                    detect_texts.report(sample_detection(False, provider="Proton",
                                                         note_key="proton_bridge"), {})]
    for report in reports[lang]:
        texts = [report.title, report.lead, report.elapsed, *report.notes,
                 *(row.source for row in report.rows),
                 *(line.subject + line.outcome + (line.verdict or "") for line in report.tried)]
        assert all(text.strip() and "%(" not in text for text in texts), texts
    if lang != "en":
        english = [line.outcome for report in reports["en"] for line in report.tried]
        translated = [line.outcome for report in reports[lang] for line in report.tried]
        same = {text for text, other in zip(english, translated) if text == other}
        assert same == set(), same
        assert reports[lang][1].notes[0] != reports["en"][1].notes[0]


def test_every_source_has_a_text():
    from webapp.detect.findings import SOURCES
    assert set(detect_texts.SOURCE_TEXTS) | {"probe"} == set(SOURCES)
    assert set(detect_texts.SUBJECTS) == set(SOURCES)
    assert "detect_address" in LABELS
