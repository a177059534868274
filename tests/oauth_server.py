"""A real OAuth 2.0 authorization server on loopback, shaped like Microsoft's
and Google's, for the sign-in tests.

Built from Authlib's authorization-server components (AuthorizationCodeGrant
with PKCE S256 required, RefreshTokenGrant, the RFC 7009 revocation
endpoint) inside a small Flask app served by werkzeug in a thread on
127.0.0.1 (plain http, or https with the project's trustme CA).

One server answers in both providers' shapes, chosen by the URL:

- Microsoft: ``{base}/{tenant}/oauth2/v2.0/authorize`` and ``.../token``, so
  ``SENDWELL_OAUTH_MICROSOFT_AUTHORITY`` can be ``{base}``; no revocation
  endpoint (Microsoft has none); error bodies with ``AADSTS`` codes,
  ``error_codes``, ``trace_id``, ``correlation_id``.
- Google: ``{base}/google/o/oauth2/v2/auth``, ``{base}/google/token`` and
  ``{base}/google/revoke``; terse ``{"error", "error_description"}`` bodies.

What it does as the providers do (sources in the module docstring of
``tests/test_oauth_servers.py``): the consent page has *Accept* and *Deny*
buttons (Deny redirects with ``error=access_denied``); an unregistered
redirect URI gets the provider's own error page and no redirect at all;
Microsoft gives a refresh token when ``offline_access`` was asked for and
rotates it on every refresh; Google gives one only with
``access_type=offline``, and after the first consent only with
``prompt=consent``, and never rotates it; the id_token (signed RS256, keys
at the JWKS URLs) carries ``email`` (and Microsoft's ``preferred_username``).

Simplifications, on purpose: one signed-in account, one registered client
(the same for both shapes); a rotated-away refresh token stops working at
once, and a revoked grant takes its access tokens with it (stricter than
Microsoft, whose access tokens outlive a revocation by up to an hour).

Every request is recorded in ``requests`` with secrets replaced by
fingerprints (``fingerprint(value)``), never in clear.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import hmac
import re
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator

import pytest
import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, g, json, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server

MICROSOFT = "microsoft"
GOOGLE = "google"

ACCOUNT_EMAIL = "sender@example.com"
ACCOUNT_NAME = "Sender Example"
CLIENT_ID = "5f3c1d2e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"
# Shaped like a Microsoft client secret value; non-secret test material.
CLIENT_SECRET = "Xq8~test.Secret_4f9Kp2LmN7rT1vW3yZ5bD6gH0jQ"

# The scope each SMTP server wants in an access token.
MAIL_SCOPES = {MICROSOFT: "https://outlook.office.com/SMTP.Send", GOOGLE: "https://mail.google.com/"}
GOOGLE_SCOPE_NAMES = {"email": "https://www.googleapis.com/auth/userinfo.email",
                      "profile": "https://www.googleapis.com/auth/userinfo.profile"}
_OIDC_SCOPES = {"openid", "email", "profile", "offline_access"}

# Parameters whose values are secrets: recorded as fingerprints only.
SECRET_PARAMS = frozenset({"client_secret", "code", "code_verifier", "refresh_token",
                           "access_token", "token", "id_token", "assertion", "password"})


def fingerprint(value: str) -> str:
    """How a secret appears in ``requests``: enough to tell two apart."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def _now() -> float:
    return time.time()


def _iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f0Z")


# --- what the server keeps ------------------------------------------------------

@dataclass
class RegisteredClient(ClientMixin):
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: list[str]
    server: "LoopbackOAuthServer" = field(repr=False)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # both providers insist on an explicit redirect_uri

    def get_allowed_scope(self, scope):
        return scope or ""

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        if not hmac.compare_digest(client_secret.encode("utf-8"), self.client_secret.encode("utf-8")):
            return False
        if self.server.client_secret_expired:
            raise ProviderError(
                "invalid_client", status_code=401,
                microsoft=(7000222, "The provided client secret keys for app "
                                    f"'{self.client_id}' are expired. Visit the Azure portal to "
                                    "create new keys for your app: https://aka.ms/NewClientSecret, "
                                    "or consider using certificate credentials for added "
                                    "security: https://aka.ms/certCreds."),
                google="Unauthorized")
        return True

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class IssuedCode:
    code: str = field(repr=False)
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    provider: str
    tenant: str | None
    offline: bool
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    expires_at: float

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


