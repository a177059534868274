"""The settings page (blueprint "settings"): the page, its HTMX fragments, Test and Update."""
import secrets
from datetime import datetime, timezone

from flask import (Blueprint, current_app, flash, get_template_attribute, redirect,
                   render_template, request, session, url_for)
from flask_babel import format_datetime, format_decimal
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField

from . import explain, oauth_tokens, oauth_views, outbox, rules, test_status, trust
from .certificate_texts import STOP_TRUSTING_BUTTON, TRUST_BUTTON
from .current import delivery_options, send_credential, store
from .fields import fill
from .forms import SECRET_CHECKS, SettingsForm, message as field_message
from .i18n import gettext as _, lazy_gettext as _l
from .mail.message import Unusable
from .mail.web import display_url
from .limits import mail_limit, mail_limit_when
from .model import MailSettings
from .diagnoses import SIGN_IN_BUTTONS
from .slot_texts import confirm_text, port_note, test_status_text, tls_warning
from .storage import SavedSettings
from .test_status import TestStatus

bp = Blueprint("settings", __name__, url_prefix="/<lang>/settings")


# -- drafts: a password typed on a page that is rendered again ------------------
# Without JavaScript every button re-renders the page, and a password is never
# written into a page. So a typed secret is kept as a draft (storage/drafts.py)
# under a random id in the session, for its destination only, and a blank
# password field then means "the one I typed".

def _draft_id(create: bool = False) -> str | None:
    if create and not session.get("draft"):
        session["draft"] = secrets.token_urlsafe(24)
    return session.get("draft")


def kept_secret_for(destination: str) -> str | None:
    """What a blank secret field stands for: the draft typed for this very
    destination, else the secret saved for it."""
    draft_id = _draft_id()
    draft = store().draft_secret(draft_id, destination) if draft_id else None
    return draft or store().secret_for(destination)


def keep_typed_secret(form: SettingsForm) -> None:
    """Keep what was typed in the secret field as a draft, when it is known
    where it may go. Marks the form, so its password field says so."""
    settings = form.settings or form.partial
    if form.typed_secret and settings is not None:
        store().keep_draft(_draft_id(create=True), settings.destination, form.typed_secret,
                           float(current_app.config["DRAFT_TTL"]))
    draft_id = _draft_id()
    form.draft_kept = bool(settings is not None and draft_id
                           and store().draft_secret(draft_id, settings.destination))


def forget_draft() -> None:
    draft_id = session.pop("draft", None)
    if draft_id:
        store().drop_draft(draft_id)


def secret_for_form(form: SettingsForm, saved: SavedSettings | None):
    """What a validated form signs in with: the password, typed or kept for this very
    destination (see SettingsForm.require_secret, which marks the password field when
    there is none), or the OAuth sign-in stored for it (marking the sign-in method)."""
    settings = form.settings or form.partial
    if settings is not None and settings.credential_kind == "oauth":
        credential = oauth_tokens.credential_for(store(), settings, form.typed_secret)
        if credential is None:
            button = SIGN_IN_BUTTONS[settings.oauth_provider]
            form.sign_in_method.errors.append(field_message("sign_in_required", button=button))
        return credential
    draft_id = _draft_id()
    return form.require_secret(kept_secret_for, bool(saved and saved.has_secret),
                               has_draft=bool(draft_id and store().has_draft(draft_id)))


def validated(form: SettingsForm, saved: SavedSettings | None):
    """Validate the form once, the password with the other fields; the secret (or
    OAuth sign-in) to use with its settings, if they are valid."""
    valid = form.validate()
    secret = secret_for_form(form, saved)
    return secret if valid and not form.errors else None


def typed_in_this_form(form: SettingsForm) -> str:
    """The secret typed in this form: in the field, or a moment ago (its draft,
    which a blank field stands for). Found by where it came from, never by
    comparing it with the saved secret (that would tell a guess from it)."""
    if form.typed_secret:
        return form.typed_secret
    draft_id = _draft_id()
    if form.settings is None or not draft_id:
        return ""
    return store().draft_secret(draft_id, form.settings.destination) or ""


def status_of(form: SettingsForm, secret: str | None) -> TestStatus:
    """The test status of a validated form that would use `secret`."""
    return test_status.form_status(form.settings if not form.errors else None, secret,
                                   typed_in_this_form(form))


