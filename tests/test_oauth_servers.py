"""The loopback OAuth 2.0 server and the XOAUTH2 SMTP server, tested with
Authlib's own client and smtplib, so that the product's tests can trust them.

What the servers copy from the real providers, and where it was seen:

- Microsoft token endpoint errors: JSON with ``error``, ``error_description``
  ("AADSTSnnn: text\\r\\nTrace ID: ...\\r\\nCorrelation ID: ...\\r\\nTimestamp:
  ..."), ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``,
  ``error_uri`` (learn.microsoft.com "Token Issuance Endpoint Errors";
  answers quoted in Azure/azure-cli#14244, Azure/sap-automation#418).
  invalid_client AADSTS7000215 (wrong secret, HTTP 401) and AADSTS7000222
  (expired secret; Azure-Samples/ms-identity-python-webapp#67); invalid_grant
  AADSTS700082 (refresh token unused for 90 days), AADSTS50173 (grant revoked,
  e.g. password reset; microsoft/azuredatastudio#13953).
- Microsoft authorize errors: consent refused comes back as
  ``error=access_denied&error_description=AADSTS65004: User declined to
  consent to access the app.`` (MicrosoftDocs/azure-docs#114009); an
  unregistered redirect URI is shown on Microsoft's own page as AADSTS50011
  and never redirected (unoplatform/uno.todo#180).
- Google: ``{"error": "invalid_grant", "error_description": "Token has been
  expired or revoked."}`` (400) for a revoked or expired refresh token;
  ``{"error": "invalid_client", "error_description": "Unauthorized"}`` (401)
  for a wrong secret; ``redirect_uri_mismatch`` on Google's own "Error 400"
  page at the authorize step (googleapis/google-api-php-client#2559) and as
  the error of a token request with another redirect_uri
  (googleapis/google-api-nodejs-client#744); consent refused redirects with
  ``error=access_denied``; a refresh token only with ``access_type=offline``,
  and after the first consent only with ``prompt=consent``.
- SMTP: Gmail's XOAUTH2 error is a 334 challenge carrying base64 JSON with
  ``status``, ``schemes`` and ``scope`` (developers.google.com/gmail
  "XOAUTH2 protocol"), then ``535-5.7.8 Username and Password not
  accepted``; Exchange Online says ``535 5.7.3 Authentication unsuccessful``
  (tarickb/sasl-xoauth2#43), ``535 5.7.139 Authentication unsuccessful,
  SmtpClientAuthentication is disabled for the ...`` (nodemailer#1484) and,
  once Basic authentication is retired, ``550 5.7.30 Basic authentication is
  not supported for Client Submission.`` (Microsoft's retirement notice
  MC786329, as quoted by university IT notices).
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.base_client import OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet

from oauth_server import CLIENT_ID, CLIENT_SECRET, GOOGLE, MICROSOFT

CALLBACK = "http://127.0.0.1:5000/oauth/callback"
SCOPES = {MICROSOFT: "https://outlook.office.com/SMTP.Send offline_access openid email",
          GOOGLE: "https://mail.google.com/ openid email"}
OFFLINE = {MICROSOFT: {}, GOOGLE: {"access_type": "offline", "prompt": "consent"}}
BOTH = pytest.mark.parametrize("provider", [MICROSOFT, GOOGLE])


def endpoints(server, provider):
    if provider == MICROSOFT:
        return server.microsoft_authorize_url(), server.microsoft_token_url()
    return server.google_authorize_url, server.google_token_url


def client(provider, *, secret=CLIENT_SECRET, scope=None, redirect_uri=CALLBACK, verify=True):
    session = OAuth2Session(CLIENT_ID, secret, scope=scope or SCOPES[provider],
                            redirect_uri=redirect_uri, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_post")
    session.trust_env = False
    session.verify = verify
    return session


def authorize(server, provider, session, *, accept=True, verify=True, **params):
    """Start a sign-in, consent on the server's page; (redirect, verifier, state)."""
    verifier = generate_token(48)
    url, state = session.create_authorization_url(endpoints(server, provider)[0],
                                                  code_verifier=verifier, **params)
    return server.consent(url, accept=accept, verify=verify), verifier, state


def query(location):
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def sign_in(server, provider, *, verify=True, **params):
    """A whole code flow with PKCE; the token answer."""
    session = client(provider, verify=verify)
    params = {**OFFLINE[provider], **params}
    location, verifier, _ = authorize(server, provider, session, verify=verify, **params)
    return session.fetch_token(endpoints(server, provider)[1], code=query(location)["code"],
                               code_verifier=verifier)


