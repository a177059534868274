"""Rate limits on what costs the most or guards the most: sending mail, sign-in."""
from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name, get_remote_address

# Each gunicorn worker counts on its own: a limit of N lets one client make at
# most N times the number of workers requests; fine for a single-site tool.
# Behind a reverse proxy, request.remote_addr is the real client only with
# TRUSTED_PROXIES set (see webapp/__init__.py).
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])

# The views with a limit, by the name the limiter itself knows them by (a
# wrapper made with functools.wraps keeps it). Every limit is declared through
# this module, and the limiter checks these views only.
limited_views: set[str] = set()


def _declared(decorate):
    def limited(view):
        view = decorate(view)
        limited_views.add(get_qualified_name(view))
        return view
    limited.limit = decorate  # the limiter's own, with its scope
    return limited


def limit(setting: str, **options):
    """A limit read from the configuration (RATELIMIT_SIGNIN, ...) when the request comes."""
    return _declared(limiter.limit(lambda: current_app.config[setting], **options))


def _mail_limit_value() -> str:
    return current_app.config["RATELIMIT_MAIL"]


# Every path that makes Sendwell talk to a mail server (a test, with or
# without JavaScript, a document sent, Detect settings, an OAuth sign-in)
# counts against this one limit, so no path is a side door around it.
MAIL_SCOPE = "mail"
mail_limit = _declared(limiter.shared_limit(_mail_limit_value, scope=MAIL_SCOPE))


def mail_limit_when(condition):
    """The same shared limit, for a view that sends mail only when
    `condition()` holds (the settings form's no-JavaScript Test button)."""
    return _declared(limiter.shared_limit(_mail_limit_value, scope=MAIL_SCOPE,
                                          exempt_when=lambda: not condition()))


@limiter.request_filter
def has_no_limit() -> bool:
    """A request to a view without a limit skips the limiter, which would
    otherwise work out on every request (a tenth of a fields fragment, issue
    17) that no limit applies: there are no default limits."""
    view = current_app.view_functions.get(request.endpoint)
    return view is None or get_qualified_name(view) not in limited_views


def init_app(app):
    limiter.init_app(app)
