"""Signing in to Microsoft 365 or Google with OAuth 2.0, for SMTP: where the
providers answer, the authorization request, the token endpoint calls and
the account named in the id_token.

Plain Python without Flask. Authlib's requests client (``OAuth2Session``)
speaks the protocol: authorization code with PKCE (S256), refresh, RFC 7009
revocation.

Every call to a token or revocation endpoint goes through the ``transport``
the caller gives: a requests adapter (the project's address-bound one, which
connects to the checked address, keeps the deadline and caps the answer),
mounted on a session that takes nothing from the environment (no proxies, no
.netrc) and follows no redirect. The session closes the adapter when the
call is over: give each call its own. A transport failure
(``requests.RequestException``) propagates, since the transport knows what
happened and its caller diagnoses that like any other HTTP step. Provider
answers never raise: they come back as a ``TokenResult`` whose ``code`` and
``facts`` (see ``oauth_errors``) say what went wrong.

Token dicts hold secrets: never log them, never put them in facts.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Mapping
from urllib.parse import quote

import requests
from requests.adapters import BaseAdapter

from . import oauth_errors
from .oauth_errors import GOOGLE, MICROSOFT

# Authlib and joserfc are imported where a call to a provider needs them: a
# worker that only ever signs in with a password does not carry them.
if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

PROVIDERS = (MICROSOFT, GOOGLE)

# Settings (SENDWELL_<NAME> in the environment) and their defaults: the real
# endpoints. Other values serve tests and sovereign clouds.
DEFAULT_SETTINGS = {
    "OAUTH_MICROSOFT_AUTHORITY": "https://login.microsoftonline.com",
    "OAUTH_GOOGLE_AUTHORIZE_URL": "https://accounts.google.com/o/oauth2/v2/auth",
    "OAUTH_GOOGLE_TOKEN_URL": "https://oauth2.googleapis.com/token",
    "OAUTH_GOOGLE_REVOKE_URL": "https://oauth2.googleapis.com/revoke",
}
DEFAULT_TENANT = "organizations"

SCOPES = {
    MICROSOFT: "https://outlook.office.com/SMTP.Send offline_access openid email",
    GOOGLE: "https://mail.google.com/ openid email",
}
# The provider's SMTP server, for an empty SMTP server and Port.
SMTP_SERVERS = {
    MICROSOFT: ("smtp.office365.com", 587, "starttls"),
    GOOGLE: ("smtp.gmail.com", 587, "starttls"),
}

# Refresh this long before the access token expires, so that a send started
# just before expiry does not present a token that dies on the way.
REFRESH_MARGIN_S = 120
DEFAULT_TIMEOUT_S = 10.0
USER_AGENT = "Sendwell"

# A directory (tenant): a GUID, a domain name, or organizations/common/consumers.
_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


@dataclass(frozen=True)
class Endpoints:
    provider: str
    authorize_url: str
    token_url: str
    revoke_url: str | None   # None: the provider has no revocation endpoint (Microsoft)


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser; ``state`` and ``code_verifier`` stay in
    the signed-in administrator's session until the callback."""
    url: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class Callback:
    """What the provider sent back to the redirect address."""
    state: str | None = field(repr=False)
    code: str | None = field(default=None, repr=False)
    failure: tuple[str, dict] | None = None


@dataclass(frozen=True)
class TokenResult:
    """``token`` on success, else ``code`` and ``facts``. The token dict:
    ``access_token``, ``refresh_token``, ``expires_at`` (epoch seconds or
    None), ``token_type``, ``scope``, ``account`` (the id_token's email, or
    None) and, after a refresh, ``refresh_token_rotated``."""
    token: dict | None = field(default=None, repr=False)
    code: str | None = None
    facts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code is None


@dataclass(frozen=True)
class RevokeResult:
    supported: bool
    revoked: bool
    code: str | None = None
    facts: dict = field(default_factory=dict)


def valid_tenant(tenant: str) -> bool:
    return isinstance(tenant, str) and _TENANT.fullmatch(tenant) is not None


def endpoints(provider: str, settings: Mapping | None = None, tenant: str | None = None) -> Endpoints:
    """The provider's endpoints from the settings (``OAUTH_*`` keys, as in
    the app config; missing or empty ones take the defaults). Microsoft's
    are ``{authority}/{tenant}/oauth2/v2.0/authorize`` and ``/token``."""
    settings = settings or {}

    def setting(name: str) -> str:
        return (settings.get(name) or DEFAULT_SETTINGS[name]).strip()

    if provider == MICROSOFT:
        tenant = (tenant or "").strip() or DEFAULT_TENANT
        if not valid_tenant(tenant):
            raise ValueError("not a directory (tenant) name or ID")
        base = f"{setting('OAUTH_MICROSOFT_AUTHORITY').rstrip('/')}/{quote(tenant)}/oauth2/v2.0"
        return Endpoints(MICROSOFT, f"{base}/authorize", f"{base}/token", None)
    if provider == GOOGLE:
        return Endpoints(GOOGLE, setting("OAUTH_GOOGLE_AUTHORIZE_URL"),
                         setting("OAUTH_GOOGLE_TOKEN_URL"), setting("OAUTH_GOOGLE_REVOKE_URL"))
    raise ValueError(f"provider must be one of {PROVIDERS}")


