"""SMTP delivery signed in with OAuth: AUTH XOAUTH2 with a live access token,
the token fetched from the (loopback) provider as the "token" step under the
same deadline, and every refusal diagnosed. Real servers: the loopback OAuth
server and aiosmtpd taking its tokens."""

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from requests.adapters import HTTPAdapter

from helpers import assert_failed
from oauth_server import CLIENT_ID, CLIENT_SECRET
from webapp.mail import oauth, oauth_web, smtp
from webapp.mail.attempt import Attempt
from webapp.mail.message import build_message
from webapp.mail.smtp import SmtpDestination
from webapp.mail.xoauth2 import OAuthLogin

CALLBACK = "http://127.0.0.1:5000/oauth/callback"
ACCOUNT = "sender@example.com"
BOTH = pytest.mark.parametrize("provider", [oauth.MICROSOFT, oauth.GOOGLE])


def signed_in(server, provider):
    """A grant, as the callback leaves it: the token dict of a code exchange."""
    where = oauth.endpoints(provider, server.settings())
    start = oauth.authorization_request(where, CLIENT_ID, CALLBACK)
    query = {k: v[0] for k, v in parse_qs(urlsplit(server.consent(start.url)).query).items()}
    result = oauth.exchange_code(where, CLIENT_ID, CLIENT_SECRET, CALLBACK, query["code"],
                                 start.code_verifier, transport=HTTPAdapter())
    assert result.ok, result
    return result.token


def refreshing(server, provider, refresh_token, *, secret=CLIENT_SECRET, cafile=None, seen=None):
    """An OAuthLogin that always asks the provider for a fresh access token."""
    where = oauth.endpoints(provider, server.settings())

    def access_token(attempt: Attempt) -> str:
        token = oauth_web.refresh(attempt, where, CLIENT_ID, secret, refresh_token, cafile=cafile)
        if seen is not None:
            seen.append(token)
        return token["access_token"]

    return OAuthLogin(provider, access_token, account=ACCOUNT)


def holding(token, provider, account=ACCOUNT):
    return OAuthLogin(provider, lambda attempt: token["access_token"], account=account)


def deliver(smtp_server, login, *, username=ACCOUNT, ca_file=None, deadline_s=3.0):
    dest = SmtpDestination(smtp_server.host, smtp_server.port, "starttls", username=username, oauth=login)
    message = build_message(from_address=username, to=["client@example.org"], subject="XOAUTH2",
                            body="Signed in with a token.\n")
    return smtp.send(dest, message, envelope_from=username, envelope_to=["client@example.org"],
                     deadline_s=deadline_s, cafile=ca_file)


def names(result):
    return [step.name for step in result.steps]


def everything_shown(result):
    return repr(result)


@BOTH
def test_a_send_refreshes_the_token_first_then_signs_in_with_xoauth2(
        oauth_server, xoauth2_smtp_server, server_tls, ca_file, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, provider)
    mail_server = xoauth2_smtp_server(server, provider=provider, tls_context=server_tls.valid,
                                      require_starttls=True)
    fresh = []
    result = deliver(mail_server, refreshing(server, provider, grant["refresh_token"], seen=fresh),
                     ca_file=ca_file)

    assert result.ok, result.diagnosis
    assert names(result)[:2] == ["token", "resolve"]
    token_step = result.steps[0]
    assert token_step.ok and token_step.elapsed_ms > 0 and token_step.detail == {"host": "127.0.0.1"}
    login = next(step for step in result.steps if step.name == "login")
    assert login.detail == {"mechanism": "XOAUTH2", "username": ACCOUNT}
    assert len(server.seen("token", grant_type="refresh_token")) == 1
    [mail] = mail_server.received
    assert mail.login == ACCOUNT and mail.authenticated and mail.tls
    [attempt] = mail_server.attempts
    assert attempt.token == server.fingerprint(fresh[0]["access_token"])
    shown = everything_shown(result)
    for secret in (fresh[0]["access_token"], fresh[0]["refresh_token"], grant["refresh_token"],
                   CLIENT_SECRET, base64.b64encode(fresh[0]["access_token"].encode()).decode()):
        assert secret not in shown


