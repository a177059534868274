"""Compose and send an email with the saved (or typed) settings. Plain Python.

The one place that turns MailSettings into a delivery: the test and the
document sender both go through here.
"""
from dataclasses import dataclass
from email.message import EmailMessage

from .mail import http as mail_http, smtp as mail_smtp
from .mail.message import build_message
from .mail.result import DeliveryResult
from .mail.xoauth2 import OAuthLogin
from .model import MailSettings


def compose(settings: MailSettings, *, to: list[str], subject: str, body: str,
            attachments=()) -> EmailMessage:
    return build_message(
        from_address=settings.sender,
        to=to,
        subject=subject,
        body=body,
        reply_to=settings.reply_to,
        attachments=attachments,
    )


@dataclass(frozen=True)
class DeliveryOptions:
    """How this installation delivers: set once from the server's configuration."""
    deadline_s: float = 15.0
    allow_private: bool = True
    cafile: str | None = None


def send(settings: MailSettings, secret: str | OAuthLogin | None, message: EmailMessage, *,
         to: list[str], options: DeliveryOptions) -> DeliveryResult:
    """Deliver `message` to `to`; the copy address, if any, only in the envelope.
    `secret` is the password (or the HTTP URL's credentials), or, for an
    OAuth sign-in, how to get the access token (oauth_tokens.login)."""
    deadline_s, allow_private, cafile = options.deadline_s, options.allow_private, options.cafile
    if settings.protocol == "HTTP":
        return mail_http.send(
            mail_http.HttpDestination.from_secret(settings.http_url, secret),
            message,
            from_address=settings.sender,
            to=list(to),
            reply_to=settings.reply_to,
            subject=str(message["Subject"]),
            deadline_s=deadline_s,
            allow_private=allow_private,
            cafile=cafile,
        )
    if settings.credential_kind == "oauth" and not isinstance(secret, OAuthLogin):
        raise ValueError("an OAuth sign-in needs its OAuthLogin")
    destination = mail_smtp.SmtpDestination(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.security,
        verify_tls=not settings.skip_tls_verify,
        pinned_sha256=settings.trusted_certificate or None,
        username=settings.username or None,
        password=secret if settings.credential_kind == "password" else None,
        oauth=secret if settings.credential_kind == "oauth" else None,
    )
    envelope = list(to)
    if settings.copy_address and settings.copy_address not in envelope:
        envelope.append(settings.copy_address)
    return mail_smtp.send(
        destination,
        message,
        envelope_from=settings.sender,
        envelope_to=envelope,
        deadline_s=deadline_s,
        allow_private=allow_private,
        cafile=cafile,
    )