def authorization_request(where: Endpoints, client_id: str, redirect_uri: str, *,
                          login_hint: str | None = None) -> AuthorizationRequest:
    """The sign-in address with PKCE (S256) and a fresh ``state``. Google
    gives a refresh token only with ``access_type=offline``, and after the
    first consent only with ``prompt=consent``, so both are always asked
    for. Microsoft lets the user pick the account, as the mailbox that sends
    is often not the one signed in to the browser."""
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    code_verifier = generate_token(64)
    extra = {"access_type": "offline", "prompt": "consent"} if where.provider == GOOGLE \
        else {"prompt": "select_account"}
    if login_hint:
        extra["login_hint"] = login_hint
    with OAuth2Session(client_id, scope=SCOPES[where.provider], redirect_uri=redirect_uri,
                       code_challenge_method="S256") as session:
        url, state = session.create_authorization_url(where.authorize_url,
                                                      code_verifier=code_verifier, **extra)
    return AuthorizationRequest(url, state, code_verifier)


def read_callback(provider: str, query: Mapping) -> Callback:
    """The code, or the diagnosis of the error the provider sent instead.
    The caller checks ``state`` (``state_matches``) before anything else."""
    state = query.get("state")
    if query.get("error"):
        return Callback(state, None, oauth_errors.authorize_failure(provider, query))
    code = query.get("code")
    if not code:
        return Callback(state, None, oauth_errors.bad_answer(provider, "authorize", None))
    return Callback(state, code)


def state_matches(expected: str | None, received: str | None) -> bool:
    if not expected or not received:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def exchange_code(where: Endpoints, client_id: str, client_secret: str, redirect_uri: str,
                  code: str, code_verifier: str, *, transport: BaseAdapter,
                  timeout: float = DEFAULT_TIMEOUT_S, verify: bool | str = True) -> TokenResult:
    """Trade the callback's code for tokens. An answer without a refresh
    token is a failure (``oauth_no_refresh_token``): without one, the next
    send could not sign in."""
    with _session(transport, client_id, client_secret, redirect_uri=redirect_uri) as (session, answers):
        result = _call(where.provider, "code", answers, lambda: session.fetch_token(
            where.token_url, grant_type="authorization_code", code=code,
            code_verifier=code_verifier, redirect_uri=redirect_uri,
            timeout=timeout, allow_redirects=False, verify=verify))
    if not result.ok:
        return result
    if not result.token.get("refresh_token"):
        return TokenResult(None, *oauth_errors.no_refresh_token(where.provider, "code"))
    return TokenResult(_plain_token(result.token, client_id))


def refresh(where: Endpoints, client_id: str, client_secret: str, refresh_token: str, *,
            transport: BaseAdapter, timeout: float = DEFAULT_TIMEOUT_S,
            verify: bool | str = True) -> TokenResult:
    """A fresh access token. Microsoft sends a new refresh token each time
    (``refresh_token_rotated``: store it in place of the old one); Google
    keeps the old one, which the token dict then carries on."""
    scope = SCOPES[MICROSOFT] if where.provider == MICROSOFT else None
    with _session(transport, client_id, client_secret, scope=scope) as (session, answers):
        result = _call(where.provider, "refresh", answers, lambda: session.refresh_token(
            where.token_url, refresh_token=refresh_token,
            timeout=timeout, allow_redirects=False, verify=verify))
    if not result.ok:
        return result
    token = _plain_token(result.token, client_id)
    token["refresh_token"] = token["refresh_token"] or refresh_token
    token["refresh_token_rotated"] = not hmac.compare_digest(
        token["refresh_token"].encode("utf-8"), refresh_token.encode("utf-8"))
    return TokenResult(token)


def revoke(where: Endpoints, client_id: str, refresh_token: str, *,
           transport: BaseAdapter, timeout: float = DEFAULT_TIMEOUT_S,
           verify: bool | str = True) -> RevokeResult:
    """Ask the provider to end the grant (RFC 7009), where it can: Google
    can, Microsoft has no such endpoint (the user removes the app's access
    in their account). A token the provider already considers dead counts
    as revoked."""
    if where.revoke_url is None:
        return RevokeResult(supported=False, revoked=False)
    with _session(transport, client_id) as (session, _):
        response = session.revoke_token(where.revoke_url, token=refresh_token,
                                        token_type_hint="refresh_token", timeout=timeout,
                                        allow_redirects=False, verify=verify)
        status, body = response.status_code, _json_object(response)
    if 200 <= status < 300:
        return RevokeResult(supported=True, revoked=True)
    if body.get("error") in ("invalid_token", "invalid_grant"):
        return RevokeResult(supported=True, revoked=True, facts={"already_invalid": True})
    if "error" in body:
        return RevokeResult(True, False, *oauth_errors.token_failure(where.provider, "revoke", status, body))
    return RevokeResult(True, False, *oauth_errors.bad_answer(where.provider, "revoke", status))


