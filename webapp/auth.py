"""Sign-in: a one-time link printed at start, or the administrator password."""
import click
from flask import (Blueprint, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
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


def _start_session():
    session.clear()
    session["admin"] = True


def login_required_everywhere():
    """Every page but the guide and sign-in needs a signed-in administrator."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None or signed_in():
        return None
    if request.headers.get("HX-Request"):
        # A fragment cannot show the sign-in page in place: send the whole page there.
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = url_for("auth.signin", next=request.path)
        return response
    return redirect(url_for("auth.signin", next=request.full_path if request.query_string else request.path))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("settings.page")


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
    session.pop("admin", None)
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
        click.echo("The administrator password is set.")

    @app.cli.command("signin-link")
    @click.option("--base-url", default="http://127.0.0.1:5000")
    def signin_link_command(base_url):
        """Print a one-time sign-in link."""
        click.echo(issue_signin_link(app, base_url))
