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
from .result import DeliveryResult, secret_encodings


@dataclass(frozen=True)
class HttpDestination:
    url: str                 # without credentials
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # The URL's credential parameters ("api_key=..."), as written: added to
    # the query of the request, never shown.
    secret_query: str = field(default="", repr=False)

    @classmethod
    def from_secret(cls, url: str, secret: str | None) -> HttpDestination:
        """``secret`` holds the URL's credentials as typed, kept apart from
        it: the user-info ("user:password", percent-encoded) and, after a
        "?", the credential parameters; empty when there were none."""
        if not secret:
            return cls(url)
        userinfo, _, secret_query = secret.partition("?")
        return cls(url, *web.credentials(userinfo or None), secret_query=secret_query)

    @classmethod
    def from_url(cls, url: str) -> HttpDestination:
        """From a URL that may carry credentials in its user-info or query."""
        try:
            parsed = web.parse_url(url)
        except web.BadUrl:
            return cls(url)  # send says what is wrong with it
        return cls.from_secret(parsed.without_secrets, secret_of(parsed))


def secret_of(url: web.Url) -> str:
    """The credentials of ``url`` in the form ``HttpDestination.from_secret`` reads."""
    secret_query = web.split_query(url.query)[1]
    return (url.userinfo or "") + (f"?{secret_query}" if secret_query else "")


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
    secrets = secret_encodings(password)
    for value in web.query_values(destination.secret_query):
        secrets += secret_encodings(value)
    attempt = Attempt(deadline_s, host=target.host if target else "", secrets=secrets)
    if target is not None and destination.secret_query:
        target = target.with_query(destination.secret_query)
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