def test_a_live_token_needs_no_token_step(oauth_server, xoauth2_smtp_server, server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, oauth.MICROSOFT)
    mail_server = xoauth2_smtp_server(server, provider=oauth.MICROSOFT, tls_context=server_tls.valid)
    result = deliver(mail_server, holding(grant, oauth.MICROSOFT), ca_file=ca_file)
    assert result.ok and "token" not in names(result)
    assert server.seen("token", grant_type="refresh_token") == []


@BOTH
def test_a_revoked_grant_stops_at_the_token_step_before_any_mail_server(
        oauth_server, xoauth2_smtp_server, server_tls, ca_file, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, provider)
    server.revoke_grants()
    mail_server = xoauth2_smtp_server(server, provider=provider, tls_context=server_tls.valid)
    result = deliver(mail_server, refreshing(server, provider, grant["refresh_token"]), ca_file=ca_file)
    diagnosis = assert_failed(result, "oauth_grant_revoked", "token")
    assert names(result) == ["token"] and mail_server.attempts == []
    assert diagnosis.facts["oauth"] == provider and diagnosis.facts["token_host"] == "127.0.0.1"
    assert diagnosis.reply_code == 400 and diagnosis.reply_text  # the provider's own words
    assert bool(diagnosis.facts.get("testing_expiry")) == (provider == oauth.GOOGLE)


@BOTH
def test_an_expired_client_secret_is_diagnosed_at_the_token_step(
        oauth_server, xoauth2_smtp_server, server_tls, ca_file, provider):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, provider)
    server.client_secret_expired = True
    mail_server = xoauth2_smtp_server(server, provider=provider, tls_context=server_tls.valid)
    result = deliver(mail_server, refreshing(server, provider, grant["refresh_token"]), ca_file=ca_file)
    diagnosis = assert_failed(result, "oauth_client_rejected", "token")
    if provider == oauth.MICROSOFT:
        assert diagnosis.facts["secret_expired"] and diagnosis.facts["aadsts"] == 7000222
    assert CLIENT_SECRET not in everything_shown(result)


def test_an_unreachable_token_endpoint_is_a_network_failure_of_the_token_step(
        oauth_server, xoauth2_smtp_server, server_tls, unused_port):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, oauth.GOOGLE)
    gone = f"http://127.0.0.1:{unused_port()}/token"
    where = oauth.endpoints(oauth.GOOGLE, {**server.settings(), "OAUTH_GOOGLE_TOKEN_URL": gone})
    login = OAuthLogin(oauth.GOOGLE, lambda attempt: oauth_web.refresh(
        attempt, where, CLIENT_ID, CLIENT_SECRET, grant["refresh_token"], cafile=None)["access_token"])
    mail_server = xoauth2_smtp_server(server, provider=oauth.GOOGLE, tls_context=server_tls.valid)
    diagnosis = assert_failed(deliver(mail_server, login), "connection_refused", "token")
    assert diagnosis.facts["oauth"] == oauth.GOOGLE


def test_a_dripping_token_endpoint_keeps_the_deadline(oauth_server, http_server, xoauth2_smtp_server,
                                                      server_tls):
    server = oauth_server(redirect_uris=[CALLBACK])
    drip = http_server()
    where = oauth.endpoints(oauth.GOOGLE, {**server.settings(),
                                           "OAUTH_GOOGLE_TOKEN_URL": drip.url("/drip")})
    login = OAuthLogin(oauth.GOOGLE, lambda attempt: oauth_web.refresh(
        attempt, where, CLIENT_ID, CLIENT_SECRET, "a-refresh-token", cafile=None)["access_token"])
    mail_server = xoauth2_smtp_server(server, provider=oauth.GOOGLE, tls_context=server_tls.valid)
    started = time.monotonic()
    result = deliver(mail_server, login, deadline_s=1.0)
    assert time.monotonic() - started < 2.0
    assert_failed(result, "timed_out", "token")


def test_google_refuses_an_expired_token_with_its_challenge(oauth_server, xoauth2_smtp_server,
                                                            server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, oauth.GOOGLE)
    server.expire_access_tokens()
    mail_server = xoauth2_smtp_server(server, provider=oauth.GOOGLE, tls_context=server_tls.valid)
    result = deliver(mail_server, holding(grant, oauth.GOOGLE), ca_file=ca_file)
    diagnosis = assert_failed(result, "xoauth2_refused", "login")
    assert diagnosis.facts["challenge_status"] == "401" and diagnosis.facts["oauth"] == oauth.GOOGLE
    assert diagnosis.reply_code == 535 and not diagnosis.facts["account_differs"]
    assert mail_server.attempts[0].client_answer == ""  # the empty answer Gmail waits for
    assert grant["access_token"] not in everything_shown(result)


