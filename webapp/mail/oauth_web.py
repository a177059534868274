"""The OAuth 2.0 token endpoint calls as steps of an attempt.

``oauth.py`` speaks the protocol through a requests transport; here it gets
one that sends each request through ``web.request``: to the address resolved
once and vetted, under the attempt's deadline, following no redirect and
reading at most ``MAX_TOKEN_ANSWER_BYTES``. A fresh transport serves each
call (the OAuth session closes it when the call is over).

The whole call is recorded as one step, ``token`` ("Get a sign-in token"),
with its time, whatever it took (resolving, connecting, TLS, the request and
its answer); the answer itself, which holds the tokens, is never kept in a
step. A failure ends the attempt with a diagnosis like any other step's:
a network one (``name_not_found``, ``timed_out``...) or the provider's
answer read by ``oauth_errors`` (``oauth_client_rejected``...). Every
diagnosis of the step has the facts ``oauth`` (the provider) and
``token_host``.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from . import oauth, web
from .attempt import Attempt, Stop
from .result import Step

STEP = "token"
MAX_TOKEN_ANSWER_BYTES = 64 * 1024

_UNUSABLE_URL = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                 requests.exceptions.InvalidSchema)
# Headers web.request sets itself, or that the body it prepares decides.
_SET_BY_WEB = {"accept-encoding", "user-agent", "content-length", "connection", "host"}


class WebTransport(BaseAdapter):
    """A requests transport that sends through ``web.request`` as part of
    ``attempt``. The token endpoints are the server's configuration, not
    anything typed in a form, so they may be private addresses (a sovereign
    cloud's proxy, the tests' loopback server) whatever MAIL_ALLOW_PRIVATE
    says; http is still allowed to this machine only."""

    def __init__(self, attempt: Attempt, *, cafile: str | None,
                 max_response_bytes: int = MAX_TOKEN_ANSWER_BYTES):
        super().__init__()
        self.attempt = attempt
        self.cafile = cafile
        self.max_response_bytes = max_response_bytes

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        try:
            url = web.parse_url(request.url)
        except web.BadUrl as refused:
            web.refuse(self.attempt, refused.reason)
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() not in _SET_BY_WEB}
        with web.request(self.attempt, request.method, url, data=body, headers=headers,
                         allow_private=True, cafile=self.cafile,
                         max_response_bytes=self.max_response_bytes) as (_step, answer):
            pass
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response.encoding = "utf-8"
        response.reason = ""
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass  # web.request closes its own connection


def refresh(attempt: Attempt, where: oauth.Endpoints, client_id: str, client_secret: str,
            refresh_token: str, *, cafile: str | None) -> dict:
    """A fresh access token (``oauth.refresh``'s token dict), as the token step."""
    return _token_call(attempt, where, cafile, lambda transport: oauth.refresh(
        where, client_id, client_secret, refresh_token, transport=transport))


def exchange(attempt: Attempt, where: oauth.Endpoints, client_id: str, client_secret: str,
             redirect_uri: str, code: str, code_verifier: str, *, cafile: str | None) -> dict:
    """The tokens for the callback's code (``oauth.exchange_code``), as the token step."""
    return _token_call(attempt, where, cafile, lambda transport: oauth.exchange_code(
        where, client_id, client_secret, redirect_uri, code, code_verifier, transport=transport),
        facts={"redirect_uri": redirect_uri})


def revoke(attempt: Attempt, where: oauth.Endpoints, client_id: str, refresh_token: str, *,
           cafile: str | None) -> oauth.RevokeResult:
    """Ask the provider to end the grant where it can; network trouble
    raises Stop (the step is recorded), a provider's refusal comes back in
    the RevokeResult."""
    if where.revoke_url is None:
        return oauth.RevokeResult(supported=False, revoked=False)
    found: list[oauth.RevokeResult] = []
    with _token_step(attempt, where, {}):
        found.append(oauth.revoke(where, client_id, refresh_token,
                                  transport=WebTransport(attempt, cafile=cafile)))
    return found[0]


def _token_call(attempt: Attempt, where: oauth.Endpoints, cafile: str | None,
                call: Callable[[BaseAdapter], oauth.TokenResult], facts: dict | None = None) -> dict:
    extra = dict(facts or {})
    with _token_step(attempt, where, extra):
        result = call(WebTransport(attempt, cafile=cafile))
        if not result.ok:
            found = {**extra, **result.facts}
            raise Stop(attempt.diagnosis(result.code, STEP, reply_code=found.get("status"),
                                         reply_text=found.get("description"), facts=found))
    return result.token


@contextmanager
def _token_step(attempt: Attempt, where: oauth.Endpoints, facts: dict) -> Iterator[None]:
    """One step for the whole call: the steps web.request recorded inside
    are folded into it, and a diagnosis of theirs becomes the token step's."""
    try:
        host = web.parse_url(where.token_url).host
    except web.BadUrl:
        host = ""
    facts = {**facts, "oauth": where.provider, "token_host": host}
    first, started = len(attempt.steps), time.monotonic()

    def fold(ok: bool) -> None:
        del attempt.steps[first:]
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        attempt.steps.append(Step(STEP, ok, elapsed_ms, {"host": host}))

    try:
        try:
            yield
        except _UNUSABLE_URL:
            # Refused before anything is sent (the settings are checked at start).
            raise Stop(attempt.diagnosis("http_bad_url", STEP, facts={"reason": "invalid"})) from None
        except requests.RequestException as exc:
            raise Stop(attempt.diagnose_exception(STEP, exc)) from None
    except Stop as stop:
        fold(False)
        stop.diagnosis.step = STEP
        stop.diagnosis.facts = {**facts, **stop.diagnosis.facts}
        raise
    fold(True)
