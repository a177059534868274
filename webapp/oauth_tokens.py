"""The OAuth sign-in from the settings' side, without Flask: what a send
needs (the stored grant and the client secret), the live access token a send
signs in with, and the sign-ins under way.

The protocol is mail/oauth.py's (through mail/oauth_web.py, so that each
call to the provider is a step of an attempt); the grants are stored sealed
with their destination (storage/oauth.py). A send refreshes the access token
shortly before it expires, once at a time across threads and worker
processes, and stores a rotated refresh token in place of the old one in the
same transaction.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from .mail import oauth, oauth_web
from .mail.attempt import Attempt, Stop
from .mail.result import DeliveryResult, Diagnosis, Step, secret_encodings
from .mail.xoauth2 import OAuthLogin
from .model import MailSettings
from .storage import Grant

# The settings that say where the providers answer (SENDWELL_OAUTH_*).
ENDPOINT_SETTINGS = tuple(oauth.DEFAULT_SETTINGS)
# What a sign-in under way keeps (kind "pending", under its state) and what
# the settings page shows once the user is back (kind "draft").
PENDING, DRAFT = "pending", "draft"
PENDING_TTL_S = 15 * 60
DRAFT_TTL_S = 60 * 60
# The form's values that are secrets: never kept in a draft.
SECRET_FIELDS = ("password", "oauth_client_secret", "csrf_token")


@dataclass(frozen=True)
class OAuthCredential:
    """What an OAuth send needs besides the settings: the grant stored for
    their destination, and the client secret (typed, else the grant's)."""
    grant: Grant
    client_secret: str = field(repr=False)

    @property
    def identity(self) -> str:
        """Names this sign-in with this secret, for the test status: it stays
        the same when the provider rotates the refresh token."""
        return f"{self.grant.grant_id}:{self.client_secret}"


def credential_for(store, settings: MailSettings, typed_client_secret: str) -> OAuthCredential | None:
    grant = store.grant_for(settings.destination)
    if grant is None:
        return None
    return OAuthCredential(grant, typed_client_secret or grant.client_secret)


def endpoints(settings: MailSettings, oauth_settings: Mapping) -> oauth.Endpoints:
    return oauth.endpoints(settings.oauth_provider, oauth_settings, settings.tenant)


def _token_view(grant: Grant) -> dict:
    return {"access_token": grant.access_token, "expires_at": grant.expires_at}


def login(store, settings: MailSettings, credential: OAuthCredential, *,
          oauth_settings: Mapping, cafile: str | None) -> OAuthLogin:
    """How the SMTP session signs in: with the stored access token while it
    is fresh, else with one got from the provider as the attempt's token step."""
    destination = settings.destination
    where = endpoints(settings, oauth_settings)

    def access_token(attempt: Attempt) -> str:
        # Scrubbed from anything a server sends back, like the password.
        attempt.add_secrets(form for secret in (credential.client_secret,
                                                credential.grant.refresh_token)
                            for form in secret_encodings(secret))
        grant = store.grant_for(destination) or credential.grant
        if not oauth.needs_refresh(_token_view(grant)):
            return grant.access_token
        with store.refreshing_grants(attempt.remaining()) as held:
            if not held:
                with attempt.step(oauth_web.STEP) as step:
                    step.fail("timed_out")
            # Another send may have refreshed it while this one waited.
            grant = store.grant_for(destination) or grant
            if not oauth.needs_refresh(_token_view(grant)):
                return grant.access_token
            token = oauth_web.refresh(attempt, where, settings.oauth_client_id,
                                      credential.client_secret, grant.refresh_token, cafile=cafile)
            store.grant_after_refresh(destination, grant.refresh_token, token)
            return token["access_token"]

    return OAuthLogin(settings.oauth_provider, access_token, account=credential.grant.account)


def sign_in(store, settings: MailSettings, *, client_secret: str, redirect_uri: str,
            code: str, code_verifier: str, oauth_settings: Mapping, cafile: str | None,
            deadline_s: float) -> tuple[DeliveryResult, Grant | None]:
    """Trade the callback's code for a grant, under one deadline, as the
    token step; the grant is not stored here (its destination may still
    take the signed-in account as its username)."""
    where = endpoints(settings, oauth_settings)
    attempt = Attempt(deadline_s, host=settings.smtp_host,
                      secrets=[client_secret, code, code_verifier])
    try:
        token = oauth_web.exchange(attempt, where, settings.oauth_client_id, client_secret,
                                   redirect_uri, code, code_verifier, cafile=cafile)
    except Stop as stop:
        return attempt.finish(stop.diagnosis), None
    finally:
        attempt.close()
    grant = Grant(grant_id=secrets.token_urlsafe(12), provider=settings.oauth_provider,
                  account=token.get("account"), refresh_token=token["refresh_token"],
                  client_secret=client_secret, access_token=token["access_token"],
                  expires_at=token.get("expires_at"))
    return attempt.finish(), grant


def sign_out(store, settings: MailSettings, *, oauth_settings: Mapping, cafile: str | None,
             deadline_s: float) -> tuple[Grant | None, DeliveryResult | None]:
    """Forget the grant for these settings and, where the provider can,
    revoke it. Returns the forgotten grant (None: there was none) and the
    outcome of the revocation (None: the provider has no revocation)."""
    grant = store.forget_grant(settings.destination)
    if grant is None:
        return None, None
    where = endpoints(settings, oauth_settings)
    if where.revoke_url is None:
        return grant, None
    attempt = Attempt(deadline_s, host=settings.smtp_host,
                      secrets=[grant.refresh_token, grant.client_secret])
    try:
        revoked = oauth_web.revoke(attempt, where, settings.oauth_client_id, grant.refresh_token,
                                   cafile=cafile)
    except Stop as stop:
        return grant, attempt.finish(stop.diagnosis)
    finally:
        attempt.close()
    if not revoked.revoked:
        return grant, attempt.finish(attempt.diagnosis(revoked.code, oauth_web.STEP,
                                                       facts=revoked.facts))
    return grant, attempt.finish()


def draft_values(values: Mapping) -> dict:
    """The form's values as a draft may keep them: no secrets."""
    return {name: value for name, value in values.items() if name not in SECRET_FIELDS}


def result_to_dict(result: DeliveryResult) -> dict:
    return asdict(result)


def result_from_dict(data: Mapping) -> DeliveryResult:
    diagnosis = data.get("diagnosis")
    return DeliveryResult(ok=bool(data["ok"]), steps=[Step(**step) for step in data["steps"]],
                          diagnosis=Diagnosis(**diagnosis) if diagnosis else None,
                          total_ms=data["total_ms"])
