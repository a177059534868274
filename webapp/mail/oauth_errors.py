"""Which diagnosis an OAuth 2.0 provider's error answer gets, and its facts.

Plain data in, ``(code, facts)`` out; no prose (the page's language turns the
code and facts into text). Microsoft's ``AADSTS`` number says more than the
OAuth error name, so it decides first; Google says little beyond the error
name and one fixed sentence.

Codes:

- ``oauth_consent_refused``: the user pressed Cancel/Deny on the consent page
  (``access_denied``; Microsoft AADSTS65004).
- ``oauth_redirect_mismatch``: the redirect address is not registered for the
  app (Microsoft AADSTS50011/500113; Google ``redirect_uri_mismatch``).
  Usually shown on the provider's own page, so it reaches us only from the
  token endpoint.
- ``oauth_client_rejected``: the app's credentials were refused
  (``invalid_client``); ``reason`` is ``secret_wrong``, ``secret_expired``
  (AADSTS7000222), ``secret_missing`` or ``client_unknown``.
- ``oauth_grant_revoked``: the refresh token no longer works
  (``invalid_grant`` on refresh); ``reason`` is ``expired`` (AADSTS700082,
  70008, 70043), ``revoked`` (AADSTS50173), ``sign_in_required``
  (AADSTS50076/50079/50078: multi-factor or policy) or ``expired_or_revoked``
  (Google cannot tell: its apps in "Testing" get refresh tokens that expire
  after 7 days, which ``provider`` lets the text say).
- ``oauth_no_refresh_token``: the token answer carried no refresh token.
- ``oauth_provider_error``: any other error the provider named (the code
  was refused, a parameter was wrong...); the facts carry its words.
- ``oauth_bad_answer``: not an OAuth answer at all (a redirect, an HTML page,
  a server error).

Facts always have ``oauth`` (the provider: 'microsoft' or 'google') and
``stage`` ('authorize', 'code', 'refresh', 'revoke'); error answers add
``error``, ``status`` (HTTP), ``aadsts`` (the number, Microsoft) and
``description`` (the provider's first line). A reason that changes what the
user should do is also a flag of its own (``secret_expired``,
``client_unknown``, ``sign_in_required``, ``testing_expiry``,
``tenant_required``), which is how
the explanations pick their variants. None of the facts is a secret.
"""

from __future__ import annotations

import re
from typing import Mapping

MICROSOFT = "microsoft"
GOOGLE = "google"

CODES = (
    "oauth_consent_refused",
    "oauth_redirect_mismatch",
    "oauth_client_rejected",
    "oauth_grant_revoked",
    "oauth_no_refresh_token",
    "oauth_provider_error",
    "oauth_bad_answer",
)

MAX_DESCRIPTION_CHARS = 300

_AADSTS = re.compile(r"\bAADSTS(\d{4,7})\b")

# Microsoft's numbers that tell more than the OAuth error name.
_MICROSOFT_NUMBERS: dict[int, tuple[str, dict]] = {
    65004: ("oauth_consent_refused", {}),
    50011: ("oauth_redirect_mismatch", {}),
    500113: ("oauth_redirect_mismatch", {}),
    7000215: ("oauth_client_rejected", {"reason": "secret_wrong"}),
    7000222: ("oauth_client_rejected", {"reason": "secret_expired", "secret_expired": True}),
    7000218: ("oauth_client_rejected", {"reason": "secret_missing"}),
    700016: ("oauth_client_rejected", {"reason": "client_unknown", "client_unknown": True}),
    700082: ("oauth_grant_revoked", {"reason": "expired"}),
    70008: ("oauth_grant_revoked", {"reason": "expired"}),
    70043: ("oauth_grant_revoked", {"reason": "expired"}),
    50173: ("oauth_grant_revoked", {"reason": "revoked"}),
    # The app is for its own organization only: /organizations cannot sign in to it.
    50194: ("oauth_provider_error", {"tenant_required": True}),
    50076: ("oauth_grant_revoked", {"reason": "sign_in_required", "sign_in_required": True}),
    50078: ("oauth_grant_revoked", {"reason": "sign_in_required", "sign_in_required": True}),
    50079: ("oauth_grant_revoked", {"reason": "sign_in_required", "sign_in_required": True}),
}

