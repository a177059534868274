"""Rate limits on what costs the most or guards the most: sending mail, sign-in."""
from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Each gunicorn worker counts on its own: a limit of N lets one client make at
# most N times the number of workers requests; fine for a single-site tool.
# Behind a reverse proxy, request.remote_addr is the real client only with
# TRUSTED_PROXIES set (see webapp/__init__.py).
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])


def limit(setting: str, **options):
    """A limit read from the configuration (RATELIMIT_SIGNIN, ...) when the request comes."""
    return limiter.limit(lambda: current_app.config[setting], **options)


def _mail_limit_value() -> str:
    return current_app.config["RATELIMIT_MAIL"]


# Every path that makes Sendwell talk to a mail server (a test, with or
# without JavaScript, a document sent, Detect settings, an OAuth sign-in)
# counts against this one limit, so no path is a side door around it.
MAIL_SCOPE = "mail"
mail_limit = limiter.shared_limit(_mail_limit_value, scope=MAIL_SCOPE)


def mail_limit_when(condition):
    """The same shared limit, for a view that sends mail only when
    `condition()` holds (the settings form's no-JavaScript Test button)."""
    return limiter.shared_limit(_mail_limit_value, scope=MAIL_SCOPE,
                                exempt_when=lambda: not condition())


def init_app(app):
    limiter.init_app(app)