@dataclass
class Grant:
    """One consent: the tokens issued from one authorization code."""
    client_id: str
    user: str
    scope: str
    provider: str
    tenant: str | None
    issued_at: float
    revoked: bool = False
    refresh_expired: bool = False


@dataclass
class TokenRecord:
    """An access or refresh token the server issued (Authlib's token model)."""
    kind: str                     # 'access_token' | 'refresh_token'
    value: str = field(repr=False)
    grant: Grant = field(repr=False)
    expires_at: float | None = None   # access tokens only
    rotated: bool = False             # refresh tokens replaced by a newer one

    def check_client(self, client):
        return client.client_id == self.grant.client_id

    def get_scope(self):
        return self.grant.scope

    def get_expires_in(self):
        return int(max(0, (self.expires_at or 0) - _now()))

    def is_expired(self):
        return self.expires_at is not None and _now() >= self.expires_at

    def is_revoked(self):
        return self.grant.revoked


@dataclass
class SeenRequest:
    """One request the server received, secrets as fingerprints."""
    provider: str
    endpoint: str          # 'authorize' | 'token' | 'revoke' | 'keys'
    method: str
    path: str
    tenant: str | None
    params: dict
    client_auth: str | None   # 'client_secret_basic' | 'client_secret_post' | None
    status: int | None = None

    @property
    def grant_type(self) -> str | None:
        return self.params.get("grant_type")


# --- answering in the providers' words -------------------------------------------

class ProviderError(OAuth2Error):
    """An error the server answers in the provider's own words: Microsoft's
    AADSTS number and text, Google's description (and, rarely, its own error
    name, like ``redirect_uri_mismatch``)."""

    def __init__(self, error: str, *, microsoft: tuple[int, str], google: str,
                 google_error: str | None = None, status_code: int = 400):
        super().__init__(error=error, status_code=status_code)
        self.microsoft = microsoft
        self.google = google
        self.google_error = google_error or error


def _generic_words(error: OAuth2Error, client_id: str | None) -> ProviderError:
    """Authlib raised a plain OAuth2Error: say it as the providers do."""
    description = error.description or ""
    if error.error == "invalid_client":
        if "does not exist" in description or "Missing 'client_id'" in description:
            return ProviderError(
                "invalid_client", status_code=401,
                microsoft=(700016, f"Application with identifier '{client_id}' was not found in "
                                   "the directory. This can happen if the application has not "
                                   "been installed by the administrator of the tenant or consented "
                                   "to by any user in the tenant. You may have sent your "
                                   "authentication request to the wrong tenant."),
                google="The OAuth client was not found.")
        return ProviderError(
            "invalid_client", status_code=401,
            microsoft=(7000215, "Invalid client secret provided. Ensure the secret being sent in "
                                "the request is the client secret value, not the client secret "
                                f"ID, for a secret added to app '{client_id}'."),
            google="Unauthorized")
    if error.error == "invalid_grant" and "Code challenge failed" in description:
        return ProviderError("invalid_grant", google="Bad Request", microsoft=(
            501481, "The Code_Verifier does not match the code_challenge supplied in the "
                    "authorization request."))
    if error.error == "unsupported_grant_type":
        return ProviderError(error.error, google="Invalid grant_type", microsoft=(
            70003, "The app requested an unsupported grant type."))
    return ProviderError(error.error, google=description or "Bad Request", microsoft=(
        9002313, "Invalid request. Request is malformed or invalid."))


def _json_response(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, headers={
        "Content-Type": "application/json; charset=utf-8",
        "Cache-Control": "no-store", "Pragma": "no-cache"})


def _microsoft_description(number: int, text: str) -> tuple[str, dict]:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    description = (f"AADSTS{number}: {text}\r\nTrace ID: {trace}\r\n"
                   f"Correlation ID: {correlation}\r\nTimestamp: {stamp}")
    return description, {"timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
                         "error_uri": f"https://login.microsoftonline.com/error?code={number}"}


