"""Sign in with Microsoft 365 or Google (blueprint "oauth"): start, the GET
link to the provider, the callback, sign out. Thin: the protocol is
mail/oauth.py, the grants and the sign-ins under way oauth_tokens.py and
storage/oauth.py; the settings page shows the outcome in its "oauth_status"
slot.

The page's CSP has form-action 'self', which also blocks a redirect to
another site after a form is posted. So Start keeps the form (without its
secrets) server-side with the state and answers with our own GET link,
/oauth/go, which redirects to the provider: htmx follows it at once
(HX-Redirect), and without JavaScript the page offers it as a link.

The state and the PKCE verifier live in the signed-in administrator's
session (plain keys); the callback accepts a state only once, and only from
that session. /oauth/callback has no language prefix, so that one address
is registered with the provider.
"""
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, flash, g, get_template_attribute, redirect,
                   render_template, request, session, url_for)
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from . import explain, oauth_tokens, rules
from .current import oauth_settings, store
from .fields import LABELS
from .i18n import gettext as _, lazy_gettext as _l
from .forms import SettingsForm, message
from .limits import mail_limit
from .mail import oauth
from .mail.result import DeliveryResult, Diagnosis
from .diagnoses import SIGN_IN_BUTTONS
from .oauth_tokens import DRAFT, DRAFT_TTL_S, PENDING, PENDING_TTL_S, draft_values

bp = Blueprint("oauth", __name__)

SESSION_STATE = "oauth_state"
SESSION_VERIFIER = "oauth_code_verifier"
SESSION_DRAFT = "oauth_draft"
# What the sign-in needs right; the rest of the form may still be incomplete.
START_FIELDS = ("smtp_host", "smtp_port", "smtp_security", "username", "oauth_client_id",
                "oauth_tenant", "oauth_client_secret")


@dataclass
class Panel:
    """What the "oauth_status" slot shows for the form as it stands."""
    provider: str
    grant_id: str | None = None      # a sign-in is stored for the destination as typed
    account: str | None = None
    go: bool = False                 # without JavaScript: the link on to the provider
    note: str | None = None
    report: explain.Report | None = None

    @property
    def key(self) -> str:
        if self.go:
            return "go"
        return f"in:{self.grant_id}" if self.grant_id else "out"

    @property
    def button(self) -> str:
        return str(SIGN_IN_BUTTONS[self.provider])


def panel(form: SettingsForm) -> Panel | None:
    """The sign-in panel for ``form`` (None: no OAuth sign-in method)."""
    found = getattr(form, "_oauth_panel", None)
    if found is None:
        if rules.oauth_provider(form.values()) is None:
            return None  # a password or nothing chosen: nothing more to check
        settings = form.settings_so_far()
        if settings.oauth_provider is None:
            return None
        grant = store().grant_for(settings.destination)
        found = Panel(settings.oauth_provider, grant.grant_id if grant else None,
                      grant.account if grant else None, go=bool(g.get("oauth_go")),
                      note=g.get("oauth_note"), report=g.get("oauth_report"))
        form._oauth_panel = found
    return found


def panel_key(form: SettingsForm) -> str | None:
    found = panel(form)
    return None if found is None else found.key


def redirect_uri() -> str:
    """The address the provider sends the browser back to, as this request reached us."""
    return url_for("oauth.callback", _external=True)


def restored_form() -> SettingsForm | None:
    """After a round trip to the provider: the form as it was left, with the
    signed-in account as Username if it was empty, and the outcome (shown once)."""
    key = session.get(SESSION_DRAFT)
    draft = store().sign_in(DRAFT, key)
    if draft is None:
        session.pop(SESSION_DRAFT, None)
        return None
    form = SettingsForm(formdata=MultiDict(draft["values"]))
    outcome = draft.get("outcome")
    if outcome is not None:
        store().put_sign_in(DRAFT, key, {"values": draft["values"]}, DRAFT_TTL_S)
        result = oauth_tokens.result_from_dict(outcome)
        if not result.ok:
            g.oauth_report = explain.report(result, form.settings_so_far(), success_text="")
    return form


