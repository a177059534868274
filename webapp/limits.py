"""Rate limits on what costs the most or guards the most: tests, sends, sign-in."""
from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Each gunicorn worker counts on its own: a limit of N lets one client make at
# most N times the number of workers requests; fine for a single-site tool.
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])

# The views limit() has put a limit on. Every limit is declared through it:
# the limiter checks these views only.
limited_views: set = set()


def limit(setting: str, **options):
    """A limit read from the configuration (RATELIMIT_TEST, ...) when the request comes."""
    decorate = limiter.limit(lambda: current_app.config[setting], **options)

    def limited(view):
        view = decorate(view)
        limited_views.add(view)
        return view

    return limited


@limiter.request_filter
def has_no_limit() -> bool:
    """A request to a view without a limit skips the limiter, which would
    otherwise work out on every request (a tenth of a fields fragment, issue
    17) that no limit applies: there are no default limits."""
    return current_app.view_functions.get(request.endpoint) not in limited_views


def init_app(app):
    limiter.init_app(app)
