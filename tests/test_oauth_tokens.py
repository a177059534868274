"""The product's OAuth token logic (webapp.mail.oauth, oauth_errors, xoauth2)
against the loopback OAuth server and the XOAUTH2 SMTP server."""

from __future__ import annotations

import base64
import hashlib
import smtplib
import ssl
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from oauth_server import CLIENT_ID, CLIENT_SECRET
from webapp.mail import oauth, oauth_errors, xoauth2
from webapp.mail.oauth import GOOGLE, MICROSOFT

CALLBACK = "http://127.0.0.1:5000/oauth/callback"
BOTH = pytest.mark.parametrize("provider", [MICROSOFT, GOOGLE])


class CountingAdapter(HTTPAdapter):
    """A transport that remembers what went through it."""

    def __init__(self):
        super().__init__(max_retries=0)
        self.sent: list[str] = []
        self.closed = False

    def send(self, request, **kwargs):
        self.sent.append(request.url)
        return super().send(request, **kwargs)

    def close(self):
        self.closed = True
        super().close()


def where(server, provider, tenant=None):
    return oauth.endpoints(provider, server.settings(), tenant)


def query(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def sign_in(server, provider, *, secret=CLIENT_SECRET, transport=None, **kwargs):
    """Authorization request, consent on the server's page, callback, code
    exchange: the TokenResult."""
    endpoints = where(server, provider)
    start = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK)
    callback = oauth.read_callback(provider, query(server.consent(start.url)))
    assert callback.failure is None and oauth.state_matches(start.state, callback.state)
    return oauth.exchange_code(endpoints, CLIENT_ID, secret, CALLBACK, callback.code,
                               start.code_verifier, transport=transport or HTTPAdapter(), **kwargs)


# --- endpoints and the authorization request -------------------------------------------------

def test_endpoints_default_to_the_real_providers():
    microsoft = oauth.endpoints(MICROSOFT)
    assert microsoft.authorize_url == "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
    assert microsoft.token_url == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
    assert microsoft.revoke_url is None
    google = oauth.endpoints(GOOGLE, {"OAUTH_GOOGLE_TOKEN_URL": ""})
    assert (google.authorize_url, google.token_url, google.revoke_url) == (
        "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
        "https://oauth2.googleapis.com/revoke")


def test_endpoints_follow_the_settings_and_the_tenant():
    settings = {"OAUTH_MICROSOFT_AUTHORITY": "https://login.microsoftonline.us/",
                "OAUTH_GOOGLE_AUTHORIZE_URL": "http://127.0.0.1:8/auth"}
    assert oauth.endpoints(MICROSOFT, settings, " contoso.onmicrosoft.com ").token_url == \
        "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token"
    tenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
    assert f"/{tenant}/oauth2/v2.0/authorize" in oauth.endpoints(MICROSOFT, {}, tenant).authorize_url
    assert oauth.endpoints(GOOGLE, settings).authorize_url == "http://127.0.0.1:8/auth"


@pytest.mark.parametrize("tenant", ["../common", "contoso.com/oauth2", "a b", "-x", "x?y=1", "é.com"])
def test_a_tenant_cannot_reshape_the_url(tenant):
    assert not oauth.valid_tenant(tenant)
    with pytest.raises(ValueError):
        oauth.endpoints(MICROSOFT, {}, tenant)
    with pytest.raises(ValueError):
        oauth.endpoints("yahoo")