def provider_error_response(provider: str, error: OAuth2Error, client_id: str | None) -> Response:
    """A token or revocation endpoint's error answer, as that provider writes it."""
    words = error if isinstance(error, ProviderError) else _generic_words(error, client_id)
    if provider == MICROSOFT:
        number, text = words.microsoft
        description, extra = _microsoft_description(number, text)
        body = {"error": words.error, "error_description": description,
                "error_codes": [number], **extra}
    else:
        body = {"error": words.google_error, "error_description": words.google}
    return _json_response(words.status_code, body)


# --- Authlib's components, bound to this server's records ---------------------------

class _RequireS256(CodeChallenge):
    """PKCE with S256, required of every client (Authlib requires it of
    public clients only)."""
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method'")
        super().validate_code_challenge(grant, redirect_uri)


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def state(self) -> "LoopbackOAuthServer":
        return self.server.state

    def save_authorization_code(self, code, request):
        self.state._save_code(code, request)

    def query_authorization_code(self, code, client):
        return self.state._redeem_code(code, client, self.request.payload.redirect_uri)

    def delete_authorization_code(self, authorization_code):
        self.state._codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return authorization_code.user

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None,
                       include_refresh_token=True):
        issued = self.request.authorization_code
        token = super().generate_token(
            user=user, scope=scope, grant_type=grant_type, expires_in=expires_in,
            include_refresh_token=issued.offline and not self.state.omit_refresh_token)
        return self.state._finish_token(token, issued.provider, issued.tenant, user, scope,
                                        issued.client_id, issued.nonce)


class _RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def state(self) -> "LoopbackOAuthServer":
        return self.server.state

    def authenticate_refresh_token(self, refresh_token):
        return self.state._usable_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token):
        return refresh_token.grant.user

    def issue_token(self, user, refresh_token):
        grant = refresh_token.grant
        token = self.generate_token(
            user=user, scope=self.request.payload.scope or grant.scope,
            include_refresh_token=self.state._rotates(grant.provider))
        return self.state._finish_token(token, grant.provider, grant.tenant, user, grant.scope,
                                        grant.client_id, None)

    def revoke_old_credential(self, refresh_token):
        if self.state._rotates(refresh_token.grant.provider):
            refresh_token.rotated = True


class _Revocation(RevocationEndpoint):
    """Google's revoke endpoint: the token alone is enough (client
    authentication is checked when it is sent), and a token that is no
    longer valid gets 400 ``invalid_token``."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_endpoint_client(self, request):
        if request.headers.get("Authorization") or request.form.get("client_secret"):
            return super().authenticate_endpoint_client(request)
        request.client = None
        return None

    def authenticate_token(self, request, client):
        self.check_params(request, client)
        record = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if record is None or record.grant.revoked:
            raise ProviderError("invalid_token", google="Token expired or revoked",
                                microsoft=(9002313, "Invalid request."))
        return record

    def query_token(self, token_string, token_type_hint):
        return self.server.state._find_token(token_string)

    def revoke_token(self, token, request):
        token.grant.revoked = True


class _Authlib(AuthorizationServer):
    def __init__(self, state: "LoopbackOAuthServer"):
        super().__init__(query_client=state._clients.get, save_token=state._save_token)
        self.state = state
        self.register_token_generator("default", state._bearer_token)
        self.register_grant(_CodeGrant, [_RequireS256(required=True)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Revocation)

    def handle_error_response(self, request, error):
        return provider_error_response(g.provider, error, request.payload.client_id)

    def send_signal(self, name, *args, **kwargs):
        pass


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the test output stays clean
        pass


_SIGNING_KEY: RSAKey | None = None


def _signing_key() -> RSAKey:
    """One RS256 key per test run: generating one per server costs time."""
    global _SIGNING_KEY
    if _SIGNING_KEY is None:
        _SIGNING_KEY = RSAKey.generate_key(2048, parameters={
            "kid": "loopback-" + uuid.uuid4().hex[:8], "use": "sig", "alg": "RS256"})
    return _SIGNING_KEY


_CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main>
<h1>{title}</h1>
<p>Signed in as <strong id="account">{account}</strong></p>
<p><strong>{client}</strong> asks for permission to:</p>
<ul id="scopes">{scopes}</ul>
<form method="post" action="{action}">
<button type="submit" name="decision" value="accept" id="accept">Accept</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</main></body></html>
"""