_GOOGLE_CLIENT_NOT_FOUND = "the oauth client was not found"


def token_failure(provider: str, stage: str, status: int | None, body: Mapping) -> tuple[str, dict]:
    """The diagnosis of a token (or revocation) endpoint's error answer:
    ``body`` is its JSON object, ``stage`` 'code', 'refresh' or 'revoke'."""
    facts = _facts(provider, stage, body)
    if status is not None:
        facts["status"] = status
    error = facts["error"]
    number = facts.get("aadsts")
    if provider == MICROSOFT and number in _MICROSOFT_NUMBERS:
        code, extra = _MICROSOFT_NUMBERS[number]
        if code == "oauth_grant_revoked" and stage != "refresh":
            code, extra = "oauth_provider_error", {}
        return code, {**facts, **extra}
    if error == "redirect_uri_mismatch":
        return "oauth_redirect_mismatch", facts
    if error == "invalid_client":
        unknown = _GOOGLE_CLIENT_NOT_FOUND in facts.get("description", "").lower()
        reason = {"reason": "client_unknown", "client_unknown": True} if unknown else {"reason": "secret_wrong"}
        return "oauth_client_rejected", {**facts, **reason}
    if error == "invalid_grant" and stage == "refresh":
        if provider == GOOGLE:
            # Google cannot say which; an app in "Testing" loses its grants after 7 days.
            return "oauth_grant_revoked", {**facts, "reason": "expired_or_revoked", "testing_expiry": True}
        return "oauth_grant_revoked", {**facts, "reason": "unknown"}
    if error in ("access_denied", "consent_required"):
        return "oauth_consent_refused", facts
    if not error:
        return "oauth_bad_answer", facts
    return "oauth_provider_error", facts


def authorize_failure(provider: str, params: Mapping) -> tuple[str, dict]:
    """The diagnosis of an error the provider sent back to the redirect
    address (``error``, ``error_description`` in the query)."""
    facts = _facts(provider, "authorize", params)
    number = facts.get("aadsts")
    if provider == MICROSOFT and number in _MICROSOFT_NUMBERS:
        code, extra = _MICROSOFT_NUMBERS[number]
        if code in ("oauth_consent_refused", "oauth_redirect_mismatch", "oauth_client_rejected",
                    "oauth_provider_error"):
            return code, {**facts, **extra}
    if facts["error"] in ("access_denied", "consent_required"):
        return "oauth_consent_refused", facts
    if facts["error"] == "redirect_uri_mismatch":
        return "oauth_redirect_mismatch", facts
    if facts["error"] == "invalid_client":
        return "oauth_client_rejected", {**facts, "reason": "client_unknown", "client_unknown": True}
    return "oauth_provider_error", facts


def no_refresh_token(provider: str, stage: str) -> tuple[str, dict]:
    """A token answer without a refresh token: Google sends one only with
    ``access_type=offline`` (and after the first consent only with
    ``prompt=consent``); Microsoft only when ``offline_access`` was granted."""
    return "oauth_no_refresh_token", {"oauth": provider, "stage": stage}


def bad_answer(provider: str, stage: str, status: int | None, **facts) -> tuple[str, dict]:
    found = {"oauth": provider, "stage": stage, **facts}
    if status is not None:
        found["status"] = status
    return "oauth_bad_answer", found


def _facts(provider: str, stage: str, body: Mapping) -> dict:
    error = body.get("error")
    facts = {"oauth": provider, "stage": stage,
             "error": _clean(error, 64) if isinstance(error, str) else ""}
    description = body.get("error_description")
    if isinstance(description, str) and description.strip():
        facts["description"] = _clean(description.strip().splitlines()[0], MAX_DESCRIPTION_CHARS)
    number = _aadsts(body) if provider == MICROSOFT else None
    if number is not None:
        facts["aadsts"] = number
    return facts


def _aadsts(body: Mapping) -> int | None:
    codes = body.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int) and not isinstance(codes[0], bool):
        return codes[0]
    description = body.get("error_description")
    if isinstance(description, str):
        match = _AADSTS.search(description)
        if match:
            return int(match.group(1))
    return None


def _clean(text: str, limit: int) -> str:
    """Printable text only, cut to ``limit`` characters: it is the
    provider's, shown escaped."""
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return kept[:limit - 1] + "…" if len(kept) > limit else kept
