"""The settings page (blueprint "settings"): the page, its HTMX fragments, Test and Update."""
import hashlib
import hmac
import json
from datetime import datetime, timezone

from flask import (Blueprint, current_app, flash, get_template_attribute, redirect,
                   render_template, request, url_for)
from flask_babel import (format_datetime, format_decimal, format_time, gettext as _,
                         lazy_gettext as _l)
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from . import explain, outbox, rules
from .current import delivery_options, store
from .fields import fill, help_text
from .limits import limit
from .forms import SettingsForm
from .model import MailSettings

bp = Blueprint("settings", __name__, url_prefix="/<lang>/settings")


def settings_fingerprint(settings: MailSettings, secret: str | None) -> str:
    """Identifies settings exactly as tested, secret included, without storing the secret."""
    material = json.dumps([settings.to_dict(), secret or ""], sort_keys=True).encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), material, hashlib.sha256).hexdigest()


def test_status(form: SettingsForm) -> tuple[str, object]:
    """Whether the settings as they stand passed a test: (state, test run or None).

    Validating here must not leave messages under fields the user has not
    finished, so the form's errors are cleared again.
    """
    state, run = ("changed" if store().has_test_runs() else "untested"), None
    if form.validate():
        saved = store().saved()
        secret = form.require_secret(store().secret_for, bool(saved and saved.has_secret))
        run = store().test_run(settings_fingerprint(form.settings, secret))
        if run is not None:
            state = "passed" if run.ok else "failed"
    for field in form:
        field.errors = []
    return state, run


def posted_status() -> tuple[str, object]:
    """The test status of the settings in the posted form (a form of its own, so the
    caller's form keeps its messages)."""
    return test_status(SettingsForm(meta={"csrf": False}))


def slot_states(form: SettingsForm, status: tuple[str, object]) -> dict[str, str | None]:
    states = rules.slot_states(form.values())
    state, run = status
    states["test_status"] = f"{state}@{run.at.isoformat()}" if run else state
    return states


def form_for(settings: MailSettings, **options) -> SettingsForm:
    """The form as if these settings had just been submitted."""
    return SettingsForm(formdata=MultiDict(settings.form_values()), **options)


def render_page(form: SettingsForm, saved, status, code: int = 200, report=None):
    return render_template(
        "settings/page.html",
        form=form,
        saved=saved,
        states=slot_states(form, status),
        report=report,
    ), code


@bp.get("")
def page():
    saved = store().saved()
    if saved is None:
        return render_page(SettingsForm(formdata=None), None, ("untested", None))
    status = test_status(form_for(saved.settings, meta={"csrf": False}))
    return render_page(form_for(saved.settings), saved, status)


@bp.post("")
def update():
    form = SettingsForm()
    saved = store().saved()
    if request.form.get("action") == "refresh":
        # Without JavaScript, this button re-renders the page for the choices made.
        return render_page(form, saved, posted_status())
    if request.form.get("action") == "test":
        report, status = run_test(form, saved)
        return render_page(form, saved, status or posted_status(), report=report)
    if form.validate():
        secret = form.require_secret(store().secret_for, bool(saved and saved.has_secret))
        if not form.errors:
            store().save(form.settings, secret)
            flash(_l("Settings saved."))
            return redirect(url_for("settings.page"))
    return render_page(form, saved, posted_status(), 422)


def test_message_text(settings: MailSettings) -> tuple[str, str]:
    if settings.protocol == "HTTP":
        route = settings.http_url
    else:
        route = fill(_l("%(host)s, port %(port)s"), host=settings.smtp_host, port=settings.smtp_port)
    subject = _("Sendwell test email")
    body = _("Hello,\n\n"
             "This is a test email from Sendwell. It was sent to check the email settings: "
             "if you can read it, they work.\n\n"
             "Sent with: %(protocol)s, %(route)s\n"
             "Sent at: %(time)s\n\n"
             "You do not need to reply.",
             protocol=settings.protocol, route=route,
             time=format_datetime(datetime.now(timezone.utc), "long"))
    return subject, body


