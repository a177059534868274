"""Hand one message to an HTTP endpoint: POST it as JSON, report each step.

The body is ``{"from", "to", "reply_to", "subject", "message"}`` where
``message`` is the base64 of the whole RFC 5322 message. The credentials
become HTTP Basic auth and never appear in a result: steps show the URL
without user-info and without the query string (which may hold a token).
Redirects are reported, never followed.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import urljoin, urlsplit

from . import web
from .attempt import Attempt, Stop
from .message import message_bytes
from .result import DeliveryResult
from .smtp_auth import secret_forms


@dataclass(frozen=True)
class HttpDestination:
    url: str                 # without credentials
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_secret(cls, url: str, secret: str | None) -> HttpDestination:
        """``secret`` is the user-info of the URL as typed ("user:password",
        percent-encoded), kept apart from it; empty when there was none."""
        if not secret:
            return cls(url)
        return cls(url, *web.credentials(secret))

    @classmethod
    def from_url(cls, url: str) -> HttpDestination:
        """From a URL that may carry the credentials in its user-info."""
        try:
            parsed = web.parse_url(url)
        except web.BadUrl:
            return cls(url)  # send says what is wrong with it
        return cls(parsed.without_userinfo, *web.credentials(parsed.userinfo))


def send(
    destination: HttpDestination,
    message: EmailMessage,
    *,
    from_address: str,
    to: list[str],
    reply_to: str | None,
    subject: str,
    deadline_s: float = 15.0,
    allow_private: bool = True,
    cafile: str | None = None,
    max_response_bytes: int = 65536,
) -> DeliveryResult:
    """POST ``message`` to ``destination``; a 2xx answer is success.
    Finishes within ``deadline_s`` (plus a fraction of a second); never
    raises for network or server trouble."""
    try:
        target, bad_url = web.parse_url(destination.url), None
    except web.BadUrl as refused:
        target, bad_url = None, refused
    username, password = destination.username, destination.password
    attempt = Attempt(deadline_s, host=target.host if target else "",
                      secrets=secret_forms(password, username or ""))
    try:
        if target is None:
            web.refuse(attempt, bad_url.reason)
        body = json.dumps({
            "from": from_address,
            "to": list(to),
            "reply_to": reply_to,
            "subject": subject,
            "message": base64.b64encode(message_bytes(message)).decode("ascii"),
        }).encode("utf-8")
        basic_auth = None
        if username is not None or password is not None:
            basic_auth = (username or "", password or "")
        with web.request(attempt, "POST", target, data=body, basic_auth=basic_auth,
                         headers={"Content-Type": "application/json",
                                  "Accept": "application/json, */*;q=0.5"},
                         allow_private=allow_private, cafile=cafile,
                         max_response_bytes=max_response_bytes) as (step, response):
            status = response.status
            if 300 <= status < 400:
                location = web.without_userinfo(response.headers.get("Location"))
                facts = {"status": status, "location": attempt.text(location)}
                if location:
                    redirect_host = urlsplit(urljoin(target.request_url, location)).hostname
                    facts["same_host"] = redirect_host == target.host
                step.fail("http_redirect", reply_code=status, reply_text=response.body, facts=facts)
            if not 200 <= status < 300:
                step.fail("http_status", reply_code=status, reply_text=response.body,
                          facts={"status": status})
        return attempt.finish()
    except Stop as stop:
        return attempt.finish(stop.diagnosis)
    finally:
        attempt.close()
