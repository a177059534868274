"""Rate limits on what costs the most or guards the most: tests, sends, sign-in."""
from flask import current_app, render_template, request
from flask_babel import gettext as _
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

    @app.errorhandler(429)
    def too_many(error):
        text = _("Too many attempts in a short time. Wait a minute, then try again.")
        headers = {"Retry-After": "60"}
        if request.headers.get("HX-Request"):
            # htmx is configured to swap a 429 into the result area in place.
            return render_template("_message.html", text=text), 429, headers
        return render_template("error.html", reason="rate_limited", text=text), 429, headers
