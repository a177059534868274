"""Signing in with Microsoft 365 or Google through the views, against real
loopback servers: the authorization server (Authlib) and aiosmtpd taking its
tokens over XOAUTH2. The browser's part (consent) is the server's own page."""
import base64
import glob
import io
import logging
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from helpers import HX, PDF, element, elements, post, text_of
from oauth_views_helpers import (ACCOUNT, CALLBACK, CLIENT_SECRET, input_value, oauth_form, path_of,
                                 run_test, settings_page, sign_in, signed_in_client, start_sign_in)
from webapp import create_app
from webapp.forms import SettingsForm

BOTH = pytest.mark.parametrize("provider", ["microsoft", "google"])
# The authorization server's grants (Authlib's server side) and aiosmtpd.
LOOPBACK_SERVER_LOGGERS = ("authlib.oauth2.rfc6749", "authlib.oauth2.rfc7009",
                           "authlib.oauth2.rfc7636", "mail.log")


def mail_server(site, xoauth2_smtp_server, server_tls, provider):
    return xoauth2_smtp_server(site.server, provider=provider, tls_context=server_tls.valid,
                               require_starttls=True)


def signed_in_form(provider, smtp, **extra):
    """The form as the page shows it after the sign-in: Username filled, no secret."""
    return oauth_form(provider, smtp, **{"secret": "", "username": ACCOUNT, **extra})


@pytest.fixture
def signed_in_site(oauth_site, xoauth2_smtp_server, server_tls):
    """Factory: ``signed_in_site(provider, **server_knobs)`` -> a site signed in
    with `provider`, the loopback SMTP server taking its tokens, and the form
    as the page shows it after the sign-in."""
    def start(provider, **knobs):
        site = oauth_site(**knobs)
        smtp = mail_server(site, xoauth2_smtp_server, server_tls, provider)
        sign_in(site, oauth_form(provider, smtp))
        return site, smtp, signed_in_form(provider, smtp)

    return start


def grant(site, form):
    """The grant stored for the destination the form names."""
    with site.app.test_request_context():
        settings = SettingsForm(formdata=MultiDict(form), meta={"csrf": False}).settings_so_far()
    return site.store.grant_for(settings.destination)


# -- the round trip ------------------------------------------------------------------------

@BOTH
def test_a_full_sign_in_fills_the_username_and_the_test_passes_over_xoauth2(
        oauth_site, xoauth2_smtp_server, server_tls, provider):
    site = oauth_site()
    smtp = mail_server(site, xoauth2_smtp_server, server_tls, provider)
    back = sign_in(site, oauth_form(provider, smtp))
    assert back.status_code == 302 and back.headers["Location"] == "/en/settings"

    html = settings_page(site)
    assert element(html, "p", id="signed-in-as").text == f"Signed in as {ACCOUNT}"
    assert input_value(html, "username") == ACCOUNT
    assert element(html, "input", name="oauth_client_secret").attrs["placeholder"] == \
        "Saved client secret: leave blank to keep it"
    assert CLIENT_SECRET not in html

    result = run_test(site, signed_in_form(provider, smtp))
    assert "The test email was sent to sender@example.com" in text_of(result)
    [attempt] = smtp.attempts
    assert (attempt.mechanism, attempt.user, attempt.accepted) == ("XOAUTH2", ACCOUNT, True)
    assert smtp.received[0].login == ACCOUNT
    [exchange] = site.server.seen("token", grant_type="authorization_code")
    assert exchange.params["redirect_uri"] == CALLBACK and exchange.params["code_verifier"]


def test_unsaved_values_survive_the_round_trip_and_stay_out_of_the_url(oauth_site, xoauth2_smtp_server,
                                                                        server_tls):
    site = oauth_site()
    smtp = mail_server(site, xoauth2_smtp_server, server_tls, "microsoft")
    form = oauth_form("microsoft", smtp, copy_enabled="y", copy_address="archive@example.com",
                      oauth_tenant="contoso.onmicrosoft.com")
    address = start_sign_in(site, form)
    for value in ("archive@example.com", CLIENT_SECRET, str(smtp.port)):
        assert value not in address
    assert "/contoso.onmicrosoft.com/oauth2/v2.0/authorize?" in address
    back = site.server.consent(address)
    site.client.get(path_of(back))
    html = settings_page(site)
    assert input_value(html, "copy_address") == "archive@example.com"
    assert input_value(html, "oauth_tenant") == "contoso.onmicrosoft.com"
    assert input_value(html, "smtp_port") == str(smtp.port)


