"""An aiosmtpd server that takes ``AUTH XOAUTH2`` with the loopback OAuth
server's access tokens, and answers failures as Gmail or Exchange Online do.

XOAUTH2 is a handler method (aiosmtpd 1.4.6 picks up ``auth_<MECHANISM>``
methods from the handler, next to its built-in PLAIN and LOGIN), so the
mechanism is advertised in EHLO like the real servers do ("AUTH LOGIN PLAIN
XOAUTH2"), only after STARTTLS unless ``auth_require_tls=False``.

The initial client response is ``base64("user=" U "\\x01auth=Bearer " T
"\\x01\\x01")``, sent with the command or after an empty ``334``. A token is
accepted only when the OAuth server says it is live for that user (or for an
account in ``send_as``, like a shared mailbox) and has the mail scope.

Failures, in the servers' words:

- Google: a ``334`` challenge with ``base64({"status":"401"|"400",
  "schemes":"Bearer","scope":"https://mail.google.com/"})``; the client must
  answer with an empty line, then ``535-5.7.8 Username and Password not
  accepted...``.
- Microsoft: ``535 5.7.3 Authentication unsuccessful [...]``.
- ``smtp_auth_disabled`` (Microsoft, any mechanism): ``535 5.7.139
  Authentication unsuccessful, SmtpClientAuthentication is disabled for the
  Mailbox...``.
- ``password_login``: 'accept' (the test login of ``smtp_credentials``),
  'basic_disabled' (``550 5.7.30 Basic authentication is not supported for
  Client Submission.``), or 'refuse' (the provider's plain refusal).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

from oauth_server import GOOGLE, MAIL_SCOPES, MICROSOFT, LoopbackOAuthServer, fingerprint
from servers import SMTP_PASSWORD, SMTP_USER, ReceivedMail, free_port

GOOGLE_BAD_CREDENTIALS = (
    "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials "
    "d9443c01a7336-21c4a1f5b2asm9125965ad.4 - gsmtp")
MICROSOFT_UNSUCCESSFUL = (
    "535 5.7.3 Authentication unsuccessful "
    "[LO4P302CA0005.GBRP302.PROD.OUTLOOK.COM 2026-03-20T11:25:21.972Z 08DD66EDEFB0DFDF]")
MICROSOFT_SMTP_AUTH_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
    "Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information. "
    "[LO4P302CA0005.GBRP302.PROD.OUTLOOK.COM 2026-03-20T11:25:21.972Z 08DD66EDEFB0DFDF]")
MICROSOFT_BASIC_DISABLED = "550 5.7.30 Basic authentication is not supported for Client Submission."

# What Google's challenge says, by why the token was refused.
GOOGLE_CHALLENGE_STATUS = {"expired": "401", "revoked": "401"}


@dataclass
class ReceivedOAuthMail(ReceivedMail):
    login: str | None = None   # the user the session authenticated as


@dataclass
class AuthAttempt:
    mechanism: str
    user: str | None
    accepted: bool
    token: str | None = None     # a fingerprint, never the token
    token_status: str | None = None
    client_answer: str | None = None   # what the client sent after Google's challenge


class XOAuth2Handler:
    """Accepts mail from authenticated sessions and records it, with the
    login each arrived under."""

    def __init__(self, oauth: LoopbackOAuthServer, *, provider: str = GOOGLE,
                 data_reply: str = "250 2.0.0 OK  1733332800 queued - gsmtp"):
        if provider not in (GOOGLE, MICROSOFT):
            raise ValueError("provider must be 'google' or 'microsoft'")
        self.oauth = oauth
        self.provider = provider
        self.data_reply = data_reply
        self.send_as: set[str] = set()
        self.smtp_auth_disabled = False
        self.password_login = "basic_disabled" if provider == MICROSOFT else "refuse"
        self.attempts: list[AuthAttempt] = []
        self.received: list[ReceivedOAuthMail] = []

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        login = session.login_data
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        self.received.append(ReceivedOAuthMail(
            mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), content=content,
            tls=session.ssl is not None, authenticated=bool(session.authenticated),
            login=login))
        return self.data_reply

    # -- AUTH XOAUTH2 ----------------------------------------------------------------------

    async def auth_XOAUTH2(self, server, args) -> AuthResult:
        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                await server.push("501 5.5.2 Cannot Decode response")
                return AuthResult(success=False, handled=True)
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        user, token = parse_initial_response(blob)
        if self.smtp_auth_disabled:
            self.attempts.append(AuthAttempt("XOAUTH2", user, False, _print(token), None))
            return AuthResult(success=False, handled=False, message=MICROSOFT_SMTP_AUTH_DISABLED)
        status = self._token_status(token, user)
        attempt = AuthAttempt("XOAUTH2", user, status == "live", _print(token), status)
        self.attempts.append(attempt)
        if status == "live":
            return AuthResult(success=True, auth_data=LoginPassword(user.encode("utf-8"), b""))
        if self.provider == MICROSOFT:
            return AuthResult(success=False, handled=False, message=MICROSOFT_UNSUCCESSFUL)
        challenge = json.dumps({"status": GOOGLE_CHALLENGE_STATUS.get(status, "400"),
                                "schemes": "Bearer", "scope": MAIL_SCOPES[GOOGLE]},
                               separators=(",", ":"))
        answer = await server.challenge_auth(challenge)
        if answer is MISSING:
            return AuthResult(success=False, handled=True)  # aiosmtpd answered the '*' or garbage
        attempt.client_answer = answer.decode("utf-8", "replace")
        return AuthResult(success=False, handled=False, message=GOOGLE_BAD_CREDENTIALS)

    def _token_status(self, token: str | None, user: str | None) -> str:
        if not token or not user:
            return "malformed"
        status = self.oauth.access_token_status(token, user, self.provider)
        if status == "wrong_user":
            for alias in self.send_as:
                if alias.casefold() == user.casefold():
                    owner = self.oauth.account_email
                    return self.oauth.access_token_status(token, owner, self.provider)
        return status

    # -- AUTH PLAIN / LOGIN ------------------------------------------------------------------

    def authenticate_password(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        """aiosmtpd ``authenticator`` for the built-in PLAIN and LOGIN."""
        user = auth_data.login.decode("utf-8", "replace") if isinstance(auth_data, LoginPassword) else None
        if self.smtp_auth_disabled:
            accepted, message = False, MICROSOFT_SMTP_AUTH_DISABLED
        elif self.password_login == "basic_disabled":
            accepted, message = False, MICROSOFT_BASIC_DISABLED
        elif self.password_login == "accept":
            accepted = (isinstance(auth_data, LoginPassword)
                        and auth_data.login == SMTP_USER.encode("utf-8")
                        and auth_data.password == SMTP_PASSWORD.encode("utf-8"))
            message = None
        else:
            accepted = False
            message = GOOGLE_BAD_CREDENTIALS if self.provider == GOOGLE else MICROSOFT_UNSUCCESSFUL
        self.attempts.append(AuthAttempt(mechanism, user, accepted))
        if accepted:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False, message=message)


def parse_initial_response(blob: bytes) -> tuple[str | None, str | None]:
    """``user=U\\x01auth=Bearer T\\x01\\x01`` -> (U, T); (None, None) when
    it is not shaped so."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    if not text.endswith("\x01\x01"):
        return None, None
    fields = dict(part.split("=", 1) for part in text[:-2].split("\x01") if "=" in part)
    user, auth = fields.get("user"), fields.get("auth", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token or not user:
        return None, None
    return user, token


def _print(token: str | None) -> str | None:
    return fingerprint(token) if token else None


@dataclass
class RunningXOAuth2Smtp:
    host: str
    port: int
    handler: XOAuth2Handler
    controller: Controller = field(repr=False)

    @property
    def received(self) -> list[ReceivedOAuthMail]:
        return self.handler.received

    @property
    def attempts(self) -> list[AuthAttempt]:
        return self.handler.attempts


@pytest.fixture
def xoauth2_smtp_server() -> Iterator:
    """Factory: ``xoauth2_smtp_server(oauth, provider='google'|'microsoft',
    **aiosmtpd_kwargs)`` starts aiosmtpd on 127.0.0.1 taking XOAUTH2 with
    ``oauth``'s live access tokens. TLS as for ``smtp_server``:
    ``tls_context=server_tls.valid, require_starttls=True`` or
    ``ssl_context=server_tls.valid``. Knobs on ``.handler``: ``send_as``,
    ``smtp_auth_disabled``, ``password_login``; ``.attempts`` and
    ``.received`` say what happened."""
    running: list[Controller] = []

    def start(oauth: LoopbackOAuthServer, *, provider: str = GOOGLE, hostname: str = "127.0.0.1",
              **kwargs) -> RunningXOAuth2Smtp:
        handler = XOAuth2Handler(oauth, provider=provider)
        if kwargs.get("ssl_context") is not None:
            # aiosmtpd counts only STARTTLS as TLS; implicit TLS is TLS too.
            kwargs.setdefault("auth_require_tls", False)
        port = free_port(hostname)
        controller = Controller(handler, hostname=hostname, port=port, server_hostname="localhost",
                                ready_timeout=5, authenticator=handler.authenticate_password,
                                **kwargs)
        controller.start()
        running.append(controller)
        return RunningXOAuth2Smtp(hostname, port, handler, controller)

    yield start
    for controller in running:
        controller.stop()