def forget_draft() -> None:
    store().drop_sign_in(DRAFT, session.pop(SESSION_DRAFT, None))


def _is_provider_address(url: str) -> bool:
    """Only the configured providers' sign-in pages are ever redirected to."""
    config = oauth_settings()
    authority = (config.get("OAUTH_MICROSOFT_AUTHORITY") or "").rstrip("/")
    google = config.get("OAUTH_GOOGLE_AUTHORIZE_URL") or ""
    if google and url.startswith(google + "?"):
        return True
    path = urlsplit(url).path
    return bool(authority) and url.startswith(authority + "/") and path.endswith("/oauth2/v2.0/authorize")


def _kept_client_secret(settings) -> str:
    """The client secret stored with a sign-in for these settings, or with
    the saved settings' sign-in when it is for the same app."""
    grant = store().grant_for(settings.destination)
    if grant is None:
        saved = store().saved()
        if (saved is not None and saved.settings.oauth_provider == settings.oauth_provider
                and saved.settings.oauth_client_id == settings.oauth_client_id):
            grant = store().grant_for(saved.settings.destination)
    return grant.client_secret if grant else ""


def _status(form: SettingsForm, saved):
    """The test status beside Update, leaving the form's messages as they are."""
    from .settings_views import preview_status
    messages = {field.name: list(field.errors) for field in form}
    status = preview_status(form, saved)
    for field in form:
        field.errors = messages[field.name]
    return status


def _page(form: SettingsForm, code: int = 200):
    from .settings_views import render_page
    saved = store().saved()
    # The language switcher leads to the settings page: this address takes posts only.
    return render_page(form, saved, _status(form, saved), code,
                       url_in=lambda lang: url_for("settings.page", lang=lang))


def _fragment(form: SettingsForm, names=()):
    """HTMX: the messages of ``names`` and the sign-in panel, out of band."""
    from .settings_views import slot_states
    saved = store().saved()
    errors = get_template_attribute("macros/fields.html", "errors")
    states = slot_states(form, _status(form, saved))
    render_slot = get_template_attribute("settings/_fields.html", "slot")
    return Markup("").join([*(errors(form[name], oob=True) for name in names),
                            render_slot("oauth_status", form, states, saved, oob=True)])


@bp.post("/<lang>/oauth/start")
@mail_limit
def start():
    form = SettingsForm()
    form.validate()
    for field in form:
        if field.name not in START_FIELDS:
            field.errors = []
    settings = form.settings_so_far()
    if settings.oauth_provider is None:
        return redirect(url_for("settings.page"))
    client_secret = form.typed_secret or _kept_client_secret(settings)
    if not client_secret and not form.oauth_client_secret.errors:
        form.oauth_client_secret.errors.append(message("client_secret_required"))
    if any(form[name].errors for name in START_FIELDS):
        if request.headers.get("HX-Request"):
            return _fragment(form, START_FIELDS)
        return _page(form, 422)
    where = oauth_tokens.endpoints(settings, oauth_settings())
    hint = settings.username if "@" in settings.username else None
    authorization = oauth.authorization_request(where, settings.oauth_client_id, redirect_uri(),
                                                login_hint=hint)
    store().put_sign_in(PENDING, authorization.state,
                        {"values": draft_values(form.values()), "client_secret": client_secret,
                         "url": authorization.url}, PENDING_TTL_S)
    session[SESSION_STATE] = authorization.state
    session[SESSION_VERIFIER] = authorization.code_verifier
    if request.headers.get("HX-Request"):
        return "", 204, {"HX-Redirect": url_for("oauth.go")}
    g.oauth_go = True
    return _page(form)