@pytest.mark.parametrize("provider, host", [("microsoft", "smtp.office365.com"),
                                            ("google", "smtp.gmail.com")])
def test_the_providers_server_fills_an_empty_smtp_server_and_port(oauth_site, provider, host):
    site = oauth_site()
    form = oauth_form(provider)
    fragment = post(site.client, "/en/settings/fields", {**form, "shown": ["smtp=", "password="]},
                    headers=HX).get_data(as_text=True)
    filled = element(fragment, "input", id="smtp_host")
    assert filled.attrs["hx-swap-oob"] == "true"
    assert input_value(fragment, "smtp_host") == host and input_value(fragment, "smtp_port") == "587"
    # Without JavaScript, the same rule fills the page.
    page = post(site.client, "/en/settings", {**form, "action": "refresh"}, headers={}).get_data(as_text=True)
    assert input_value(page, "smtp_host") == host and input_value(page, "smtp_port") == "587"
    # A value typed in stays as it is.
    typed = post(site.client, "/en/settings/fields", {**form, "smtp_host": "mail.example.com",
                                                      "shown": ["smtp=", "password="]},
                 headers=HX).get_data(as_text=True)
    assert element(typed, "input", id="smtp_host") is None


def test_the_redirect_address_to_register_is_shown_before_signing_in(oauth_site):
    site = oauth_site()
    page = post(site.client, "/en/settings", {**oauth_form("microsoft"), "action": "refresh"},
                headers={}).get_data(as_text=True)
    assert element(page, "code", id="oauth-redirect-uri").text == CALLBACK
    copy = element(page, "button", **{"data-copy": "oauth-redirect-uri"})
    assert "hidden" in copy.attrs  # app.js shows it; without JavaScript the text can be selected
    assert element(page, "button", value="oauth_sign_in").text == "Sign in with Microsoft"
    assert 'id="password"' not in page and 'id="oauth_tenant"' in page