def token_request(server, provider, **form):
    """A raw POST to the token endpoint, to see the answer as it is."""
    form.setdefault("client_id", CLIENT_ID)
    form.setdefault("client_secret", CLIENT_SECRET)
    return requests.post(endpoints(server, provider)[1], data=form, timeout=10)


def raw_code(server, provider, redirect_uri=CALLBACK, **params):
    session = client(provider, redirect_uri=redirect_uri)
    location, verifier, _ = authorize(server, provider, session, **{**OFFLINE[provider], **params})
    return query(location)["code"], verifier


def assert_microsoft_error(answer, status, error, number):
    body = answer.json()
    assert answer.status_code == status
    assert body["error"] == error
    assert body["error_codes"] == [number]
    assert body["error_description"].startswith(f"AADSTS{number}: ")
    assert "\r\nTrace ID: " in body["error_description"]
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= body.keys()
    return body


# --- the code flow --------------------------------------------------------------------

def test_microsoft_code_flow_with_pkce_gives_tokens_and_a_signed_id_token(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, MICROSOFT)

    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert token["refresh_token"] and token["scope"] == "https://outlook.office.com/SMTP.Send"
    keys = KeySet.import_key_set(requests.get(server.jwks_url(MICROSOFT), timeout=10).json())
    claims = jwt.decode(token["id_token"], keys).claims
    assert claims["email"] == claims["preferred_username"] == "sender@example.com"
    assert claims["aud"] == CLIENT_ID and claims["tid"] == server.tenant_id
    assert server.is_live_access_token(token["access_token"], "sender@example.com")
    assert server.is_live_access_token(token["access_token"], "SENDER@example.com")
    assert not server.is_live_access_token(token["access_token"], "someone@example.com")
    assert not server.is_live_access_token(token["refresh_token"], "sender@example.com")

    [exchange] = server.seen("token", grant_type="authorization_code")
    assert exchange.provider == MICROSOFT and exchange.tenant == "organizations"
    assert exchange.client_auth == "client_secret_post" and exchange.status == 200
    assert exchange.params["client_secret"] == server.fingerprint(CLIENT_SECRET)
    [start, _] = server.seen("authorize")
    assert start.params["code_challenge_method"] == "S256"
    assert "offline_access" in start.params["scope"].split()
    recorded = repr(server.requests)
    assert CLIENT_SECRET not in recorded and token["access_token"] not in recorded


def test_google_code_flow_asks_for_offline_access_and_echoes_google_scope_names(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, GOOGLE)

    assert token["refresh_token"]
    assert token["scope"].split() == ["https://mail.google.com/", "openid",
                                      "https://www.googleapis.com/auth/userinfo.email"]
    keys = KeySet.import_key_set(requests.get(server.jwks_url(GOOGLE), timeout=10).json())
    claims = jwt.decode(token["id_token"], keys).claims
    assert claims["email"] == "sender@example.com" and claims["email_verified"] is True
    assert claims["iss"] == "https://accounts.google.com"
    assert server.seen("authorize", provider=GOOGLE)[0].params["access_type"] == "offline"


def test_the_flow_works_over_https_with_the_test_ca(oauth_server, server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK], tls_context=server_tls.valid)
    assert server.base_url.startswith("https://127.0.0.1:")
    token = sign_in(server, GOOGLE, verify=ca_file)
    assert server.is_live_access_token(token["access_token"], "sender@example.com")