_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1>{paragraphs}</main></body></html>
"""


class LoopbackOAuthServer:
    """The running server: its URLs, its knobs (plain attributes, change
    them at any time) and what it saw.

    Knobs: ``account_email`` / ``account_name`` (who signs in),
    ``access_token_lifetime`` (seconds), ``rotate_refresh_tokens`` (None: as
    the provider does, Microsoft rotates and Google does not),
    ``client_secret_expired`` (right secret, answered as expired),
    ``omit_refresh_token`` (token answers never carry one),
    ``microsoft_email_claim`` (False: the Microsoft id_token has only
    ``preferred_username``, as for accounts without a mailbox address),
    ``redirect_uris`` (the registered ones; a list, append to it).
    Actions: ``revoke_grants()``, ``expire_refresh_tokens()``,
    ``expire_access_tokens()``, ``consent(url, accept=True)``.
    """

    def __init__(self, *, redirect_uris=(), account_email: str = ACCOUNT_EMAIL,
                 account_name: str = ACCOUNT_NAME, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET, access_token_lifetime: float = 3600.0,
                 rotate_refresh_tokens: bool | None = None, tenant_id: str | None = None,
                 tls_context: ssl.SSLContext | None = None):
        self.account_email = account_email
        self.account_name = account_name
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_lifetime = access_token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.client_secret_expired = False
        self.omit_refresh_token = False
        self.microsoft_email_claim = True
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.redirect_uris: list[str] = list(redirect_uris)
        self.requests: list[SeenRequest] = []

        self._lock = threading.RLock()
        self._clients = {client_id: RegisteredClient(client_id, client_secret, self.redirect_uris, self)}
        self._codes: dict[str, IssuedCode] = {}
        self._redeemed: set[str] = set()
        self._tokens: dict[str, TokenRecord] = {}
        self._consented: set[tuple[str, str]] = set()
        self._authlib = _Authlib(self)
        self._httpd = make_server("127.0.0.1", 0, self._build_app(), threaded=True,
                                  ssl_context=tls_context, request_handler=_QuietHandler)
        self.scheme = "https" if tls_context else "http"
        self.port = self._httpd.server_port
        self.base_url = f"{self.scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- where it answers ---------------------------------------------------------------

    @property
    def microsoft_authority(self) -> str:
        """For SENDWELL_OAUTH_MICROSOFT_AUTHORITY."""
        return self.base_url

    def microsoft_authorize_url(self, tenant: str = "organizations") -> str:
        return f"{self.base_url}/{tenant}/oauth2/v2.0/authorize"

    def microsoft_token_url(self, tenant: str = "organizations") -> str:
        return f"{self.base_url}/{tenant}/oauth2/v2.0/token"

    @property
    def google_authorize_url(self) -> str:
        return f"{self.base_url}/google/o/oauth2/v2/auth"

    @property
    def google_token_url(self) -> str:
        return f"{self.base_url}/google/token"

    @property
    def google_revoke_url(self) -> str:
        return f"{self.base_url}/google/revoke"

    def jwks_url(self, provider: str, tenant: str = "organizations") -> str:
        if provider == MICROSOFT:
            return f"{self.base_url}/{tenant}/discovery/v2.0/keys"
        return f"{self.base_url}/google/oauth2/v3/certs"

    def settings(self) -> dict:
        """The app settings that point Sendwell at this server."""
        return {"OAUTH_MICROSOFT_AUTHORITY": self.microsoft_authority,
                "OAUTH_GOOGLE_AUTHORIZE_URL": self.google_authorize_url,
                "OAUTH_GOOGLE_TOKEN_URL": self.google_token_url,
                "OAUTH_GOOGLE_REVOKE_URL": self.google_revoke_url}

    # -- actions and questions for tests ---------------------------------------------------

    fingerprint = staticmethod(fingerprint)

    def revoke_grants(self) -> None:
        """Revoke every consent, as a password reset, an admin's "revoke
        sessions" or the user removing the app's access does."""
        with self._lock:
            for record in self._tokens.values():
                record.grant.revoked = True

    def expire_refresh_tokens(self) -> None:
        """Let every refresh token run out (Microsoft: 90 days unused;
        Google: 7 days for an app in "Testing")."""
        with self._lock:
            for record in self._tokens.values():
                record.grant.refresh_expired = True

    def expire_access_tokens(self) -> None:
        with self._lock:
            for record in self._tokens.values():
                if record.kind == "access_token":
                    record.expires_at = _now() - 1

    def access_token_status(self, token: str, user: str, provider: str | None = None) -> str:
        """'live', or why not: 'unknown', 'expired', 'revoked', 'wrong_user',
        'wrong_scope' (no mail scope for ``provider``'s SMTP server)."""
        with self._lock:
            record = self._tokens.get(token)
            if record is None or record.kind != "access_token":
                return "unknown"
            if record.grant.revoked:
                return "revoked"
            if record.is_expired():
                return "expired"
            if record.grant.user.casefold() != (user or "").casefold():
                return "wrong_user"
            wanted = MAIL_SCOPES[provider or record.grant.provider]
            if wanted not in record.grant.scope.split():
                return "wrong_scope"
            return "live"

    def is_live_access_token(self, token: str, user: str) -> bool:
        """True when ``token`` is an unexpired, unrevoked access token this
        server issued to ``user`` with a mail scope."""
        return self.access_token_status(token, user) == "live"

    def seen(self, endpoint: str | None = None, *, grant_type: str | None = None,
             provider: str | None = None) -> list[SeenRequest]:
        """The recorded requests, filtered."""
        return [r for r in list(self.requests)
                if (endpoint is None or r.endpoint == endpoint)
                and (grant_type is None or r.grant_type == grant_type)
                and (provider is None or r.provider == provider)]

    def consent(self, authorization_url: str, *, accept: bool = True, verify=True) -> str:
        """Play the user's browser: open the authorization URL, press Accept
        (or Deny) and return the address the provider redirects back to.
        Raises AssertionError with the page text when the provider shows an
        error page instead."""
        with requests.Session() as browser:
            browser.trust_env = False
            page = browser.get(authorization_url, allow_redirects=False, verify=verify, timeout=10)
            if page.status_code in (302, 303):
                return page.headers["Location"]
            assert page.status_code == 200, page.text
            action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page.text).group(1))
            answer = browser.post(action, data={"decision": "accept" if accept else "deny"},
                                  allow_redirects=False, verify=verify, timeout=10)
            assert answer.status_code in (302, 303), answer.text
            return answer.headers["Location"]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- the Flask app ------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("loopback_oauth_server")
        routes = [
            ("/<tenant>/oauth2/v2.0/authorize", "ms_authorize", ["GET", "POST"],
             lambda tenant: self._authorize(MICROSOFT, tenant)),
            ("/<tenant>/oauth2/v2.0/token", "ms_token", ["POST"],
             lambda tenant: self._token(MICROSOFT, tenant)),
            ("/<tenant>/discovery/v2.0/keys", "ms_keys", ["GET"], lambda tenant: self._keys()),
            ("/google/o/oauth2/v2/auth", "google_authorize", ["GET", "POST"],
             lambda: self._authorize(GOOGLE, None)),
            ("/google/token", "google_token", ["POST"], lambda: self._token(GOOGLE, None)),
            ("/google/revoke", "google_revoke", ["POST"], self._revoke),
            ("/google/oauth2/v3/certs", "google_keys", ["GET"], self._keys),
        ]
        for rule, name, methods, view in routes:
            app.add_url_rule(rule, name, view, methods=methods)
        app.before_request(self._record)
        app.after_request(self._record_status)
        return app

    def _record(self) -> None:
        name = request.endpoint or ""
        provider = MICROSOFT if name.startswith("ms_") else GOOGLE
        endpoint = name.split("_", 1)[-1] if name else "unknown"
        params = {**request.args.to_dict(), **request.form.to_dict()}
        client_auth = None
        if request.authorization is not None and request.authorization.type == "basic":
            client_auth = "client_secret_basic"
            params["client_id"] = request.authorization.username
            params["client_secret"] = request.authorization.password or ""
        elif "client_secret" in params:
            client_auth = "client_secret_post"
        params = {key: fingerprint(value) if key in SECRET_PARAMS else value
                  for key, value in params.items()}
        seen = SeenRequest(provider, endpoint, request.method, request.path,
                           (request.view_args or {}).get("tenant"), params, client_auth)
        g.seen = seen
        self.requests.append(seen)

    def _record_status(self, response: Response) -> Response:
        if "seen" in g:
            g.seen.status = response.status_code
        return response

    def _authorize(self, provider: str, tenant: str | None):
        g.provider, g.tenant = provider, tenant
        with self._lock:
            try:
                grant = self._authlib.get_consent_grant(end_user=self.account_email)
            except OAuth2Error as error:
                return self._authorize_error(provider, error)
            data = grant.request.payload.data
            if request.method == "GET":
                already = (grant.client.client_id, self.account_email) in self._consented
                if provider == GOOGLE and already and "consent" not in data.get("prompt", "").split():
                    return self._accept(provider, grant)  # Google does not ask twice
                return self._consent_page(provider, grant)
            if request.form.get("decision") == "accept":
                return self._accept(provider, grant)
            return self._deny(provider, grant)

    def _consent_page(self, provider: str, grant) -> Response:
        title = "Permissions requested" if provider == MICROSOFT else "Sign in with Google"
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in grant.request.scope.split())
        page = _CONSENT_PAGE.format(title=title, account=html.escape(self.account_email),
                                    client=html.escape(grant.client.client_id), scopes=scopes,
                                    action=html.escape(request.url))
        return Response(page, 200, content_type="text/html; charset=utf-8")

    def _accept(self, provider: str, grant) -> Response:
        response = self._authlib.create_authorization_response(grant=grant, grant_user=self.account_email)
        self._consented.add((grant.client.client_id, self.account_email))
        if provider == GOOGLE:
            scope = " ".join(GOOGLE_SCOPE_NAMES.get(s, s) for s in grant.request.scope.split())
            extra = [("scope", scope), ("authuser", "0"), ("prompt", "consent")]
        else:
            extra = [("session_state", str(uuid.uuid4()))]
        response.headers["Location"] = add_params_to_uri(response.headers["Location"], extra)
        return response

    def _deny(self, provider: str, grant) -> Response:
        params = [("error", "access_denied")]
        if provider == MICROSOFT:
            description, extra = _microsoft_description(
                65004, "User declined to consent to access the app.")
            params += [("error_description", description), ("error_uri", extra["error_uri"])]
        if grant.request.payload.state:
            params.append(("state", grant.request.payload.state))
        return Response("", 302, headers={"Location": add_params_to_uri(grant.redirect_uri, params)})

    def _authorize_error(self, provider: str, error: OAuth2Error) -> Response:
        if error.redirect_uri:
            params = [("error", error.error)]
            if error.description:
                params.append(("error_description", error.description))
            if error.state:
                params.append(("state", error.state))
            return Response("", 302, headers={"Location": add_params_to_uri(error.redirect_uri, params)})
        # No redirect to an address the client did not register: the user
        # stays on the provider's own error page.
        redirect_uri = request.values.get("redirect_uri", "")
        client_id = request.values.get("client_id", "")
        if error.error == "invalid_request" and "is not supported by client" in (error.description or ""):
            if provider == MICROSOFT:
                return self._error_page("Sign in to your account", [
                    "Sorry, but we\u2019re having trouble signing you in.",
                    f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does "
                    f"not match the redirect URIs configured for the application '{client_id}'. "
                    "Make sure the redirect URI sent in the request matches one added to your "
                    "application in the Azure portal. Navigate to "
                    "https://aka.ms/redirectUriMismatchError to learn more about how to fix this."])
            return self._error_page("Error 400: redirect_uri_mismatch", [
                "Access blocked: This app\u2019s request is invalid",
                "Error 400: redirect_uri_mismatch",
                "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 "
                "policy. If you're the app developer, register the redirect URI in the Google "
                "Cloud Console.",
                f"Request details: redirect_uri={redirect_uri}"])
        if error.error == "invalid_client":
            if provider == MICROSOFT:
                return self._error_page("Sign in to your account", [
                    "Sorry, but we\u2019re having trouble signing you in.",
                    f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                    "directory."], status=400)
            return self._error_page("Error 401: invalid_client", [
                "Error 401: invalid_client", "The OAuth client was not found."], status=401)
        return self._error_page("Error", [f"{error.error}: {error.description or ''}"])

    @staticmethod
    def _error_page(title: str, paragraphs: list[str], status: int = 400) -> Response:
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        return Response(_ERROR_PAGE.format(title=html.escape(title), paragraphs=body), status,
                        content_type="text/html; charset=utf-8")

    def _token(self, provider: str, tenant: str | None):
        g.provider, g.tenant = provider, tenant
        with self._lock:
            return self._authlib.create_token_response()

    def _revoke(self):
        g.provider, g.tenant = GOOGLE, None
        with self._lock:
            return self._authlib.create_endpoint_response("revocation")

    def _keys(self):
        return _json_response(200, KeySet([_signing_key()]).as_dict(private=False))

    # -- the records behind Authlib's grants -------------------------------------------------

    def _rotates(self, provider: str) -> bool:
        if self.rotate_refresh_tokens is None:
            return provider == MICROSOFT
        return self.rotate_refresh_tokens

    def _save_code(self, code: str, auth_request) -> None:
        data = auth_request.payload.data
        client_id = auth_request.client.client_id
        scope = auth_request.scope or ""
        if g.provider == MICROSOFT:
            offline = "offline_access" in scope.split()
        else:
            first_consent = (client_id, auth_request.user) not in self._consented
            offline = data.get("access_type") == "offline" and (
                first_consent or "consent" in data.get("prompt", "").split())
        self._codes[code] = IssuedCode(
            code=code, client_id=client_id, redirect_uri=auth_request.payload.redirect_uri,
            scope=scope, user=auth_request.user, provider=g.provider, tenant=g.tenant,
            offline=offline, nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"), expires_at=_now() + 600)

    def _redeem_code(self, code: str, client, redirect_uri: str | None) -> IssuedCode:
        issued = self._codes.get(code)
        if issued is None or issued.client_id != client.client_id or issued.provider != g.provider:
            if code in self._redeemed:
                raise ProviderError("invalid_grant", google="Bad Request", microsoft=(
                    54005, "OAuth2 Authorization code was already redeemed, please retry with a "
                           "new valid code or use an existing refresh token."))
            raise ProviderError("invalid_grant", google="Malformed auth code.", microsoft=(
                9002313, "Invalid request. Request is malformed or invalid."))
        if _now() > issued.expires_at:
            raise ProviderError("invalid_grant", google="Bad Request", microsoft=(
                70008, "The provided authorization code or refresh token has expired due to "
                       "inactivity. Send a new interactive authorization request for this user "
                       "and resource."))
        if redirect_uri != issued.redirect_uri:
            raise ProviderError(
                "invalid_grant", google="Bad Request", google_error="redirect_uri_mismatch",
                microsoft=(50011, f"The reply address '{redirect_uri}' does not match the reply "
                                  f"address '{issued.redirect_uri}' provided when requesting "
                                  "Authorization code."))
        self._redeemed.add(code)
        return issued

    def _usable_refresh_token(self, value: str) -> TokenRecord:
        record = self._tokens.get(value)
        if record is None or record.kind != "refresh_token" or record.rotated:
            raise ProviderError("invalid_grant", google="Bad Request", microsoft=(
                9002313, "Invalid request. Request is malformed or invalid."))
        grant = record.grant
        if grant.provider != g.provider:
            raise ProviderError("invalid_grant", google="Bad Request", microsoft=(
                9002313, "Invalid request. Request is malformed or invalid."))
        if grant.revoked:
            raise ProviderError("invalid_grant", google="Token has been expired or revoked.", microsoft=(
                50173, "The provided grant has expired due to it being revoked, a fresh auth "
                       "token is needed. The user might have changed or reset their password. "
                       f"The grant was issued on '{_iso(grant.issued_at)}' and the TokensValidFrom "
                       f"date (before which tokens are not valid) for this user is '{_iso(_now())}'."))
        if grant.refresh_expired:
            raise ProviderError("invalid_grant", google="Token has been expired or revoked.", microsoft=(
                700082, "The refresh token has expired due to inactivity. The token was issued on "
                        f"{_iso(grant.issued_at)} and was inactive for 90.00:00:00."))
        return record

    def _find_token(self, value: str) -> TokenRecord | None:
        return self._tokens.get(value)

    def _bearer_token(self, grant_type, client, user=None, scope=None, expires_in=None,
                      include_refresh_token=True) -> dict:
        lifetime = self.access_token_lifetime
        token = {"token_type": "Bearer", "scope": scope or "",
                 "expires_in": max(1, int(round(lifetime))), "access_token": generate_token(42)}
        if include_refresh_token:
            token["refresh_token"] = generate_token(48)
        return token

    def _finish_token(self, token: dict, provider: str, tenant: str | None, user: str,
                      scope: str, client_id: str, nonce: str | None) -> dict:
        """The provider's touches on a token answer: the scope as it echoes
        it, Microsoft's ext_expires_in, the signed id_token."""
        requested = scope.split()
        if provider == MICROSOFT:
            token["scope"] = " ".join(s for s in requested if s not in _OIDC_SCOPES)
            token["ext_expires_in"] = token["expires_in"]
        else:
            token["scope"] = " ".join(GOOGLE_SCOPE_NAMES.get(s, s) for s in requested)
        if "openid" in requested:
            token["id_token"] = self._id_token(provider, tenant, user, requested, client_id, nonce)
        return token

    def _id_token(self, provider, tenant, user, scopes, client_id, nonce) -> str:
        now = int(_now())
        claims = {"aud": client_id, "iat": now, "exp": now + 3600, "sub": uuid.uuid5(
            uuid.NAMESPACE_URL, f"{provider}:{user}").hex}
        if provider == MICROSOFT:
            claims.update(iss=f"{self.base_url}/{self.tenant_id}/v2.0", nbf=now, tid=self.tenant_id,
                          oid=str(uuid.uuid5(uuid.NAMESPACE_DNS, user)), ver="2.0",
                          preferred_username=user, name=self.account_name)
            if "email" in scopes and self.microsoft_email_claim:
                claims["email"] = user
        else:
            claims.update(iss="https://accounts.google.com", azp=client_id)
            if "email" in scopes:
                claims.update(email=user, email_verified=True)
        if nonce:
            claims["nonce"] = nonce
        key = _signing_key()
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    def _save_token(self, token: dict, auth_request) -> None:
        if auth_request.refresh_token is not None:
            grant = auth_request.refresh_token.grant
        else:
            issued = auth_request.authorization_code
            grant = Grant(client_id=issued.client_id, user=issued.user, scope=issued.scope,
                          provider=issued.provider, tenant=issued.tenant, issued_at=_now())
        access = token["access_token"]
        self._tokens[access] = TokenRecord("access_token", access, grant,
                                           expires_at=_now() + self.access_token_lifetime)
        if token.get("refresh_token"):
            refresh = token["refresh_token"]
            self._tokens[refresh] = TokenRecord("refresh_token", refresh, grant)


@pytest.fixture
def oauth_server() -> Iterator:
    """Factory: ``oauth_server(**knobs)`` starts a LoopbackOAuthServer on
    127.0.0.1 (``tls_context=server_tls.valid`` for https, trusted through
    ``ca_file``). Knobs: ``redirect_uris``, ``account_email``,
    ``account_name``, ``client_id``, ``client_secret``,
    ``access_token_lifetime``, ``rotate_refresh_tokens``, ``tenant_id``; the
    rest are attributes of the returned server."""
    running: list[LoopbackOAuthServer] = []

    def start(**knobs) -> LoopbackOAuthServer:
        server = LoopbackOAuthServer(**knobs)
        running.append(server)
        return server

    yield start
    for server in running:
        server.close()
