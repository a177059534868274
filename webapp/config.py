"""Defaults for every setting; an environment variable SENDWELL_<NAME> overrides each."""
import os

from .mail.oauth import DEFAULT_SETTINGS as OAUTH_ENDPOINTS

DEFAULTS = {
    # Where the SQLite file, the secret key and the Fernet key live.
    "INSTANCE_PATH": None,
    "DATABASE": "sendwell.sqlite3",
    # Fernet key for the stored password. When unset, a 0600 key file in the
    # instance folder is used (created on first start).
    "FERNET_KEY": None,
    "SECRET_KEY": None,
    # Where `make run` listens (gunicorn.conf.py reads SENDWELL_HOST too).
    "HOST": "127.0.0.1",
    # Host names this installation answers to besides HOST, localhost and
    # 127.0.0.1, comma-separated: the public name behind a reverse proxy.
    "ALLOWED_HOSTS": "",
    # How many reverse proxies stand in front (0: none). Only then are their
    # X-Forwarded-For/-Proto/-Host headers believed (request_origin.py).
    "TRUSTED_PROXIES": 0,
    # Whole-test deadline in seconds, on top of each step's own timeout.
    "MAIL_DEADLINE": 15.0,
    # Shared deployments set this to false so nobody can aim the test at the
    # tool's own network; a LAN relay is common, so it is allowed by default.
    "MAIL_ALLOW_PRIVATE": True,
    # Extra CA bundle to trust for mail servers (e.g. a company CA).
    "MAIL_CA_FILE": None,
    # Detect settings: its one deadline in seconds, the ports it probes, and a
    # DNS server ("host[:port]") that every lookup of Detect goes to instead
    # of the system's (for tests; unset in normal use).
    "DETECT_DEADLINE": 10.0,
    "DETECT_PORTS": "465,587,25",
    "DNS_SERVER": None,
    # Largest PDF document that may be emailed, in bytes.
    "MAX_PDF_BYTES": 10 * 1024 * 1024,
    # How often one client may make Sendwell talk to a mail server (tests,
    # documents sent, Detect settings, OAuth sign-ins: one shared count),
    # and how often it may try a password.
    "RATELIMIT_MAIL": "30 per minute",
    "RATELIMIT_SIGNIN": "10 per minute",
    # Where Microsoft 365 and Google sign users in (OAuth 2.0): the real
    # services unless set, for tests and national clouds. Microsoft's
    # endpoints are {authority}/{tenant}/oauth2/v2.0/authorize and /token.
    # https only; http only to this computer (loopback).
    "OAUTH_MICROSOFT_AUTHORITY": OAUTH_ENDPOINTS["OAUTH_MICROSOFT_AUTHORITY"],
    "OAUTH_GOOGLE_AUTHORIZE_URL": OAUTH_ENDPOINTS["OAUTH_GOOGLE_AUTHORIZE_URL"],
    "OAUTH_GOOGLE_TOKEN_URL": OAUTH_ENDPOINTS["OAUTH_GOOGLE_TOKEN_URL"],
    "OAUTH_GOOGLE_REVOKE_URL": OAUTH_ENDPOINTS["OAUTH_GOOGLE_REVOKE_URL"],
    # A signed-in session ends after this many seconds without a request.
    "SESSION_IDLE_TIMEOUT": 12 * 3600,
    # A password typed but not saved yet is kept (encrypted, for the same
    # server only) this many seconds after it was last typed, so that a page
    # sent again without JavaScript does not ask for it again.
    "DRAFT_TTL": 600,
    # One-time sign-in links expire after this many seconds.
    "SIGNIN_LINK_TTL": 3600,
    "BABEL_DEFAULT_TIMEZONE": "UTC",
}


def _coerce(default, raw: str):
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, int):
        return int(raw)
    return raw


def from_environment(environ=os.environ) -> dict:
    settings = {}
    for name, default in DEFAULTS.items():
        raw = environ.get(f"SENDWELL_{name}")
        settings[name] = default if raw is None else _coerce(default, raw)
    return settings