@bp.get("/oauth/go")
def go():
    pending = store().sign_in(PENDING, session.get(SESSION_STATE))
    if pending is None or not _is_provider_address(pending["url"]):
        flash(_l("This sign-in has expired. Press the sign-in button again."))
        return redirect(url_for("settings.page"))
    return redirect(pending["url"])


@bp.get("/oauth/callback")
@mail_limit
def callback():
    expected = session.pop(SESSION_STATE, None)
    verifier = session.pop(SESSION_VERIFIER, None)
    received = request.args.get("state")
    pending = None
    if oauth.state_matches(expected, received):
        pending = store().take_sign_in(PENDING, received)
    if pending is None or not verifier:
        return render_template("oauth/refused.html"), 400
    values = pending["values"]
    form = SettingsForm(formdata=MultiDict(values))
    settings = form.settings_so_far()
    answer = oauth.read_callback(settings.oauth_provider, request.args)
    if answer.failure is not None:
        code, facts = answer.failure
        facts = {**facts, "redirect_uri": redirect_uri()}
        result = DeliveryResult(False, [], Diagnosis(code, "authorize", facts.get("status"),
                                                     facts.get("description"), facts), 0.0)
    else:
        config = current_app.config
        result, grant = oauth_tokens.sign_in(
            store(), settings, client_secret=pending["client_secret"], redirect_uri=redirect_uri(),
            code=answer.code, code_verifier=verifier, oauth_settings=oauth_settings(),
            cafile=config["MAIL_CA_FILE"], deadline_s=float(config["MAIL_DEADLINE"]))
        if grant is not None:
            if not values.get("username") and grant.account:
                values = {**values, "username": grant.account}
                settings = SettingsForm(formdata=MultiDict(values)).settings_so_far()
            store().keep_grant(settings.destination, grant)
    forget_draft()
    key = secrets.token_urlsafe(24)
    store().put_sign_in(DRAFT, key, {"values": values,
                                     "outcome": oauth_tokens.result_to_dict(result)}, DRAFT_TTL_S)
    session[SESSION_DRAFT] = key
    return redirect(url_for("settings.page"))


@bp.post("/<lang>/oauth/signout")
@mail_limit
def signout():
    form = SettingsForm()
    settings = form.settings_so_far()
    if settings.oauth_provider is None:
        return redirect(url_for("settings.page"))
    config = current_app.config
    grant, revocation = oauth_tokens.sign_out(
        store(), settings, oauth_settings=oauth_settings(), cafile=config["MAIL_CA_FILE"],
        deadline_s=float(config["MAIL_DEADLINE"]))
    g.oauth_note = sign_out_note(settings.oauth_provider, grant, revocation)
    if request.headers.get("HX-Request"):
        return _fragment(form)
    return _page(form)


def sign_out_note(provider: str, grant, revocation: DeliveryResult | None) -> str:
    if grant is None or revocation is None:
        return _("Sendwell no longer keeps this sign-in.")
    if revocation.ok:
        return _("Sendwell no longer keeps this sign-in, and Google has ended it.")
    return _("Sendwell no longer keeps this sign-in, but Google could not be told to end it. "
             "To be sure, remove Sendwell's access in your Google Account, under Security.")


def check_configuration(config) -> None:
    """Refuse to start with a provider address that is not https (http only
    to this computer): the sign-in would cross the network in clear."""
    from .mail import web
    for name in oauth_tokens.ENDPOINT_SETTINGS:
        value = config.get(name)
        try:
            web.parse_url(value)
        except web.BadUrl as refused:
            raise RuntimeError(
                f"SENDWELL_{name} must be an https:// address (http:// only to this computer): "
                f"{value!r} ({refused.reason})") from None


@bp.record_once
def register_template_helpers(state):
    check_configuration(state.app.config)
    state.app.jinja_env.globals.update({"oauth_panel": panel,
                                        "label_of": lambda name: str(LABELS[name])})