def needs_refresh(token: Mapping, *, now: float | None = None, margin: float = REFRESH_MARGIN_S) -> bool:
    """True when the access token is missing, of unknown lifetime, or
    expires within ``margin`` seconds."""
    expires_at = token.get("expires_at")
    if not token.get("access_token") or not expires_at:
        return True
    return (time.time() if now is None else now) >= expires_at - margin


def account_from_id_token(id_token: str | None, client_id: str | None = None) -> str | None:
    """The email address the id_token names (Microsoft: ``email``, else
    ``preferred_username``), or None.

    The claims are read without checking the signature: the id_token comes
    straight from the token endpoint, over TLS, in answer to our own
    authenticated request, which OpenID Connect Core 3.1.3.7 accepts in place
    of the signature. The address only pre-fills Username; the SMTP server
    decides whether the token may send as it."""
    if not isinstance(id_token, str) or not id_token:
        return None
    from joserfc import jws
    from joserfc.errors import JoseError

    try:
        claims = json.loads(jws.extract_compact(id_token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError):
        return None
    if not isinstance(claims, dict):
        return None
    audience = claims.get("aud")
    if client_id and audience != client_id and not (isinstance(audience, list) and client_id in audience):
        return None
    for name in ("email", "preferred_username"):
        value = claims.get(name)
        if isinstance(value, str) and _looks_like_address(value):
            return value.strip()
    return None


def _looks_like_address(value: str) -> bool:
    value = value.strip()
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and len(value) <= 254 and value.isprintable()
                and not any(ch.isspace() for ch in value))


@contextmanager
def _session(transport: BaseAdapter, client_id: str, client_secret: str | None = None,
             *, scope: str | None = None, redirect_uri: str | None = None
             ) -> Iterator[tuple["OAuth2Session", list[requests.Response]]]:
    """An OAuth2Session on ``transport`` alone, and the list of the token
    endpoint's answers (Authlib raises on an error answer without keeping
    it; its ``error_codes`` and HTTP status are wanted)."""
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(client_id, client_secret, scope=scope, redirect_uri=redirect_uri,
                            token_endpoint_auth_method="client_secret_post",
                            code_challenge_method="S256")
    session.trust_env = False
    session.proxies = {}
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    session.mount("https://", transport)
    session.mount("http://", transport)
    answers: list[requests.Response] = []

    def keep(response: requests.Response) -> requests.Response:
        answers.append(response)
        return response

    session.register_compliance_hook("access_token_response", keep)
    session.register_compliance_hook("refresh_token_response", keep)
    try:
        yield session, answers
    finally:
        session.close()


def _call(provider: str, stage: str, answers: list[requests.Response],
          request: Callable[[], dict]) -> TokenResult:
    from authlib.integrations.base_client import OAuthError

    try:
        answer = request()
    except OAuthError as error:
        # An OAuth error answer: the JSON body as sent, error_codes included.
        last = answers[-1] if answers else None
        body = _json_object(last) if last is not None else {}
        body = body or {"error": error.error, "error_description": error.description}
        status = last.status_code if last is not None else None
        return TokenResult(None, *oauth_errors.token_failure(provider, stage, status, body))
    except requests.HTTPError as error:
        # Authlib's raise_for_status: a server error or a non-JSON 4xx.
        status = error.response.status_code if error.response is not None else None
        return TokenResult(None, *oauth_errors.bad_answer(provider, stage, status))
    except requests.RequestException:
        raise
    except ValueError:
        # Not a JSON object: a redirect (never followed) or an HTML page.
        last = answers[-1] if answers else None
        status = last.status_code if last is not None else None
        return TokenResult(None, *oauth_errors.bad_answer(provider, stage, status))
    if not isinstance(answer.get("access_token"), str) or not answer["access_token"]:
        status = answers[-1].status_code if answers else None
        return TokenResult(None, *oauth_errors.bad_answer(provider, stage, status))
    return TokenResult(answer)


def _plain_token(answer: Mapping, client_id: str) -> dict:
    expires_at = answer.get("expires_at")
    return {
        "access_token": answer["access_token"],
        "refresh_token": answer.get("refresh_token") or None,
        "expires_at": int(expires_at) if isinstance(expires_at, (int, float)) else None,
        "token_type": answer.get("token_type") or "Bearer",
        "scope": answer.get("scope") or "",
        "account": account_from_id_token(answer.get("id_token"), client_id),
    }


def _json_object(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
