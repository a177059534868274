"""The test status beside Update: whether the settings as they stand passed a test.

A status must never tell anything about a password that was not typed in
the form showing it, or a session holder could confirm the saved password
by typing guesses and watching the status (issue 12, L1). So a test run is
kept under a fingerprint of the settings and of *which* secret was used,
never under one computed from what is typed:

- the saved secret is named by a random id sealed with it (a new one each
  time a secret is typed and saved), so runs with the saved secret match
  only that very secret;
- a test with a typed secret hands the form a signed token naming the
  settings and that secret; only a form carrying the token, with the same
  settings and the same secret typed, shows that test's outcome. Saving
  such a form carries the outcome over to the secret it saves.
"""
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from .current import store
from .model import MailSettings
from .oauth_tokens import OAuthCredential
from .storage import TestRun

TOKEN_FIELD = "test_token"


@dataclass(frozen=True)
class TestStatus:
    """Whether the settings as they stand passed a test: the slot beside Update."""
    state: str                  # "untested", "changed", "passed" or "failed"
    at: datetime | None = None  # when the test ran, for "passed" and "failed"
    token: str | None = None    # the form's proof of a test with a typed secret

    @classmethod
    def of(cls, run: TestRun, token: str | None = None) -> "TestStatus":
        return cls("passed" if run.ok else "failed", run.at, token)

    @property
    def key(self) -> str:
        """The slot's state: it holds the time, so a newer test renders the slot again."""
        return f"{self.state}@{self.at.isoformat()}" if self.at else self.state


def fingerprint(settings: MailSettings, secret_ref: str) -> str:
    """Identifies settings exactly as tested, with a reference to the secret used."""
    material = json.dumps([settings.to_dict(), secret_ref], sort_keys=True).encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), material,
                    hashlib.sha256).hexdigest()


def _keyed_hash(text: str) -> str:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), text.encode(),
                    hashlib.sha256).hexdigest()


def _saved_ref(settings: MailSettings, secret: str | OAuthCredential | None) -> str:
    if not secret:
        return "none"
    if isinstance(secret, OAuthCredential):
        # A sign-in is named by its grant and the client secret stored with
        # it (both saved, never typed): a rotated refresh token keeps the name.
        return "grant:" + _keyed_hash(secret.identity)
    return f"saved:{store().secret_id_for(settings.destination) or ''}"


def _typed_fingerprint(settings: MailSettings, secret: str) -> str:
    return fingerprint(settings, "typed:" + _keyed_hash(secret))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="sendwell-test-status")


def _submitted_token() -> tuple[str, dict] | None:
    raw = request.form.get(TOKEN_FIELD) if request else None
    if not raw:
        return None
    try:
        payload = _serializer().loads(raw)
        return raw, {"fp": str(payload["fp"]), "ok": bool(payload["ok"]),
                     "at": datetime.fromisoformat(payload["at"])}
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def _untested(token: str | None = None) -> TestStatus:
    return TestStatus("changed" if store().has_test_runs() else "untested", token=token)


def saved_status(settings: MailSettings, secret: str | None) -> TestStatus:
    """The status of settings used with the saved secret (or none)."""
    run = store().test_run(fingerprint(settings, _saved_ref(settings, secret)))
    return TestStatus.of(run) if run is not None else _untested()


def form_status(settings: MailSettings | None, secret: str | None, typed_secret: str) -> TestStatus:
    """The status of a submitted form: `settings` None when it is not valid,
    `secret` the one it would use, `typed_secret` what was typed ("" if nothing)."""
    submitted = _submitted_token()
    carried = submitted[0] if submitted else None
    if settings is None:
        return _untested(carried)
    if not typed_secret:
        status = saved_status(settings, secret)
        return TestStatus(status.state, status.at, carried)
    if submitted and hmac.compare_digest(submitted[1]["fp"], _typed_fingerprint(settings, typed_secret)):
        return TestStatus("passed" if submitted[1]["ok"] else "failed", submitted[1]["at"], carried)
    return _untested(carried)


def record(settings: MailSettings, secret: str | None, typed_secret: str, ok: bool) -> TestStatus:
    """Keep the outcome of a test just run; the status the form shows after it."""
    if not typed_secret:
        return TestStatus.of(store().record_test(fingerprint(settings, _saved_ref(settings, secret)), ok))
    # Counted as a test, never found again by a fingerprint: the form gets the token.
    run = store().record_test(fingerprint(settings, "typed-once:" + secrets.token_hex(16)), ok)
    token = _serializer().dumps({"fp": _typed_fingerprint(settings, typed_secret), "ok": ok,
                                 "at": run.at.isoformat()})
    return TestStatus.of(run, token)


def carry_over_to_saved(settings: MailSettings, secret: str | None, status: TestStatus) -> None:
    """After saving a typed secret that this form tested: the test counts for it."""
    if status.at is not None and secret:
        store().record_test(fingerprint(settings, _saved_ref(settings, secret)),
                            status.state == "passed", at=status.at)
