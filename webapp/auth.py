"""Sign-in: a one-time link printed at start, or the administrator password."""
from urllib.parse import urljoin, urlsplit

import click
from flask import (Blueprint, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.urls import iri_to_uri
from wtforms import PasswordField

from .current import store
from .i18n import lazy_gettext as _l
from .limits import limit

bp = Blueprint("auth", __name__)

# Pages anyone may open.
PUBLIC_ENDPOINTS = {"auth.signin", "auth.signin_link", "guide.page", "static", "index"}


class SigninForm(FlaskForm):
    password = PasswordField(_l("Administrator password"))


def signed_in() -> bool:
    return bool(session.get("admin"))


def _idle_timeout() -> float:
    return float(current_app.config["SESSION_IDLE_TIMEOUT"])


def _start_session():
    session.clear()  # nothing from before sign-in carries over (session fixation)
    session["admin"] = True
    session["sid"] = store().start_session(_idle_timeout())


def _end_session():
    """Sign out: the server forgets the session, so a copy of the cookie is
    worth nothing either, and a password typed but not saved (its draft).
    Only the language choice stays."""
    store().end_session(session.get("sid"))
    if session.get("draft"):
        store().drop_draft(session["draft"])
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def check_session():
    """A signed-in cookie counts only while its session record lives: not
    after sign-out, a password change, "sign out everywhere" or the idle
    timeout."""
    if session.get("admin") and not store().session_alive(session.get("sid"), _idle_timeout()):
        _end_session()


def login_required_everywhere():
    """Every page but the guide and sign-in needs a signed-in administrator."""
    check_session()
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None or signed_in():
        return None
    if request.headers.get("HX-Request"):
        # A fragment cannot show the sign-in page in place: send the whole page there.
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = url_for("auth.signin", next=request.path)
        return response
    return redirect(url_for("auth.signin", next=request.full_path if request.query_string else request.path))


def _safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the settings page.

    Browsers and Werkzeug drop or rewrite control characters, whitespace and
    backslashes ("/", a tab, "/evil.example" becomes "//evil.example"), so a target
    holding any is refused; what is left must join with this site's own
    address into an address of this same site.
    """
    fallback = url_for("settings.page")
    if (not target or not target.startswith("/") or target.startswith("//")
            or "\\" in target or not target.isprintable() or any(ch.isspace() for ch in target)):
        return fallback
    site = urlsplit(request.host_url)
    joined = urlsplit(urljoin(request.host_url, target))
    if (joined.scheme, joined.netloc) != (site.scheme, site.netloc):
        return fallback
    location = iri_to_uri(target)
    if not location.startswith("/") or location.startswith("//"):
        return fallback
    return location


@bp.route("/<lang>/signin", methods=["GET", "POST"])
@limit("RATELIMIT_SIGNIN", methods=["POST"])
def signin():
    form = SigninForm()
    has_password = store().admin_password_hash() is not None
    if form.validate_on_submit():
        stored = store().admin_password_hash()
        if stored and check_password_hash(stored, form.password.data or ""):
            _start_session()
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [_l("That password is not right.")]
        return render_template("auth/signin.html", form=form, has_password=has_password), 401
    return render_template("auth/signin.html", form=form, has_password=has_password)


@bp.get("/signin/<token>")
def signin_link(token):
    if store().consume_signin_token(token):
        _start_session()
        flash(_l("You are signed in."))
        return redirect(url_for("settings.page"))
    return render_template("auth/signin.html", form=SigninForm(), link_expired=True,
                           has_password=store().admin_password_hash() is not None), 403


@bp.post("/<lang>/signout")
def signout():
    _end_session()
    return redirect(url_for("auth.signin"))


def issue_signin_link(app, base_url: str) -> str:
    token = app.extensions["store"].issue_signin_token(app.config["SIGNIN_LINK_TTL"])
    return f"{base_url.rstrip('/')}/signin/{token}"


def init_app(app):
    app.before_request(login_required_everywhere)

    @app.cli.command("set-password")
    @click.password_option(prompt="New administrator password")
    def set_password(password):
        """Set the administrator password (stored hashed)."""
        if len(password) < 8:
            raise click.BadParameter("use at least 8 characters", param_hint="password")
        app.extensions["store"].set_admin_password_hash(generate_password_hash(password))
        # Whoever signed in with the old password is signed out.
        app.extensions["store"].end_all_sessions()
        click.echo("The administrator password is set. Every session signed in before is "
                   "signed out.")

    @app.cli.command("signin-link")
    @click.option("--base-url", default="http://127.0.0.1:5000")
    @click.option("--sign-out-everywhere", is_flag=True,
                  help="Sign out every session first, e.g. after a cookie may have been copied.")
    def signin_link_command(base_url, sign_out_everywhere):
        """Print a one-time sign-in link."""
        if sign_out_everywhere:
            count = app.extensions["store"].end_all_sessions()
            click.echo(f"Signed out {count} session(s).", err=True)
        click.echo(issue_signin_link(app, base_url))