def test_pkce_is_required_and_checked(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    session = client(MICROSOFT)
    url, _ = session.create_authorization_url(server.microsoft_authorize_url())  # no verifier
    refused = query(server.consent(url))
    assert refused["error"] == "invalid_request" and "code_challenge" in refused["error_description"]

    code, _ = raw_code(server, MICROSOFT)
    answer = token_request(server, MICROSOFT, grant_type="authorization_code", code=code,
                           redirect_uri=CALLBACK, code_verifier=generate_token(48))
    assert_microsoft_error(answer, 400, "invalid_grant", 501481)


def test_a_code_is_good_once(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    code, verifier = raw_code(server, MICROSOFT)
    form = dict(grant_type="authorization_code", code=code, redirect_uri=CALLBACK,
                code_verifier=verifier)
    assert token_request(server, MICROSOFT, **form).status_code == 200
    assert_microsoft_error(token_request(server, MICROSOFT, **form), 400, "invalid_grant", 54005)


def test_microsoft_id_token_without_email_claim_still_has_preferred_username(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    server.microsoft_email_claim = False
    claims = jwt.decode(sign_in(server, MICROSOFT)["id_token"],
                        KeySet.import_key_set(requests.get(server.jwks_url(MICROSOFT)).json())).claims
    assert "email" not in claims and claims["preferred_username"] == "sender@example.com"


# --- refresh, rotation, expiry, revocation -------------------------------------------------

def test_microsoft_rotates_the_refresh_token_and_the_old_one_stops_working(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    first = sign_in(server, MICROSOFT)
    session = client(MICROSOFT)
    second = session.refresh_token(server.microsoft_token_url(), refresh_token=first["refresh_token"])

    assert second["refresh_token"] != first["refresh_token"]
    assert server.is_live_access_token(second["access_token"], "sender@example.com")
    [refresh] = server.seen("token", grant_type="refresh_token")
    assert refresh.params["refresh_token"] == server.fingerprint(first["refresh_token"])
    assert refresh.status == 200
    answer = token_request(server, MICROSOFT, grant_type="refresh_token",
                           refresh_token=first["refresh_token"])
    assert_microsoft_error(answer, 400, "invalid_grant", 9002313)


def test_google_keeps_the_refresh_token(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    first = sign_in(server, GOOGLE)
    for _ in range(2):
        answer = token_request(server, GOOGLE, grant_type="refresh_token",
                               refresh_token=first["refresh_token"])
        assert answer.status_code == 200
        assert "refresh_token" not in answer.json() and answer.json()["id_token"]
    assert len(server.seen("token", grant_type="refresh_token")) == 2


def test_rotation_can_be_switched_off(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK], rotate_refresh_tokens=False)
    first = sign_in(server, MICROSOFT)
    answer = token_request(server, MICROSOFT, grant_type="refresh_token",
                           refresh_token=first["refresh_token"])
    assert answer.status_code == 200 and "refresh_token" not in answer.json()


def test_access_tokens_live_as_long_as_configured(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK], access_token_lifetime=2)
    token = sign_in(server, GOOGLE)
    assert token["expires_in"] == 2
    assert server.access_token_status(token["access_token"], "sender@example.com") == "live"
    server.expire_access_tokens()
    assert server.access_token_status(token["access_token"], "sender@example.com") == "expired"


def test_google_revocation_ends_the_grant(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, GOOGLE)
    revoke = requests.post(server.google_revoke_url, data={"token": token["refresh_token"]}, timeout=10)
    assert (revoke.status_code, revoke.json()) == (200, {})
    assert not server.is_live_access_token(token["access_token"], "sender@example.com")
    answer = token_request(server, GOOGLE, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert (answer.status_code, answer.json()) == (400, {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    again = requests.post(server.google_revoke_url, data={"token": token["refresh_token"]}, timeout=10)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_token")
    assert [r.params["token"] for r in server.seen("revoke")] == [server.fingerprint(token["refresh_token"])] * 2


def test_microsoft_has_no_revocation_endpoint(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    answer = requests.post(f"{server.microsoft_authority}/organizations/oauth2/v2.0/revoke",
                           data={"token": "x"}, timeout=10)
    assert answer.status_code == 404


@BOTH
@pytest.mark.parametrize("end_grant, microsoft_number, microsoft_words", [
    ("revoke_grants", 50173, "being revoked"),
    ("expire_refresh_tokens", 700082, "expired due to inactivity"),
])
def test_a_revoked_or_expired_grant_refuses_refresh_in_the_providers_words(
        oauth_server, provider, end_grant, microsoft_number, microsoft_words):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, provider)
    getattr(server, end_grant)()
    answer = token_request(server, provider, grant_type="refresh_token", refresh_token=token["refresh_token"])
    if provider == MICROSOFT:
        body = assert_microsoft_error(answer, 400, "invalid_grant", microsoft_number)
        assert microsoft_words in body["error_description"]
    else:
        assert (answer.status_code, answer.json()) == (400, {
            "error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    with pytest.raises(OAuthError) as raised:
        client(provider).refresh_token(endpoints(server, provider)[1], refresh_token=token["refresh_token"])
    assert raised.value.error == "invalid_grant"


def test_google_without_offline_access_gives_no_refresh_token(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, GOOGLE, access_type="online", prompt="consent")
    assert "refresh_token" not in token and token["access_token"]


def test_google_gives_a_refresh_token_again_only_with_prompt_consent(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    assert sign_in(server, GOOGLE, prompt="select_account")["refresh_token"]  # first consent
    pages_before = len(server.seen("authorize"))
    again = sign_in(server, GOOGLE, prompt="select_account")
    assert "refresh_token" not in again
    assert len(server.seen("authorize")) == pages_before + 1  # no consent page the second time
    assert sign_in(server, GOOGLE)["refresh_token"]  # prompt=consent


def test_microsoft_without_offline_access_gives_no_refresh_token(oauth_server):
    server = oauth_server(redirect_uris=[CALLBACK])
    session = client(MICROSOFT, scope="https://outlook.office.com/SMTP.Send openid email")
    location, verifier, _ = authorize(server, MICROSOFT, session)
    token = session.fetch_token(server.microsoft_token_url(), code=query(location)["code"],
                                code_verifier=verifier)
    assert "refresh_token" not in token


@BOTH
def test_omit_refresh_token_switch(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    server.omit_refresh_token = True
    assert "refresh_token" not in sign_in(server, provider)


# --- consent, redirect URI and client errors ------------------------------------------------

@BOTH
def test_deny_on_the_consent_page_redirects_with_access_denied(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    location, _, state = authorize(server, provider, client(provider), accept=False, **OFFLINE[provider])
    params = query(location)
    assert location.startswith(CALLBACK + "?")
    assert params["error"] == "access_denied" and params["state"] == state and "code" not in params
    if provider == MICROSOFT:
        assert params["error_description"].startswith(
            "AADSTS65004: User declined to consent to access the app.")
    else:
        assert "error_description" not in params


@BOTH
def test_an_unregistered_redirect_uri_stays_on_the_providers_error_page(oauth_server, provider):
    server = oauth_server(redirect_uris=["https://elsewhere.example/oauth/callback"])
    url, _ = client(provider).create_authorization_url(endpoints(server, provider)[0],
                                                       code_verifier=generate_token(48))
    page = requests.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers
    if provider == MICROSOFT:
        assert f"AADSTS50011: The redirect URI &#x27;{CALLBACK}&#x27; specified in the request" in page.text
    else:
        assert "Error 400: redirect_uri_mismatch" in page.text and CALLBACK in page.text
    with pytest.raises(AssertionError):
        server.consent(url)


@BOTH
def test_redeeming_a_code_with_another_redirect_uri_is_a_mismatch(oauth_server, provider):
    other = "http://127.0.0.1:5000/other/callback"
    server = oauth_server(redirect_uris=[CALLBACK, other])
    code, verifier = raw_code(server, provider)
    answer = token_request(server, provider, grant_type="authorization_code", code=code,
                           redirect_uri=other, code_verifier=verifier)
    if provider == MICROSOFT:
        assert_microsoft_error(answer, 400, "invalid_grant", 50011)
    else:
        assert (answer.status_code, answer.json()) == (400, {
            "error": "redirect_uri_mismatch", "error_description": "Bad Request"})


@BOTH
def test_a_wrong_client_secret_is_invalid_client(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    code, verifier = raw_code(server, provider)
    answer = token_request(server, provider, grant_type="authorization_code", code=code,
                           redirect_uri=CALLBACK, code_verifier=verifier, client_secret="not-it")
    if provider == MICROSOFT:
        body = assert_microsoft_error(answer, 401, "invalid_client", 7000215)
        assert "Invalid client secret provided" in body["error_description"]
    else:
        assert (answer.status_code, answer.json()) == (401, {
            "error": "invalid_client", "error_description": "Unauthorized"})


@BOTH
def test_an_expired_client_secret_is_invalid_client(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(server, provider)
    server.client_secret_expired = True
    answer = token_request(server, provider, grant_type="refresh_token", refresh_token=token["refresh_token"])
    if provider == MICROSOFT:
        body = assert_microsoft_error(answer, 401, "invalid_client", 7000222)
        assert "are expired" in body["error_description"]
    else:
        assert answer.json() == {"error": "invalid_client", "error_description": "Unauthorized"}


@BOTH
def test_an_unknown_client_id(oauth_server, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    answer = token_request(server, provider, grant_type="refresh_token", refresh_token="x",
                           client_id="no-such-client")
    if provider == MICROSOFT:
        assert_microsoft_error(answer, 401, "invalid_client", 700016)
    else:
        assert answer.json() == {"error": "invalid_client",
                                 "error_description": "The OAuth client was not found."}


# --- the XOAUTH2 SMTP server ------------------------------------------------------------------

def xoauth2(user, token):
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def starttls_client(smtp, ca_file):
    conn = smtplib.SMTP(smtp.host, smtp.port, local_hostname="client.test", timeout=10)
    conn.starttls(context=ssl.create_default_context(cafile=ca_file))
    conn.ehlo()
    return conn


def message():
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "sender@example.com", "to@example.net", "XOAUTH2"
    mail.set_content("Signed in with a token.")
    return mail


@BOTH
def test_xoauth2_with_a_live_token_sends_over_starttls(oauth_server, xoauth2_smtp_server,
                                                       server_tls, ca_file, provider):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(oauth, provider)
    smtp = xoauth2_smtp_server(oauth, provider=provider, tls_context=server_tls.valid,
                               require_starttls=True)
    with starttls_client(smtp, ca_file) as conn:
        assert "XOAUTH2" in conn.esmtp_features["auth"].split()
        code, _ = conn.auth("XOAUTH2", lambda challenge=None: None if challenge is not None else
                              f"user=sender@example.com\x01auth=Bearer {token['access_token']}\x01\x01")
        assert code == 235
        conn.send_message(message())
    [mail] = smtp.received
    assert mail.login == "sender@example.com" and mail.tls and mail.authenticated
    [attempt] = smtp.attempts
    assert attempt.accepted and attempt.token == oauth.fingerprint(token["access_token"])


def test_xoauth2_after_an_empty_334_and_over_implicit_tls(oauth_server, xoauth2_smtp_server,
                                                          server_tls, ca_file):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(oauth, MICROSOFT)
    smtp = xoauth2_smtp_server(oauth, provider=MICROSOFT, ssl_context=server_tls.valid)
    context = ssl.create_default_context(cafile=ca_file)
    with smtplib.SMTP_SSL(smtp.host, smtp.port, local_hostname="client.test", context=context,
                          timeout=10) as conn:
        conn.ehlo()
        assert conn.docmd("AUTH", "XOAUTH2") == (334, b"")
        assert conn.docmd(xoauth2("sender@example.com", token["access_token"]))[0] == 235
    assert smtp.attempts[0].accepted


def test_google_refuses_an_expired_token_with_its_json_challenge(oauth_server, xoauth2_smtp_server,
                                                                 server_tls, ca_file):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(oauth, GOOGLE)
    oauth.expire_access_tokens()
    smtp = xoauth2_smtp_server(oauth, provider=GOOGLE, tls_context=server_tls.valid)
    with starttls_client(smtp, ca_file) as conn:
        code, challenge = conn.docmd("AUTH", "XOAUTH2 " + xoauth2("sender@example.com", token["access_token"]))
        assert code == 334
        assert json.loads(base64.b64decode(challenge)) == {
            "status": "401", "schemes": "Bearer", "scope": "https://mail.google.com/"}
        code, reply = conn.docmd("")
        assert code == 535
        assert reply.startswith(b"5.7.8 Username and Password not accepted.")
    assert smtp.attempts[0].token_status == "expired" and smtp.attempts[0].client_answer == ""
    assert not smtp.received


def test_google_says_400_for_a_token_it_never_issued(oauth_server, xoauth2_smtp_server,
                                                    server_tls, ca_file):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    smtp = xoauth2_smtp_server(oauth, provider=GOOGLE, tls_context=server_tls.valid)
    with starttls_client(smtp, ca_file) as conn:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            conn.auth("XOAUTH2", lambda challenge=None: "" if challenge is not None else
                        "user=sender@example.com\x01auth=Bearer ya29.made-up\x01\x01")
        assert refused.value.smtp_code == 535
    assert smtp.attempts[0].token_status == "unknown"


@pytest.mark.parametrize("spoil", ["revoke", "other_user"])
def test_microsoft_refuses_a_bad_token_with_5_7_3(oauth_server, xoauth2_smtp_server, server_tls,
                                                   ca_file, spoil):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(oauth, MICROSOFT)
    user = "sender@example.com"
    if spoil == "revoke":
        oauth.revoke_grants()
    else:
        user = "someone.else@example.com"
    smtp = xoauth2_smtp_server(oauth, provider=MICROSOFT, tls_context=server_tls.valid)
    with starttls_client(smtp, ca_file) as conn:
        code, reply = conn.docmd("AUTH", "XOAUTH2 " + xoauth2(user, token["access_token"]))
    assert code == 535 and reply.startswith(b"5.7.3 Authentication unsuccessful")
    assert smtp.attempts[0].token_status == ("revoked" if spoil == "revoke" else "wrong_user")


def test_a_shared_mailbox_in_send_as_is_accepted(oauth_server, xoauth2_smtp_server, server_tls, ca_file):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(oauth, MICROSOFT)
    smtp = xoauth2_smtp_server(oauth, provider=MICROSOFT, tls_context=server_tls.valid)
    smtp.handler.send_as.add("office@example.com")
    with starttls_client(smtp, ca_file) as conn:
        assert conn.docmd("AUTH", "XOAUTH2 " + xoauth2("office@example.com", token["access_token"]))[0] == 235
        conn.send_message(message())
    assert smtp.received[0].login == "office@example.com"


def test_a_token_without_the_mail_scope_is_refused(oauth_server, xoauth2_smtp_server, server_tls, ca_file):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    session = client(GOOGLE, scope="openid email")
    location, verifier, _ = authorize(oauth, GOOGLE, session, **OFFLINE[GOOGLE])
    token = session.fetch_token(oauth.google_token_url, code=query(location)["code"], code_verifier=verifier)
    smtp = xoauth2_smtp_server(oauth, provider=GOOGLE, tls_context=server_tls.valid)
    with starttls_client(smtp, ca_file) as conn:
        assert conn.docmd("AUTH", "XOAUTH2 " + xoauth2("sender@example.com", token["access_token"]))[0] == 334
        assert conn.docmd("")[0] == 535
    assert smtp.attempts[0].token_status == "wrong_scope"


def test_password_login_when_basic_authentication_is_retired(oauth_server, xoauth2_smtp_server,
                                                             server_tls, ca_file, smtp_credentials):
    oauth = oauth_server()
    smtp = xoauth2_smtp_server(oauth, provider=MICROSOFT, tls_context=server_tls.valid)
    # UTF-8 credentials (RFC 4616), which smtplib.login() cannot send.
    plain = base64.b64encode(
        f"\0{smtp_credentials.user}\0{smtp_credentials.password}".encode()).decode()
    with starttls_client(smtp, ca_file) as conn:
        assert conn.docmd("AUTH", "PLAIN " + plain) == (
            550, b"5.7.30 Basic authentication is not supported for Client Submission.")

    smtp.handler.password_login = "accept"
    with starttls_client(smtp, ca_file) as conn:
        assert conn.docmd("AUTH", "PLAIN " + plain)[0] == 235
    assert [(a.mechanism, a.user, a.accepted) for a in smtp.attempts] == [
        ("PLAIN", smtp_credentials.user, False), ("PLAIN", smtp_credentials.user, True)]


def test_smtp_auth_disabled_for_the_mailbox_refuses_xoauth2_too(oauth_server, xoauth2_smtp_server,
                                                                server_tls, ca_file):
    oauth = oauth_server(redirect_uris=[CALLBACK])
    token = sign_in(oauth, MICROSOFT)
    smtp = xoauth2_smtp_server(oauth, provider=MICROSOFT, tls_context=server_tls.valid)
    smtp.handler.smtp_auth_disabled = True
    with starttls_client(smtp, ca_file) as conn:
        code, reply = conn.docmd("AUTH", "XOAUTH2 " + xoauth2("sender@example.com", token["access_token"]))
    assert code == 535 and b"5.7.139" in reply and b"SmtpClientAuthentication is disabled" in reply


def test_no_auth_before_tls(oauth_server, xoauth2_smtp_server, server_tls):
    smtp = xoauth2_smtp_server(oauth_server(), provider=GOOGLE, tls_context=server_tls.valid)
    with smtplib.SMTP(smtp.host, smtp.port, local_hostname="client.test", timeout=10) as conn:
        conn.ehlo()
        assert "auth" not in conn.esmtp_features
        assert conn.docmd("AUTH", "XOAUTH2 " + xoauth2("sender@example.com", "t"))[0] == 538
    assert smtp.attempts == []
