"""Rate limits on what costs the most or guards the most: tests, sends, sign-in."""
from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Each gunicorn worker counts on its own: a limit of N lets one client make at
# most N times the number of workers requests; fine for a single-site tool.
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])


def limit(setting: str, **options):
    """A limit read from the configuration (RATELIMIT_TEST, ...) when the request comes."""
    return limiter.limit(lambda: current_app.config[setting], **options)


def init_app(app):
    limiter.init_app(app)
