"""SMTP ``AUTH XOAUTH2``: the client's initial response, the server's error
challenge, and which diagnosis an OAuth-related SMTP refusal gets.

The exchange (Google's and Microsoft's XOAUTH2 documentation)::

    C: AUTH XOAUTH2 base64("user=" U "\\x01auth=Bearer " T "\\x01\\x01")
    S: 235 2.7.0 Accepted
or, when the token is refused, Gmail first sends a challenge::
    S: 334 base64({"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"})
    C: (an empty line)
    S: 535-5.7.8 Username and Password not accepted. ...
while Exchange Online answers ``535 5.7.3 Authentication unsuccessful`` at once.

smtplib's ``auth()`` base64-encodes what its authobject returns and
base64-decodes each challenge before handing it over, so
``initial_response`` gives the text before encoding, and an authobject
answers a challenge with ``""``.

Codes (no prose here): ``xoauth2_refused`` (the token was refused; facts say
the provider (``oauth``), Google's ``challenge_status``, and whether the
signed-in ``account`` differs from the ``login`` sent), ``basic_auth_disabled`` (a password login where only
OAuth is allowed: Microsoft's ``550 5.7.30``, and ``535 5.7.139 ...basic
authentication is disabled``), ``smtp_auth_disabled`` (Microsoft's other
``5.7.139``: SMTP AUTH is off for the mailbox or the tenant, under any
mechanism).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .smtp_replies import BASIC_AUTH_OFF, enhanced_status

if TYPE_CHECKING:
    from .attempt import Attempt

MECHANISM = "XOAUTH2"

_TENANT_OR_MAILBOX = re.compile(r"disabled for the (tenant|mailbox)", re.IGNORECASE)


@dataclass(frozen=True)
class OAuthLogin:
    """How an SMTP session signs in with OAuth: ``access_token(attempt)``
    gives a live access token, calling the provider as a recorded step of
    the attempt when the one it has is about to expire (and raising Stop
    when that fails); ``account`` is the signed-in account, to say so when
    it is not the username."""
    provider: str                                              # 'microsoft' or 'google'
    access_token: Callable[["Attempt"], str] = field(repr=False)
    account: str | None = None


def initial_response(user: str, access_token: str) -> str:
    """The XOAUTH2 initial client response, before base64."""
    if not user or any(ch in user for ch in "\x01\r\n"):
        raise ValueError("the user name cannot go into XOAUTH2")
    if not access_token or not access_token.isascii() or any(
            ch <= " " or ch == "\x7f" for ch in access_token):
        raise ValueError("not a bearer token")
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def read_challenge(data: bytes | str | None) -> dict | None:
    """The JSON error of a ``334`` challenge (Gmail's ``status``,
    ``schemes``, ``scope``), from the base64 text of the reply or from the
    bytes smtplib already decoded; None when it is not such JSON."""
    if not data:
        return None
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    raw = raw.strip()
    if not raw.startswith(b"{"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        found = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(found, dict):
        return None
    return {key: str(value)[:200] for key, value in found.items()
            if key in ("status", "schemes", "scope") and isinstance(value, (str, int))}


def auth_failure(provider: str, mechanism: str, reply_code: int | None,
                 reply_text: str | bytes | None, *, challenge: dict | None = None,
                 account: str | None = None, username: str | None = None) -> tuple[str, dict] | None:
    """The diagnosis of a refused AUTH when it is about OAuth or the end of
    password logins, else None (the caller's usual login diagnosis applies).
    ``account`` is the signed-in account (from the id_token), ``username``
    the one sent."""
    if isinstance(reply_text, bytes):
        reply_text = reply_text.decode("utf-8", "replace")
    reply_text = reply_text or ""
    enhanced = enhanced_status(reply_text)
    facts: dict = {"mechanism": mechanism.upper()}
    if mechanism.upper() == MECHANISM:
        facts["oauth"] = provider
    if reply_code is not None:
        facts["reply_code"] = reply_code
    if enhanced:
        facts["enhanced"] = enhanced
    if BASIC_AUTH_OFF.search(reply_text):
        return "basic_auth_disabled", facts
    if enhanced == "5.7.139":
        where = _TENANT_OR_MAILBOX.search(reply_text)
        if where:
            facts["scope"] = where.group(1).lower()
        return "smtp_auth_disabled", facts
    if mechanism.upper() != MECHANISM:
        return None
    if challenge:
        facts["challenge_status"] = challenge.get("status")
    if account and username:
        facts["account"] = account
        facts["login"] = username
        facts["account_differs"] = account.casefold() != username.casefold()
    if challenge or reply_code == 535:
        return "xoauth2_refused", facts
    return None