def preview_status(form: SettingsForm, saved: SavedSettings | None) -> TestStatus:
    """The test status of a form still being filled in. It shows no messages:
    those come with Test and Update."""
    status = status_of(form, validated(form, saved))
    for field in form:
        field.errors = []
    return status


def slot_states(form: SettingsForm, status: TestStatus,
                offer: str | None = None) -> dict[str, str | None]:
    """The rules' slots and the view's own: the test status, the certificate
    offer, the OAuth sign-in panel."""
    return {**rules.slot_states(form.values()), "test_status": status.key, trust.OFFER_SLOT: offer,
            "oauth_status": oauth_views.panel_key(form)}


def form_for(settings: MailSettings, **options) -> SettingsForm:
    """The form as if these settings had just been submitted."""
    return SettingsForm(formdata=MultiDict(settings.form_values()), **options)


def render_page(form: SettingsForm, saved, status: TestStatus, code: int = 200, report=None,
                offer: str | None = None, detection=None, confirm: bool = False,
                **context):
    """The whole page. `offer`: a certificate to offer for trust; `detection`: a
    Detect settings report to show; `confirm`: ask before saving settings that
    have not passed a test."""
    return render_template(
        "settings/page.html",
        form=form,
        saved=saved,
        states=slot_states(form, status, offer),
        status=status,
        report=report,
        detection=detection,
        confirm=confirm,
        **context,
    ), code


@bp.get("")
def page():
    saved = store().saved()
    restored = oauth_views.restored_form()
    if restored is not None:  # back from signing in with the provider
        return render_page(restored, saved, preview_status(restored, saved))
    if saved is None:
        return render_page(SettingsForm(formdata=None), None, TestStatus("untested"))
    # Saved settings are valid settings: their status needs no form.
    settings = saved.settings
    if settings.credential_kind == "oauth":
        secret = oauth_tokens.credential_for(store(), settings, "")
    else:
        secret = store().secret_for(settings.destination)
    return render_page(form_for(settings), saved, test_status.saved_status(settings, secret))


def _testing() -> bool:
    return request.form.get("action") == "test"


@bp.post("")
@mail_limit_when(_testing)
def update():
    """The form sent as a whole page: Update, and without JavaScript Test, the
    trust buttons and the refresh of the fields (the language switcher sends it
    too, to keep what is typed)."""
    form = SettingsForm(formdata=trust.apply_choice(request.form, store()))
    saved = store().saved()
    action = request.form.get("action")
    if action == "refresh" or trust.pressed(request.form):
        # Without JavaScript, these buttons re-render the page for the choices made.
        status = preview_status(form, saved)
        keep_typed_secret(form)
        return render_page(form, saved, status)
    if _testing():
        report, status, offer = run_test(form, saved)
        keep_typed_secret(form)
        return render_page(form, saved, status, report=report, offer=offer)
    secret = validated(form, saved)
    if form.errors:
        keep_typed_secret(form)
        return render_page(form, saved, status_of(form, secret), 422)
    status = status_of(form, secret)
    if status.state != "passed" and action != "update-anyway":
        # Settings that failed their last test, or were never tested, are saved
        # only once the user says so (a page, so that it works without JavaScript).
        keep_typed_secret(form)
        return render_page(form, saved, status, confirm=True)
    settings = form.settings
    typed = typed_in_this_form(form)
    if settings.credential_kind == "oauth":
        store().save(settings, None)  # the sign-in is stored on its own
        if form.typed_secret:
            store().set_grant_client_secret(settings.destination, form.typed_secret)
        oauth_views.forget_draft()
    else:
        # A kept secret keeps its id, and with it the tests it passed.
        store().save(settings, secret, None if typed else store().secret_id_for(settings.destination))
    if typed:
        test_status.carry_over_to_saved(settings, secret, status)
    forget_draft()
    flash(_l("Settings saved."))
    return redirect(url_for("settings.page"))


def test_message_text(settings: MailSettings) -> tuple[str, str]:
    if settings.protocol == "HTTP":
        # Without the query: a parameter that is not a credential may still
        # be something only the sender should know.
        route = display_url(settings.http_url)
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


