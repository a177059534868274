"""SMTP AUTH (RFC 4954): which mechanism, and the exchange.

A mechanism is an ``auth_<name>`` method of the client that answers the
server's challenges. XOAUTH2's access token is one more such method
(``auth_xoauth2``), chosen alone when the sign-in is OAuth. What to scrub of
a password or a token is ``result.secret_encodings``.
"""

from __future__ import annotations

import base64
import hmac
import smtplib

from . import xoauth2
from .smtp_replies import ACCEPTED

MAX_CHALLENGES = 4

# Over TLS the password is protected either way; in plain text,
# CRAM-MD5 at least does not send it.
_ORDER_ENCRYPTED = ("PLAIN", "LOGIN", "CRAM-MD5")
_ORDER_PLAIN_TEXT = ("CRAM-MD5", "PLAIN", "LOGIN")


def choose_mechanism(advertised: list[str], *, encrypted: bool, oauth: bool = False) -> str | None:
    """The mechanism to log in with, of those the server advertised. An
    OAuth sign-in has one: XOAUTH2."""
    if oauth:
        return xoauth2.MECHANISM if xoauth2.MECHANISM in advertised else None
    order = _ORDER_ENCRYPTED if encrypted else _ORDER_PLAIN_TEXT
    return next((name for name in order if name in advertised), None)


class AuthClient(smtplib.SMTP):
    """smtplib's client with the AUTH exchange in UTF-8."""

    def authenticate(self, mechanism: str, username: str, password: str | None) -> tuple[int, bytes]:
        """AUTH with ``mechanism`` alone; raises SMTPAuthenticationError
        when the server refuses."""
        # One mechanism only: smtplib.login would retry each advertised
        # one, tripling failed logins against the account's lockout count.
        self.user, self.password = username, password or ""
        try:
            return self.auth(mechanism, getattr(self, "auth_" + mechanism.lower().replace("-", "_")))
        finally:
            self.user = self.password = None

    # smtplib encodes credentials as ASCII and fails on any other character;
    # RFC 4616 and 4954 say UTF-8. Same exchange otherwise, with a bound on
    # the number of challenges.
    def auth(self, mechanism, authobject, *, initial_response_ok=True):
        mechanism = mechanism.upper()
        initial_response = authobject() if initial_response_ok else None
        if initial_response is not None:
            code, reply = self.docmd("AUTH", f"{mechanism} {_b64(initial_response)}")
            self._auth_challenge_count = 1
        else:
            code, reply = self.docmd("AUTH", mechanism)
            self._auth_challenge_count = 0
        while code == 334 and self._auth_challenge_count < MAX_CHALLENGES:
            self._auth_challenge_count += 1
            challenge = base64.decodebytes(reply)
            code, reply = self.docmd(_b64(authobject(challenge)))
        if code in ACCEPTED["login"]:
            return code, reply
        raise smtplib.SMTPAuthenticationError(code, reply)

    # The JSON of the server's last XOAUTH2 challenge (Gmail's, when it
    # refuses a token), or None.
    xoauth2_challenge: dict | None = None

    def auth_xoauth2(self, challenge=None):
        """``password`` is the access token. A challenge only ever says why
        the token was refused: keep it and answer with the empty line the
        server waits for before it sends its final refusal."""
        if challenge is None:
            self.xoauth2_challenge = None
            return xoauth2.initial_response(self.user, self.password)
        self.xoauth2_challenge = xoauth2.read_challenge(challenge)
        return ""

    def auth_cram_md5(self, challenge=None):
        if challenge is None:
            return None
        digest = hmac.HMAC(self.password.encode("utf-8"), challenge, "md5").hexdigest()
        return f"{self.user} {digest}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
