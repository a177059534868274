"""Detect settings on the settings page: a thin view over webapp.detect.

POST /<lang>/settings/detect takes the whole settings form (the button sits
inside it). With htmx it answers the result fragment, plus the inputs it
filled and the slots whose state changed, out of band and by id, so that
every other input (the typed password above all) stays as it is. Without
JavaScript the same form is posted to the same URL, and the page comes back
with the inputs filled and the same fragment in place.
"""
from flask import get_template_attribute, redirect, request, url_for
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from . import detect_texts, rules, trust, validation
from .current import detect_options, store
from .detect import Detection, detect_settings
from .forms import SettingsForm, message
from .limits import mail_limit
from .model import looks_like_address
from .settings_views import bp, preview_status, render_page, slot_states

# Filled by Detect; each lives in the slot named.
FILLED_FIELDS = {"smtp_host": "smtp", "smtp_port": "smtp", "smtp_security": "port_security",
                 "username": "smtp", "from_address": "from_address", "sign_in_method": "smtp"}

# The Sign-in method of SPEC section 7: Detect proposes the provider's OAuth
# sign-in for Microsoft 365 and Google (Candidate.sign_in).
SIGN_IN_FIELD: str | None = "sign_in_method"
SIGN_IN_VALUES: dict[str, str] = {"microsoft": "microsoft", "google": "google"}


def prefill(form: SettingsForm) -> str:
    """The address to detect for: as typed, else the Username or Email address when they hold one."""
    for value in (form.detect_address.data, form.username.data, form.from_address.data):
        if looks_like_address(value):
            return value.strip()
    return (form.detect_address.data or "").strip()


def filled_values(detection: Detection) -> dict[str, str]:
    """The form's new values from what Detect chose (nothing when it found nothing)."""
    chosen = detection.chosen
    if chosen is None:
        return {}
    values = {"smtp_host": chosen.host, "smtp_port": str(chosen.port),
              "smtp_security": chosen.security}
    if chosen.username:
        values["username"] = chosen.username
    if not looks_like_address(chosen.username):
        values["from_address"] = detection.address
    if SIGN_IN_FIELD and chosen.sign_in in SIGN_IN_VALUES:
        values[SIGN_IN_FIELD] = SIGN_IN_VALUES[chosen.sign_in]
    return values


@bp.get("/detect")
def detect_page():
    # The language switcher links to the page it is on; this one is the settings page.
    return redirect(url_for("settings.page"))


@bp.post("/detect")
@mail_limit
def detect():
    form = SettingsForm()
    saved = store().saved()
    address = prefill(form)
    try:
        address = validation.address(address)
    except validation.Invalid as invalid:
        return answer_invalid(form, saved, message(invalid.code, **invalid.facts))
    detection = detect_settings(address, detect_options())
    filled = filled_values(detection)
    values = MultiDict(request.form)
    for name, value in {**filled, "detect_address": address}.items():
        values.setlist(name, [value])
    filled_form = SettingsForm(formdata=values)
    status = preview_status(filled_form, saved)
    report = detect_texts.report(detection, filled)
    shown = set(request.form.getlist("shown"))
    # A certificate offered after a failed test stays while it fits the new values.
    offer = trust.offer_still_open(store(), filled_form.values(), shown)
    if not request.headers.get("HX-Request"):
        return render_page(filled_form, saved, status, offer=offer, detection=report)
    states = slot_states(filled_form, status, offer)
    changed = rules.changed_slots(states, shown)
    render_slot = get_template_attribute("settings/_fields.html", "slot")
    filled_input = get_template_attribute("settings/_fields.html", "filled_input")
    errors = get_template_attribute("macros/fields.html", "errors")
    parts = [get_template_attribute("settings/_detect.html", "detect_result")(report),
             errors(filled_form.detect_address, oob=True)]
    for name in filled:
        # An input in a slot sent whole (or hidden) needs no swap of its own.
        slot = FILLED_FIELDS.get(name)
        if slot and states.get(slot) is not None and not within_changed(slot, changed):
            parts.append(filled_input(filled_form, name))
    parts += [render_slot(name, filled_form, states, saved, oob=True, status=status) for name in changed]
    return Markup("").join(parts)


def within_changed(slot: str | None, changed: list[str]) -> bool:
    while slot is not None:
        if slot in changed:
            return True
        slot = rules.SLOT_PARENTS.get(slot)
    return False


def answer_invalid(form: SettingsForm, saved, error: str):
    """The address cannot be used: say so beside it, and change nothing else."""
    status = preview_status(form, saved)  # (clears every field's messages first)
    form.detect_address.errors = [error]
    if not request.headers.get("HX-Request"):
        return render_page(form, saved, status, 422)
    errors = get_template_attribute("macros/fields.html", "errors")
    return errors(form.detect_address, oob=True)


@bp.record_once
def register_template_helpers(state):
    state.app.jinja_env.globals["detect_prefill"] = prefill