def test_without_javascript_start_keeps_the_form_and_offers_the_link_on(oauth_site):
    site = oauth_site()
    form = oauth_form("google", username="office@example.com")
    page = post(site.client, "/en/oauth/start", form, headers={})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and CLIENT_SECRET not in html
    link = element(html, "a", href="/oauth/go")
    assert link.text == "Sign in with Google"
    assert input_value(html, "username") == "office@example.com"
    went = site.client.get("/oauth/go")
    query = parse_qs(urlsplit(went.headers["Location"]).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["login_hint"] == ["office@example.com"] and query["code_challenge_method"] == ["S256"]


def test_start_without_a_client_id_or_secret_says_so_beside_the_fields(oauth_site):
    site = oauth_site()
    answer = post(site.client, "/en/oauth/start", oauth_form("microsoft", secret="", oauth_client_id=""))
    html = answer.get_data(as_text=True)
    assert "HX-Redirect" not in answer.headers
    assert element(html, id="errors-oauth_client_id").text == "Fill in this field."
    assert element(html, id="errors-oauth_client_secret").text == \
        "Enter the client secret of the app registration."


# -- state: single use, bound to the session -----------------------------------------------------

def test_a_replayed_callback_is_refused(oauth_site, xoauth2_smtp_server, server_tls):
    site = oauth_site()
    back = site.server.consent(start_sign_in(site, oauth_form("microsoft")))
    assert site.client.get(path_of(back)).status_code == 302
    replay = site.client.get(path_of(back))
    assert replay.status_code == 400
    assert "This sign-in cannot be used" in text_of(replay.get_data(as_text=True))
    assert len(site.server.seen("token", grant_type="authorization_code")) == 1


def test_a_callback_with_another_sessions_state_is_refused(oauth_site):
    site = oauth_site()
    victim_address = start_sign_in(site, oauth_form("microsoft"))
    attacker = signed_in_client(site.app)
    attacker_back = site.server.consent(start_sign_in(
        type(site)(site.app, attacker, site.server), oauth_form("microsoft")))
    # The attacker's code and state, delivered to the victim's browser.
    refused = site.client.get(path_of(attacker_back))
    assert refused.status_code == 400
    assert site.server.seen("token", grant_type="authorization_code") == []
    # No state at all is refused too, and the victim's own sign-in is not spent by either.
    assert site.client.get("/oauth/callback?code=x").status_code == 400
    assert victim_address


def test_the_callback_needs_the_signed_in_administrator(oauth_site):
    site = oauth_site()
    stranger = site.app.test_client()
    answer = stranger.get("/oauth/callback?code=x&state=y")
    assert answer.status_code == 302 and "/signin" in answer.headers["Location"]


# -- what can go wrong at the provider -------------------------------------------------------------

@pytest.mark.parametrize("lang, title", [("en", "The sign-in was cancelled"),
                                         ("sl", "Prijava je bila preklicana")])
def test_consent_refused_is_explained_in_the_pages_language(oauth_site, lang, title):
    site = oauth_site()
    sign_in(site, oauth_form("microsoft"), accept=False, lang=lang)
    html = settings_page(site, lang)
    assert title in text_of(html)
    assert "AADSTS65004" in text_of(html)  # the provider's own words
    assert element(html, "p", id="signed-in-as") is None


def test_an_unregistered_redirect_address_reaching_us_is_explained_with_the_address(oauth_site):
    site = oauth_site()
    address = start_sign_in(site, oauth_form("microsoft"))
    state = parse_qs(urlsplit(address).query)["state"][0]
    description = "AADSTS50011: The redirect URI specified in the request does not match."
    site.client.get("/oauth/callback?" + "&".join([
        f"state={state}", "error=invalid_request", f"error_description={description}"]))
    shown = text_of(settings_page(site))
    assert "The redirect address is not registered" in shown
    assert f"Add {CALLBACK} to the app's registration exactly as written here" in shown


def test_a_token_answer_without_refresh_token_is_refused(oauth_site):
    site = oauth_site()
    site.server.omit_refresh_token = True
    sign_in(site, oauth_form("google"))
    html = settings_page(site)
    assert "The sign-in does not last" in text_of(html)
    assert element(html, "p", id="signed-in-as") is None
    assert "Get a sign-in token" in text_of(html)  # the step, with its time


def test_a_wrong_client_secret_at_sign_in_is_explained(oauth_site):
    site = oauth_site()
    sign_in(site, oauth_form("microsoft", secret="not-the-secret"))
    assert "The client secret was refused" in text_of(settings_page(site))


# -- tokens over time -------------------------------------------------------------------------

def test_a_token_about_to_expire_is_refreshed_and_a_rotated_one_replaces_the_old(signed_in_site):
    # A lifetime inside the refresh margin: a refresh every time.
    site, smtp, form = signed_in_site("microsoft", access_token_lifetime=60)
    first = grant(site, form)
    result = text_of(run_test(site, form))
    assert "The test email was sent" in result and "Get a sign-in token" in result
    [refresh] = site.server.seen("token", grant_type="refresh_token")
    assert refresh.params["refresh_token"] == site.server.fingerprint(first.refresh_token)
    second = grant(site, form)
    assert second.refresh_token != first.refresh_token and second.grant_id == first.grant_id
    # The old one is dead at the provider; the stored one works.
    assert "The test email was sent" in text_of(run_test(site, form))
    assert len(site.server.seen("token", grant_type="refresh_token")) == 2
    assert "Tested at" in text_of(run_test(site, form))  # same sign-in: the status holds


def test_sends_at_the_same_time_refresh_once(signed_in_site):
    site, smtp, form = signed_in_site("microsoft", access_token_lifetime=60)
    site.server.access_token_lifetime = 3600  # the refreshed token lasts: one refresh is enough
    clients = [signed_in_client(site.app) for _ in range(3)]
    results = []

    def test(client):
        results.append(text_of(post(client, "/en/settings/test", form).get_data(as_text=True)))

    threads = [threading.Thread(target=test, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all("The test email was sent" in result for result in results), results
    assert len(site.server.seen("token", grant_type="refresh_token")) == 1


def test_saved_settings_keep_their_passed_test(signed_in_site):
    site, smtp, form = signed_in_site("google")
    run_test(site, form)
    post(site.client, "/en/settings", {**form, "action": "update"}, headers={})
    html = settings_page(site)
    assert element(html, "div", id="slot-test_status").text.endswith(": passed.")
    assert element(html, "p", id="signed-in-as").text == f"Signed in as {ACCOUNT}"


def test_a_fresh_token_is_used_as_it_is(signed_in_site):
    site, smtp, form = signed_in_site("google")
    result = text_of(run_test(site, form))
    assert "The test email was sent" in result and "Get a sign-in token" not in result
    assert site.server.seen("token", grant_type="refresh_token") == []


@pytest.mark.parametrize("provider, lang, title", [
    ("microsoft", "en", "The sign-in is no longer valid"),
    ("microsoft", "ja", "サインインが無効になりました"),
    ("google", "es", "Google ya no acepta el inicio de sesión"),
])
def test_a_revoked_refresh_token_is_diagnosed(signed_in_site, provider, lang, title):
    site, smtp, form = signed_in_site(provider, access_token_lifetime=60)
    site.server.revoke_grants()
    html = run_test(site, form, lang)
    assert title in text_of(html)
    button = element(html, "button", **{"data-sign-in": None})
    assert button.attrs["formaction"] == f"/{lang}/oauth/start"
    assert smtp.attempts == []  # stopped before any mail server


@pytest.mark.parametrize("lang, title", [("en", "The client secret has expired"),
                                         ("it", "Il segreto client è scaduto"),
                                         ("sw", "Siri ya mteja imeisha muda")])
def test_an_expired_client_secret_is_diagnosed(signed_in_site, lang, title):
    site, smtp, form = signed_in_site("microsoft", access_token_lifetime=60)
    site.server.client_secret_expired = True
    html = run_test(site, form, lang)
    assert title in text_of(html)
    assert CLIENT_SECRET not in html


def test_a_changed_destination_needs_a_new_sign_in(signed_in_site):
    site, smtp, form = signed_in_site("microsoft")
    moved = {**form, "username": "office@example.com"}
    html = run_test(site, moved)
    assert element(html, id="errors-sign_in_method").text.startswith("Press Sign in with Microsoft first.")
    assert smtp.attempts == []
    panel = post(site.client, "/en/settings/fields", {**moved, "shown": ["oauth_status=in:x"]},
                 headers=HX).get_data(as_text=True)
    assert "Not signed in yet." in text_of(panel)


# -- saving, sending documents, signing out ------------------------------------------------------

def test_saved_oauth_settings_send_documents_with_xoauth2(signed_in_site):
    site, smtp, form = signed_in_site("microsoft", access_token_lifetime=60)
    saved = post(site.client, "/en/settings", {**form, "action": "update-anyway"}, headers={})
    assert saved.status_code == 302
    settings = site.store.saved().settings
    assert (settings.sign_in_method, settings.username) == ("microsoft", ACCOUNT)
    assert site.store.secret_for(settings.destination) is None  # the sign-in is stored on its own
    sent = site.client.post("/en/documents", headers=HX, data={
        "csrf_token": site.client.csrf_token, "recipients": "customer@example.com",
        "subject": "Your quote", "message": "Attached.",
        "document": (io.BytesIO(PDF), "quote.pdf")})
    assert "quote.pdf was sent to customer@example.com." in text_of(sent.get_data(as_text=True))
    assert [mail.login for mail in smtp.received] == [ACCOUNT]
    assert smtp.attempts[-1].mechanism == "XOAUTH2"
    assert site.server.seen("token", grant_type="refresh_token")  # the same refresh path


def test_sign_out_forgets_and_google_revokes(signed_in_site):
    site, smtp, form = signed_in_site("google")
    kept = grant(site, form)
    fragment = post(site.client, "/en/oauth/signout", form).get_data(as_text=True)
    assert "Sendwell no longer keeps this sign-in, and Google has ended it." in text_of(fragment)
    assert "Not signed in yet." in text_of(fragment)
    assert grant(site, form) is None
    [revoked] = site.server.seen("revoke")
    assert revoked.params["token"] == site.server.fingerprint(kept.refresh_token)


def test_sign_out_with_microsoft_forgets_without_asking(signed_in_site):
    site, smtp, form = signed_in_site("microsoft")
    page = post(site.client, "/en/oauth/signout", form, headers={}).get_data(as_text=True)
    assert "Sendwell no longer keeps this sign-in." in text_of(page)
    assert grant(site, form) is None and site.server.seen("revoke") == []


def test_no_token_or_client_secret_in_html_logs_or_database(oauth_site, xoauth2_smtp_server, server_tls,
                                                            caplog, capfd):
    caplog.set_level(logging.DEBUG)
    site = oauth_site(access_token_lifetime=60)
    smtp = mail_server(site, xoauth2_smtp_server, server_tls, "microsoft")
    pages = [sign_in(site, oauth_form("microsoft", smtp)), site.client.get("/en/settings")]
    form = signed_in_form("microsoft", smtp)
    pages.append(post(site.client, "/en/settings/test", form))
    pages.append(post(site.client, "/en/settings", {**form, "action": "update-anyway"}, headers={}))
    pages.append(site.client.get("/en/settings"))
    kept = grant(site, form)
    secrets = [CLIENT_SECRET, kept.refresh_token, kept.access_token]
    secrets += [base64.b64encode(secret.encode()).decode() for secret in list(secrets)]
    out, err = capfd.readouterr()
    database = b"".join(open(path, "rb").read() for path in glob.glob(site.store.path + "*"))
    # Sendwell's log lines (the loopback servers' own, which know the tokens, left out).
    logged = [record.getMessage() for record in caplog.records
              if not record.name.startswith(LOOPBACK_SERVER_LOGGERS)]
    shown = "\n".join([*logged, out, err] + [page.get_data(as_text=True) for page in pages])
    for secret in secrets:
        assert secret not in shown
        assert secret.encode() not in database


def test_a_hidden_oauth_part_carries_its_values_but_never_the_client_secret(oauth_site):
    site = oauth_site()
    form = oauth_form("microsoft", oauth_tenant="contoso.onmicrosoft.com",
                      sign_in_method="password", action="refresh")
    html = post(site.client, "/en/settings", form, {}).get_data(as_text=True)
    assert "hidden" in element(html, "div", id="slot-oauth").attrs
    carried = {i.attrs["name"]: i.attrs["value"] for i in elements(html, "input", type="hidden")
               if i.attrs["name"] not in ("csrf_token", "shown")}
    assert carried["oauth_client_id"] == form["oauth_client_id"]
    assert carried["oauth_tenant"] == "contoso.onmicrosoft.com"
    assert "oauth_client_secret" not in carried and CLIENT_SECRET not in html

# -- keys and configuration ------------------------------------------------------------------

def test_rotate_key_reencrypts_the_sign_in(signed_in_site):
    site, smtp, form = signed_in_site("microsoft")
    before = grant(site, form)
    result = site.app.test_cli_runner().invoke(args=["rotate-key"])
    assert result.exit_code == 0 and "Re-encrypted" in result.output
    # A new app reads the key file afresh: only the new key is left in it.
    again = create_app({**{k: site.app.config[k] for k in ("TESTING", "SECRET_KEY", "MAIL_CA_FILE")},
                        "INSTANCE_PATH": site.app.instance_path,
                        **site.server.settings()})
    site.app = again
    assert grant(site, form).refresh_token == before.refresh_token


@pytest.mark.parametrize("name, value", [
    ("OAUTH_GOOGLE_TOKEN_URL", "http://oauth2.example.com/token"),
    ("OAUTH_MICROSOFT_AUTHORITY", "ftp://login.example.com"),
])
def test_provider_addresses_must_be_https_or_loopback(tmp_path, name, value):
    with pytest.raises(RuntimeError, match=f"SENDWELL_{name}"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", name: value})


def test_the_real_providers_are_the_defaults(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k"})
    assert app.config["OAUTH_MICROSOFT_AUTHORITY"] == "https://login.microsoftonline.com"
    assert app.config["OAUTH_GOOGLE_TOKEN_URL"] == "https://oauth2.googleapis.com/token"


# -- the guide --------------------------------------------------------------------------------

LANGS = ["en", "sl", "sw", "it", "ja", "es"]


@pytest.mark.parametrize("lang", LANGS)
def test_the_guide_registers_the_app_with_both_providers_in_every_language(client, lang):
    html = client.get(f"/{lang}/guide").get_data(as_text=True)
    english = client.get("/en/guide").get_data(as_text=True)
    # The provider's steps, then Test and Update; then registering the app.
    for section, steps in (("microsoft-365", 4 + 1 + 7), ("google-oauth", 3 + 1 + 5)):
        assert len(elements(_section(html, section), "li")) == steps, (lang, section)
    entra = _section(html, "microsoft-365")
    assert "SMTP.Send" in entra and "entra.microsoft.com" in entra and "5.7.30" in entra
    google = _section(html, "google-oauth")
    assert "console.cloud.google.com" in google and "7" in google
    for name in ("sign_in_method", "oauth_client_id", "oauth_client_secret", "oauth_tenant",
                 "oauth_redirect_uri"):
        assert element(html, "h3", id=f"field-{name}") is not None
    if lang != "en":
        assert _section(html, "microsoft-365") != _section(english, "microsoft-365")


def test_the_guide_no_longer_tells_microsoft_365_users_to_type_their_password(client):
    section = text_of(_section(client.get("/en/guide").get_data(as_text=True), "microsoft-365"))
    assert "its password in Password" not in section
    assert "Choose Microsoft 365 (OAuth) in Sign-in method" in section
    assert "Press Sign in with Microsoft and sign in with the account of the mailbox" in section
    assert "at the end of December 2026" in section


def _section(html, section_id):
    start = html.index(f'<section id="{section_id}"')
    return html[start:html.index("</section>", start)]


def test_go_leads_only_to_the_configured_providers_sign_in_page(oauth_site):
    from webapp.oauth_tokens import PENDING
    site = oauth_site()
    with site.client.session_transaction() as session:
        session["oauth_state"] = "a-state"
    site.store.put_sign_in(PENDING, "a-state", {"url": "https://evil.example/authorize?x=1"}, 60)
    answer = site.client.get("/oauth/go")
    assert answer.status_code == 302 and answer.headers["Location"] == "/en/settings"
    # Nothing pending: back to the settings too.
    with site.client.session_transaction() as session:
        session["oauth_state"] = "unknown"
    assert site.client.get("/oauth/go").headers["Location"] == "/en/settings"


def test_detect_settings_proposes_the_providers_oauth_sign_in(auth_client, app, dns_server):
    app.config.update(DNS_SERVER=dns_server("").address, DETECT_PORTS="1")
    html = auth_client.get("/en/settings").get_data(as_text=True)
    shown = [marker.attrs["value"] for marker in elements(html, "input", name="shown")]
    fragment = post(auth_client, "/en/settings/detect", {
        "protocol": "SMTP", "detect_address": "anna@outlook.com", "shown": shown}).get_data(as_text=True)
    assert element(fragment, "div", id="choices-sign_in_method").attrs["hx-swap-oob"] == "true"
    assert "checked" in element(fragment, "input", value="microsoft").attrs
    assert element(fragment, "div", id="slot-oauth").attrs["hx-swap-oob"] == "true"
    assert "hidden" in element(fragment, "div", id="slot-password").attrs