def run_test(form: SettingsForm, saved) -> tuple[explain.Report, TestStatus, str | None]:
    """Send a real test email with the settings as typed, and record the outcome.

    Returns the report, the test status the settings have after it, and the
    certificate offered for trust, if the test failed on one.
    """
    secret = validated(form, saved)
    if form.errors:
        return explain.Report(invalid=True), status_of(form, secret), None
    settings = form.settings
    recipient = (form.test_recipient.data or "").strip() or settings.sender
    subject, body = test_message_text(settings)
    try:
        message = outbox.compose(settings, to=[recipient], subject=subject, body=body)
    except Unusable as refused:
        # The checks of validation.py should have said so; never a 500 if not.
        form.refuse_for_the_message(refused.part)
        return explain.Report(invalid=True), status_of(form, secret), None
    options = delivery_options()
    result = outbox.send(settings, send_credential(settings, secret), message, to=[recipient],
                         options=options)
    status = test_status.record(settings, secret, typed_in_this_form(form), result.ok)
    offer = trust.remember_offer(store(), settings, result)
    report = explain.report(
        result, settings,
        success_text=_("The test email was sent to %(recipient)s in %(seconds)s seconds.",
                       recipient=recipient,
                       seconds=format_decimal(result.total_ms / 1000, format="#,##0.00")))
    return report, status, offer


@bp.post("/test")
@mail_limit
def test():
    """HTMX: run a test; the result goes in place; field messages, status and
    the certificate offer out of band."""
    form = SettingsForm()
    saved = store().saved()
    report, status, offer = run_test(form, saved)
    states = slot_states(form, status, offer)
    errors = get_template_attribute("macros/fields.html", "errors")
    shown = rules.visible_fields(states) | {"test_recipient"}
    render_slot = get_template_attribute("settings/_fields.html", "slot")
    return Markup("").join([
        get_template_attribute("macros/result.html", "outcome")(report, form=form),
        *(errors(form[name], oob=True) for name in sorted(shown) if name != "protocol"),
        render_slot("test_status", form, states, saved, oob=True, status=status),
        render_slot(trust.OFFER_SLOT, form, states, saved, oob=True),
    ])


@bp.post("/fields")
def fields():
    """HTMX: the parts of the form whose visibility or content changed, out of band.

    The page reports which slots it shows (hidden `shown` inputs); only the
    slots whose state differs are sent, so every other input keeps its value
    and focus.
    """
    # CSRFProtect has checked this request's token already; the fragment
    # renders no form token, so the form need not check it a second time.
    form = SettingsForm(formdata=trust.apply_choice(request.form, store()), meta={"csrf": False})
    saved = store().saved()
    status = preview_status(form, saved)
    shown = request.form.getlist("shown")
    states = slot_states(form, status, trust.offer_still_open(store(), form.values(), shown))
    changed = rules.changed_slots(states, set(shown))
    render_slot = get_template_attribute("settings/_fields.html", "slot")
    parts = [render_slot(name, form, states, saved, oob=True, status=status) for name in changed]
    if "smtp" not in changed:
        # The provider's server in SMTP server and Port, which were empty.
        filled_input = get_template_attribute("settings/_fields.html", "filled_input")
        parts += [filled_input(form, name) for name in form.filled]
    return Markup("").join(parts)


def kept_values(slot: str, form: SettingsForm) -> list[tuple[str, str]]:
    """What is filled in the fields of a hidden slot, to carry as hidden inputs:
    showing the slot again (protocol SMTP, HTTP, SMTP) shows what was typed.
    Never a secret: the password and the client secret are left out, the URL
    shown without its user-info."""
    values = []
    for name in rules.fields_within(slot):
        field = form[name]
        if name in SECRET_CHECKS:
            continue
        if isinstance(field, BooleanField):
            value = "y" if field.data else ""
        elif hasattr(field, "_value"):
            value = field._value() or ""
        else:  # a choice; its default needs no carrying
            value = field.data if field.data != field.default else ""
        if value:
            values.append((name, value))
    return values


def deadline_seconds() -> str:
    return format_decimal(current_app.config["MAIL_DEADLINE"])


@bp.record_once
def register_template_helpers(state):
    # Globals, not a context processor: the fragment endpoint renders an
    # imported macro, which sees globals but no request context.
    state.app.jinja_env.globals.update({
        "kept_values": kept_values,
        "deadline_seconds": deadline_seconds,
        "slot_marker": rules.encode_state,
        "port_note": port_note,
        "tls_warning": tls_warning,
        "test_status_text": test_status_text,
        "confirm_text": confirm_text,
        "trusted_facts": lambda fingerprint: trust.trusted_facts(store(), fingerprint),
        "fingerprint_groups_of": trust.fingerprint_groups_of,
        "trust_button": TRUST_BUTTON,
        "stop_trusting_button": STOP_TRUSTING_BUTTON,
    })