@BOTH
def test_authorization_request_has_pkce_state_and_the_providers_parameters(provider):
    endpoints = oauth.endpoints(provider)
    first = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK, login_hint="a@example.com")
    second = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK)
    params = query(first.url)
    assert first.url.startswith(endpoints.authorize_url + "?")
    assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK and params["state"] == first.state
    assert params["scope"] == oauth.SCOPES[provider] and params["login_hint"] == "a@example.com"
    assert params["code_challenge_method"] == "S256"
    digest = hashlib.sha256(first.code_verifier.encode()).digest()
    assert params["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert first.state != second.state and first.code_verifier != second.code_verifier
    assert len(first.code_verifier) >= 43 and len(first.state) >= 20
    expected = {"access_type": "offline", "prompt": "consent"} if provider == GOOGLE else {"prompt": "select_account"}
    assert expected.items() <= params.items()
    assert first.code_verifier not in repr(first)  # the URL (and its state) goes to the browser anyway


def test_scopes_are_the_ones_the_smtp_servers_want():
    assert oauth.SCOPES[MICROSOFT].split() == ["https://outlook.office.com/SMTP.Send", "offline_access",
                                               "openid", "email"]
    assert oauth.SCOPES[GOOGLE].split() == ["https://mail.google.com/", "openid", "email"]


# --- the code exchange ---------------------------------------------------------------------

@BOTH
def test_a_full_sign_in_gives_tokens_and_the_account(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    transport = CountingAdapter()
    result = sign_in(server, provider, transport=transport)

    assert result.ok and result.code is None
    token = result.token
    assert token["account"] == "sender@example.com" and token["token_type"] == "Bearer"
    assert token["refresh_token"] and abs(token["expires_at"] - (time.time() + 3600)) < 30
    assert server.is_live_access_token(token["access_token"], "sender@example.com")
    assert transport.sent == [where(server, provider).token_url] and transport.closed
    [exchange] = server.seen("token", grant_type="authorization_code")
    assert exchange.client_auth == "client_secret_post" and exchange.status == 200
    assert exchange.params["redirect_uri"] == CALLBACK
    assert token["access_token"] not in repr(result) and CLIENT_SECRET not in repr(server.requests)


def test_signing_in_again_with_google_still_gives_a_refresh_token(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    first, second = sign_in(server, GOOGLE), sign_in(server, GOOGLE)
    assert first.ok and second.ok  # prompt=consent: Google asks (and answers) again
    assert second.token["refresh_token"] != first.token["refresh_token"]
    assert len(server.seen("authorize", provider=GOOGLE)) == 4  # two pages, two decisions


def test_microsoft_account_falls_back_to_preferred_username(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    server.microsoft_email_claim = False
    assert sign_in(server, MICROSOFT).token["account"] == "sender@example.com"


def test_the_tenant_reaches_the_token_endpoint(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    endpoints = where(server, MICROSOFT, "contoso.onmicrosoft.com")
    start = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK)
    callback = oauth.read_callback(MICROSOFT, query(server.consent(start.url)))
    assert oauth.exchange_code(endpoints, CLIENT_ID, CLIENT_SECRET, CALLBACK, callback.code,
                               start.code_verifier, transport=HTTPAdapter()).ok
    assert {r.tenant for r in server.requests} == {"contoso.onmicrosoft.com"}


def test_proxies_from_the_environment_are_not_used(oauth_server, monkeypatch, unused_port):
    server = oauth_server(redirect_uris=[CALLBACK])
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{unused_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    assert sign_in(server, GOOGLE).ok


@BOTH
def test_consent_refused_comes_back_diagnosed(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    start = oauth.authorization_request(where(server, provider), CLIENT_ID, CALLBACK)
    callback = oauth.read_callback(provider, query(server.consent(start.url, accept=False)))
    assert callback.code is None and oauth.state_matches(start.state, callback.state)
    code, facts = callback.failure
    assert code == "oauth_consent_refused" and facts["error"] == "access_denied"
    assert facts["stage"] == "authorize" and facts["oauth"] == provider
    if provider == MICROSOFT:
        assert facts["aadsts"] == 65004
        assert facts["description"] == "AADSTS65004: User declined to consent to access the app."


def test_state_must_match():
    assert oauth.state_matches("abc", "abc")
    assert not oauth.state_matches("abc", "abd")
    assert not oauth.state_matches("abc", None) and not oauth.state_matches(None, None)
    assert not oauth.state_matches("", "")


def test_a_callback_without_code_or_error_is_a_bad_answer():
    callback = oauth.read_callback(GOOGLE, {"state": "s"})
    assert callback.failure[0] == "oauth_bad_answer"


@BOTH
def test_a_wrong_client_secret_is_diagnosed(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    result = sign_in(server, provider, secret="wrong")
    assert (result.token, result.code) == (None, "oauth_client_rejected")
    assert result.facts["reason"] == "secret_wrong" and result.facts["status"] == 401
    assert result.facts["stage"] == "code" and result.facts["error"] == "invalid_client"
    if provider == MICROSOFT:
        assert result.facts["aadsts"] == 7000215
        assert result.facts["description"].startswith("AADSTS7000215: Invalid client secret provided.")
        assert "Trace ID" not in result.facts["description"]


@BOTH
def test_a_code_redeemed_with_another_redirect_uri_is_a_redirect_mismatch(oauth_server, provider):
    other = "http://127.0.0.1:5000/elsewhere"
    server = oauth_server(redirect_uris=[CALLBACK, other])
    endpoints = where(server, provider)
    start = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK)
    callback = oauth.read_callback(provider, query(server.consent(start.url)))
    result = oauth.exchange_code(endpoints, CLIENT_ID, CLIENT_SECRET, other, callback.code,
                                 start.code_verifier, transport=HTTPAdapter())
    assert result.code == "oauth_redirect_mismatch"


def test_a_used_code_is_a_provider_error(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    endpoints = where(server, MICROSOFT)
    start = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK)
    callback = oauth.read_callback(MICROSOFT, query(server.consent(start.url)))
    args = (endpoints, CLIENT_ID, CLIENT_SECRET, CALLBACK, callback.code, start.code_verifier)
    assert oauth.exchange_code(*args, transport=HTTPAdapter()).ok
    again = oauth.exchange_code(*args, transport=HTTPAdapter())
    assert again.code == "oauth_provider_error" and again.facts["aadsts"] == 54005


@BOTH
def test_an_answer_without_refresh_token_is_refused(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    server.omit_refresh_token = True
    result = sign_in(server, provider)
    assert (result.token, result.code) == (None, "oauth_no_refresh_token")
    assert result.facts == {"oauth": provider, "stage": "code"}


# --- refresh -----------------------------------------------------------------------------------

def test_microsoft_refresh_rotates_and_the_server_sees_a_refresh_grant(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK], access_token_lifetime=60)
    first = sign_in(server, MICROSOFT).token
    assert oauth.needs_refresh(first)  # 60 s left, less than the margin
    result = oauth.refresh(where(server, MICROSOFT), CLIENT_ID, CLIENT_SECRET, first["refresh_token"],
                           transport=HTTPAdapter())
    token = result.token
    assert result.ok and token["refresh_token_rotated"] and token["refresh_token"] != first["refresh_token"]
    assert token["account"] == "sender@example.com"
    assert server.is_live_access_token(token["access_token"], "sender@example.com")
    [grant] = server.seen("token", grant_type="refresh_token")
    assert grant.params["refresh_token"] == server.fingerprint(first["refresh_token"])
    assert grant.params["scope"] == oauth.SCOPES[MICROSOFT] and grant.status == 200


def test_google_refresh_keeps_the_refresh_token(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    first = sign_in(server, GOOGLE).token
    assert not oauth.needs_refresh(first)
    result = oauth.refresh(where(server, GOOGLE), CLIENT_ID, CLIENT_SECRET, first["refresh_token"],
                           transport=HTTPAdapter())
    assert result.ok and not result.token["refresh_token_rotated"]
    assert result.token["refresh_token"] == first["refresh_token"]
    assert "scope" not in server.seen("token", grant_type="refresh_token")[0].params


@pytest.mark.parametrize("provider, spoil, reason", [
    (MICROSOFT, "revoke_grants", "revoked"), (MICROSOFT, "expire_refresh_tokens", "expired"),
    (GOOGLE, "revoke_grants", "expired_or_revoked"), (GOOGLE, "expire_refresh_tokens", "expired_or_revoked"),
])
def test_a_dead_refresh_token_is_diagnosed(oauth_server, provider, spoil, reason):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, provider).token
    getattr(server, spoil)()
    result = oauth.refresh(where(server, provider), CLIENT_ID, CLIENT_SECRET, token["refresh_token"],
                           transport=HTTPAdapter())
    assert (result.token, result.code) == (None, "oauth_grant_revoked")
    assert result.facts["reason"] == reason and result.facts["oauth"] == provider
    assert result.facts["stage"] == "refresh" and result.facts["status"] == 400


@BOTH
def test_an_expired_client_secret_on_refresh(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, provider).token
    server.client_secret_expired = True
    result = oauth.refresh(where(server, provider), CLIENT_ID, CLIENT_SECRET, token["refresh_token"],
                           transport=HTTPAdapter())
    assert result.code == "oauth_client_rejected"
    assert result.facts["reason"] == ("secret_expired" if provider == MICROSOFT else "secret_wrong")


def test_needs_refresh():
    now = 1_000_000
    assert oauth.needs_refresh({"access_token": "t", "expires_at": now + 119}, now=now)
    assert not oauth.needs_refresh({"access_token": "t", "expires_at": now + 121}, now=now)
    assert oauth.needs_refresh({"access_token": "t", "expires_at": None}, now=now)
    assert oauth.needs_refresh({"expires_at": now + 3600}, now=now)


# --- revocation --------------------------------------------------------------------------------

def test_google_revocation(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, GOOGLE).token
    endpoints = where(server, GOOGLE)
    assert oauth.revoke(endpoints, CLIENT_ID, token["refresh_token"], transport=HTTPAdapter()) == \
        oauth.RevokeResult(supported=True, revoked=True)
    assert not server.is_live_access_token(token["access_token"], "sender@example.com")
    again = oauth.revoke(endpoints, CLIENT_ID, token["refresh_token"], transport=HTTPAdapter())
    assert again.revoked and again.facts == {"already_invalid": True}
    [first, _] = server.seen("revoke")
    assert first.params["token"] == server.fingerprint(token["refresh_token"])
    assert "client_secret" not in first.params  # revocation needs no secret


def test_microsoft_has_nothing_to_revoke_and_is_not_asked(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, MICROSOFT).token
    transport = CountingAdapter()
    result = oauth.revoke(where(server, MICROSOFT), CLIENT_ID, token["refresh_token"], transport=transport)
    assert result == oauth.RevokeResult(supported=False, revoked=False) and transport.sent == []


# --- answers that are not OAuth, and transport failures ------------------------------------------

@pytest.mark.parametrize("path, status", [("/redirect", 302), ("/error", 500), ("/anything", 202)])
def test_an_endpoint_that_does_not_speak_oauth_is_a_bad_answer(http_server, path, status):
    endpoint = http_server()
    endpoints = oauth.Endpoints(GOOGLE, "http://127.0.0.1:9/auth", endpoint.url(path), None)
    result = oauth.refresh(endpoints, CLIENT_ID, CLIENT_SECRET, "rt", transport=HTTPAdapter())
    assert result.code == "oauth_bad_answer"
    assert result.facts == {"oauth": GOOGLE, "stage": "refresh", "status": status}
    assert len(endpoint.requests) == 1  # the redirect was not followed


def test_transport_failures_propagate_to_the_caller(unused_port):
    endpoints = oauth.Endpoints(GOOGLE, "http://127.0.0.1:9/auth", f"http://127.0.0.1:{unused_port()}/token", None)
    with pytest.raises(requests.ConnectionError):
        oauth.refresh(endpoints, CLIENT_ID, CLIENT_SECRET, "rt", transport=HTTPAdapter())


def test_https_token_endpoint_with_the_test_ca(oauth_server, server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK], tls_context=server_tls.valid)
    endpoints = where(server, GOOGLE)
    start = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK)
    callback = oauth.read_callback(GOOGLE, query(server.consent(start.url, verify=ca_file)))
    result = oauth.exchange_code(endpoints, CLIENT_ID, CLIENT_SECRET, CALLBACK, callback.code,
                                 start.code_verifier, transport=HTTPAdapter(), verify=ca_file)
    assert result.ok and result.token["account"] == "sender@example.com"


# --- the id_token ------------------------------------------------------------------------------

def test_account_from_id_token_checks_audience_and_shape(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    endpoints = where(server, GOOGLE)
    start = oauth.authorization_request(endpoints, CLIENT_ID, CALLBACK)
    callback = oauth.read_callback(GOOGLE, query(server.consent(start.url)))
    answer = requests.post(endpoints.token_url, data={
        "grant_type": "authorization_code", "code": callback.code, "redirect_uri": CALLBACK,
        "code_verifier": start.code_verifier, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).json()
    id_token = answer["id_token"]
    assert oauth.account_from_id_token(id_token, CLIENT_ID) == "sender@example.com"
    assert oauth.account_from_id_token(id_token, "another-client") is None
    for garbage in (None, "", "not.a.jwt", "a.b", id_token.split(".")[0] + ".e30.x"):
        assert oauth.account_from_id_token(garbage, CLIENT_ID) is None


# --- the error table -------------------------------------------------------------------------

@pytest.mark.parametrize("provider, stage, body, code, extra", [
    (MICROSOFT, "code", {"error": "invalid_client", "error_codes": [7000222]}, "oauth_client_rejected",
     {"reason": "secret_expired", "aadsts": 7000222}),
    (MICROSOFT, "code", {"error": "invalid_client", "error_description": "AADSTS700016: Application..."},
     "oauth_client_rejected", {"reason": "client_unknown", "aadsts": 700016}),
    (MICROSOFT, "code", {"error": "invalid_request", "error_codes": [50011]}, "oauth_redirect_mismatch", {}),
    (MICROSOFT, "refresh", {"error": "invalid_grant", "error_codes": [50076]}, "oauth_grant_revoked",
     {"reason": "sign_in_required"}),
    (MICROSOFT, "refresh", {"error": "invalid_grant", "error_codes": [9002313]}, "oauth_grant_revoked",
     {"reason": "unknown"}),
    (MICROSOFT, "code", {"error": "invalid_grant", "error_codes": [70008]}, "oauth_provider_error", {}),
    (GOOGLE, "code", {"error": "invalid_client", "error_description": "The OAuth client was not found."},
     "oauth_client_rejected", {"reason": "client_unknown"}),
    (GOOGLE, "refresh", {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
     "oauth_grant_revoked", {"reason": "expired_or_revoked"}),
    (GOOGLE, "code", {"error": "redirect_uri_mismatch", "error_description": "Bad Request"},
     "oauth_redirect_mismatch", {}),
    (GOOGLE, "code", {"error": "invalid_scope"}, "oauth_provider_error", {}),
    (GOOGLE, "code", {}, "oauth_bad_answer", {}),
])
def test_token_failures_map_to_diagnoses(provider, stage, body, code, extra):
    found, facts = oauth_errors.token_failure(provider, stage, 400, body)
    assert found == code and found in oauth_errors.CODES
    assert extra.items() <= facts.items()
    assert facts["oauth"] == provider and facts["stage"] == stage and facts["status"] == 400


def test_descriptions_are_cut_and_cleaned():
    body = {"error": "invalid_grant", "error_description": "AADSTS1: " + "\x1b[31m" + "x" * 500 + "\r\nTrace"}
    _, facts = oauth_errors.token_failure(MICROSOFT, "code", 400, body)
    assert len(facts["description"]) == oauth_errors.MAX_DESCRIPTION_CHARS and "\x1b" not in facts["description"]


# --- XOAUTH2 over SMTP -----------------------------------------------------------------------

def test_initial_response_and_its_limits():
    assert xoauth2.initial_response("a@example.com", "ya29.x-y_z") == \
        "user=a@example.com\x01auth=Bearer ya29.x-y_z\x01\x01"
    for user, token in [("a\x01b", "t"), ("a@example.com\r\n", "t"), ("", "t"),
                        ("a@example.com", "t t"), ("a@example.com", ""), ("a@example.com", "tö")]:
        with pytest.raises(ValueError):
            xoauth2.initial_response(user, token)


def test_read_challenge_takes_base64_or_decoded_json():
    text = '{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'
    expected = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
    assert xoauth2.read_challenge(base64.b64encode(text.encode())) == expected
    assert xoauth2.read_challenge(text.encode()) == expected
    for garbage in (None, b"", b"VXNlcm5hbWU6", b"{not json", b"[1]", "%%%"):
        assert xoauth2.read_challenge(garbage) is None


@pytest.mark.parametrize("provider, mechanism, code, text, expected", [
    (MICROSOFT, "PLAIN", 550, "5.7.30 Basic authentication is not supported for Client Submission.",
     ("basic_auth_disabled", {"enhanced": "5.7.30"})),
    (MICROSOFT, "LOGIN", 535, "5.7.139 Authentication unsuccessful, basic authentication is disabled. [X]",
     ("basic_auth_disabled", {"enhanced": "5.7.139"})),
    (MICROSOFT, "XOAUTH2", 535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is "
                                "disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled",
     ("smtp_auth_disabled", {"scope": "tenant"})),
    (MICROSOFT, "XOAUTH2", 535, "5.7.3 Authentication unsuccessful [X]", ("xoauth2_refused", {"enhanced": "5.7.3"})),
    (GOOGLE, "PLAIN", 535, "5.7.8 Username and Password not accepted.", None),
    (GOOGLE, "XOAUTH2", 454, "4.7.0 Try again later", None),
])
def test_auth_failures_map_to_diagnoses(provider, mechanism, code, text, expected):
    found = xoauth2.auth_failure(provider, mechanism, code, text)
    if expected is None:
        assert found is None
    else:
        assert found[0] == expected[0] and expected[1].items() <= found[1].items()


def smtp_sign_in(smtp, ca_file, user, access_token):
    """What the product's SMTP session will do: XOAUTH2 with smtplib, an
    empty answer to a challenge, and the diagnosis of a refusal."""
    challenges = []

    def authobject(challenge=None):
        if challenge is None:
            return xoauth2.initial_response(user, access_token)
        challenges.append(xoauth2.read_challenge(challenge))
        return ""

    with smtplib.SMTP(smtp.host, smtp.port, local_hostname="client.test", timeout=10) as conn:
        conn.starttls(context=ssl.create_default_context(cafile=ca_file))
        conn.ehlo()
        try:
            return conn.auth(xoauth2.MECHANISM, authobject), None
        except smtplib.SMTPAuthenticationError as refused:
            challenge = challenges[-1] if challenges else None
            return None, xoauth2.auth_failure(smtp.handler.provider, xoauth2.MECHANISM, refused.smtp_code,
                                              refused.smtp_error, challenge=challenge,
                                              account="sender@example.com", username=user)


@BOTH
def test_a_fresh_token_signs_in_to_smtp(oauth_server, xoauth2_smtp_server, server_tls, ca_file, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, provider).token
    smtp = xoauth2_smtp_server(server, provider=provider, tls_context=server_tls.valid)
    accepted, failure = smtp_sign_in(smtp, ca_file, token["account"], token["access_token"])
    assert failure is None and accepted[0] == 235
    assert smtp.attempts[0].user == "sender@example.com" and smtp.attempts[0].accepted


@pytest.mark.parametrize("provider, status", [(MICROSOFT, None), (GOOGLE, "401")])
def test_a_refused_token_is_diagnosed_from_the_smtp_answer(oauth_server, xoauth2_smtp_server, server_tls,
                                                         ca_file, provider, status):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, provider).token
    server.expire_access_tokens()
    smtp = xoauth2_smtp_server(server, provider=provider, tls_context=server_tls.valid)
    accepted, (code, facts) = smtp_sign_in(smtp, ca_file, "sender@example.com", token["access_token"])
    assert accepted is None and code == "xoauth2_refused"
    assert facts.get("challenge_status") == status and facts["reply_code"] == 535
    assert facts["account_differs"] is False
    assert smtp.attempts[0].client_answer in (None, "")


def test_a_token_sent_for_another_username_says_so(oauth_server, xoauth2_smtp_server, server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, MICROSOFT).token
    smtp = xoauth2_smtp_server(server, provider=MICROSOFT, tls_context=server_tls.valid)
    _, (code, facts) = smtp_sign_in(smtp, ca_file, "office@example.com", token["access_token"])
    assert code == "xoauth2_refused" and facts["account_differs"] is True
    assert facts["login"] == "office@example.com" and facts["enhanced"] == "5.7.3"


def test_smtp_auth_disabled_for_the_mailbox_under_xoauth2(oauth_server, xoauth2_smtp_server, server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, MICROSOFT).token
    smtp = xoauth2_smtp_server(server, provider=MICROSOFT, tls_context=server_tls.valid)
    smtp.handler.smtp_auth_disabled = True
    _, (code, facts) = smtp_sign_in(smtp, ca_file, "sender@example.com", token["access_token"])
    assert (code, facts["scope"], facts["enhanced"]) == ("smtp_auth_disabled", "mailbox", "5.7.139")