def test_microsoft_refuses_a_token_for_another_mailbox(oauth_server, xoauth2_smtp_server,
                                                       server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, oauth.MICROSOFT)
    mail_server = xoauth2_smtp_server(server, provider=oauth.MICROSOFT, tls_context=server_tls.valid)
    result = deliver(mail_server, holding(grant, oauth.MICROSOFT), username="office@example.com",
                     ca_file=ca_file)
    diagnosis = assert_failed(result, "xoauth2_refused", "login")
    assert diagnosis.facts["account_differs"] and diagnosis.facts["account"] == ACCOUNT
    assert diagnosis.facts["login"] == "office@example.com" and diagnosis.facts["enhanced"] == "5.7.3"


def test_smtp_auth_off_for_the_mailbox_under_oauth(oauth_server, xoauth2_smtp_server, server_tls, ca_file):
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, oauth.MICROSOFT)
    mail_server = xoauth2_smtp_server(server, provider=oauth.MICROSOFT, tls_context=server_tls.valid)
    mail_server.handler.smtp_auth_disabled = True
    diagnosis = assert_failed(deliver(mail_server, holding(grant, oauth.MICROSOFT), ca_file=ca_file),
                              "smtp_auth_disabled", "login")
    assert diagnosis.facts["oauth"] == oauth.MICROSOFT and diagnosis.facts["scope"] == "mailbox"


def test_a_password_where_basic_authentication_is_off(oauth_server, xoauth2_smtp_server, server_tls,
                                                      ca_file, smtp_credentials):
    server = oauth_server(redirect_uris=[CALLBACK])
    mail_server = xoauth2_smtp_server(server, provider=oauth.MICROSOFT, tls_context=server_tls.valid)
    dest = SmtpDestination(mail_server.host, mail_server.port, "starttls",
                           username=smtp_credentials.user, password=smtp_credentials.password)
    message = build_message(from_address=ACCOUNT, to=["client@example.org"], subject="Password",
                            body="x\n")
    result = smtp.send(dest, message, envelope_from=ACCOUNT, envelope_to=["client@example.org"],
                       deadline_s=3.0, cafile=ca_file)
    diagnosis = assert_failed(result, "basic_auth_disabled", "login")
    assert diagnosis.reply_code == 550 and "5.7.30" in diagnosis.reply_text


def test_a_server_without_xoauth2_is_not_sent_a_password_instead(smtp_server, server_tls, ca_file):
    plain = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    login = OAuthLogin(oauth.GOOGLE, lambda attempt: "ya29.a-token")
    diagnosis = assert_failed(deliver(plain, login, ca_file=ca_file), "auth_not_offered", "login")
    assert diagnosis.facts["oauth"] == oauth.GOOGLE and "PLAIN" in diagnosis.facts["mechanisms"]


def test_a_token_never_crosses_the_internet_in_plain_text(oauth_server, xoauth2_smtp_server, monkeypatch):
    """No TLS, and the server's address taken as a public one (nothing public can
    run here): Sendwell stops before AUTH instead of sending the bearer token."""
    server = oauth_server(redirect_uris=[CALLBACK])
    grant = signed_in(server, oauth.GOOGLE)
    plain = xoauth2_smtp_server(server, provider=oauth.GOOGLE, auth_require_tls=False)
    monkeypatch.setattr(smtp.net, "is_forbidden_address", lambda address: False)
    dest = SmtpDestination(plain.host, plain.port, "opportunistic", username=ACCOUNT,
                           oauth=holding(grant, oauth.GOOGLE))
    message = build_message(from_address=ACCOUNT, to=["client@example.org"], subject="x", body="x\n")
    result = smtp.send(dest, message, envelope_from=ACCOUNT, envelope_to=["client@example.org"],
                       deadline_s=3.0)
    diagnosis = assert_failed(result, "unencrypted_login", "login")
    assert diagnosis.facts["starttls_offered"] is False and plain.attempts == []