def run_test(form: SettingsForm, saved) -> tuple[explain.Report, tuple[str, object] | None]:
    """Send a real test email with the settings as typed, and record the outcome.

    Returns the report and the test status it leaves (None when nothing was sent).
    """
    secret = None
    if form.validate():
        secret = form.require_secret(store().secret_for, bool(saved and saved.has_secret))
    if form.errors:
        return explain.Report(invalid=True), None
    settings = form.settings
    recipient = (form.test_recipient.data or "").strip() or settings.sender
    subject, body = test_message_text(settings)
    message = outbox.compose(settings, to=[recipient], subject=subject, body=body)
    options = delivery_options()
    result = outbox.send(settings, secret, message, to=[recipient], options=options)
    run = store().record_test(settings_fingerprint(settings, secret), result.ok)
    report = explain.report(
        result, settings, deadline_s=options.deadline_s,
        success_text=_("The test email was sent to %(recipient)s in %(seconds)s seconds.",
                       recipient=recipient,
                       seconds=format_decimal(result.total_ms / 1000, format="#,##0.00")))
    return report, ("passed" if run.ok else "failed", run)


@bp.post("/test")
@limit("RATELIMIT_TEST")
def test():
    """HTMX: run a test; the result goes in place, field messages and status out of band."""
    form = SettingsForm()
    saved = store().saved()
    report, status = run_test(form, saved)
    states = slot_states(form, status or posted_status())
    errors = get_template_attribute("settings/_fields.html", "errors")
    shown = rules.visible_fields(states) | {"test_recipient"}
    return Markup("").join([
        get_template_attribute("settings/_result.html", "outcome")(report),
        *(errors(form[name], oob=True) for name in sorted(shown) if name != "protocol"),
        get_template_attribute("settings/_fields.html", "slot")(
            "test_status", form, states, saved, oob=True),
    ])


@bp.post("/fields")
def fields():
    """HTMX: the parts of the form whose visibility or content changed, out of band.

    The page reports which slots it shows (hidden `shown` inputs); only the
    slots whose state differs are sent, so every other input keeps its value
    and focus.
    """
    form = SettingsForm()
    states = slot_states(form, posted_status())
    changed = rules.changed_slots(states, set(request.form.getlist("shown")))
    saved = store().saved()
    render_slot = get_template_attribute("settings/_fields.html", "slot")
    return Markup("").join(render_slot(name, form, states, saved, oob=True) for name in changed)


# -- presentation helpers for the templates -----------------------------------

def input_attrs(field, extra: dict) -> dict:
    attrs = {"aria-describedby": f"errors-{field.id} help-{field.name}"}
    if field.errors:
        attrs["aria-invalid"] = "true"
    attrs.update(extra)
    return attrs


def port_note(form) -> str:
    return fill(_l("Port %(port)s is not encrypted unless the server offers STARTTLS, so your "
                   "password and email could be read on the way. Use port 465 or 587 if your "
                   "email provider supports them."), port=form.smtp_port.data)


def tls_warning(provider: str) -> str:
    return fill(_l("%(provider)s has a valid certificate: untick %(skip_tls_verify)s. Without "
                   "the check, someone on the network could pose as %(provider)s and take your "
                   "password."), provider=provider)


def status_name(state: str) -> str:
    return state.partition("@")[0]


def test_status_text(state: str) -> str:
    name, _sep, at = state.partition("@")
    if at:
        moment = datetime.fromisoformat(at)
        today = datetime.now(timezone.utc).date() == moment.date()
        when = format_time(moment, "short") if today else format_datetime(moment, "short")
        if name == "passed":
            return _("Tested at %(time)s: passed.", time=when)
        return _("Tested at %(time)s: failed.", time=when)
    if name == "changed":
        return _("The settings have changed since the last test.")
    return _("These settings have not been tested yet.")


@bp.record_once
def register_template_helpers(state):
    # Globals, not a context processor: the fragment endpoint renders an
    # imported macro, which sees globals but no request context.
    state.app.jinja_env.globals.update({
        "help_text": help_text,
        "input_attrs": input_attrs,
        "slot_marker": rules.encode_state,
        "port_note": port_note,
        "tls_warning": tls_warning,
        "status_name": status_name,
        "test_status_text": test_status_text,
    })
