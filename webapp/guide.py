"""The guide pages: public, one per language.

A field's help text in the guide is the very catalog entry the form shows,
and every text that names a field does so through its label.
"""
from flask import Blueprint, current_app, render_template
from flask_babel import format_decimal

from . import oauth_guide
from .diagnoses import EXPLANATIONS, TROUBLESHOOTING
from .explain import provider_steps
from .fields import HELP, LABELS, fill, label_values
from .i18n import gettext as _
from .mail.providers import GMAIL, MICROSOFT_365, YAHOO_JAPAN, YAHOO_MAIL, Provider
from .diagnoses import SIGN_IN_BUTTONS

bp = Blueprint("guide", __name__, url_prefix="/<lang>/guide")


def sign_in(provider: Provider, **extra) -> dict:
    """A provider's section of the guide: the same intro and steps a refused sign-in shows
    (``extra``: what the steps name besides fields, such as a button)."""
    steps = provider_steps(provider)
    return {"intro": fill(steps.intro, **extra) if steps.intro else None,
            "steps": [fill(step, **extra) for step in steps.steps]}


def texts(items, **extra) -> list[str]:
    return [fill(item, **extra) for item in items]


def field_help(*names: str) -> list[dict]:
    return [{"name": name, "label": str(LABELS[name]), "help": fill(HELP[name])} for name in names]


@bp.get("")
def page():
    return render_template(
        "guide/page.html",
        labels=label_values(),
        field_help=field_help,
        gmail=sign_in(GMAIL),
        yahoo=sign_in(YAHOO_MAIL),
        yahoo_japan=sign_in(YAHOO_JAPAN),
        microsoft={**sign_in(MICROSOFT_365, sign_in_button=SIGN_IN_BUTTONS["microsoft"]),
                   "intro": fill(oauth_guide.MICROSOFT_CHANGE)},
        oauth_sign_in=texts(oauth_guide.SIGN_IN, sign_out=_("Sign out"), copy=_("Copy")),
        entra_steps=texts(oauth_guide.ENTRA_STEPS),
        google_intro=texts(oauth_guide.GOOGLE_INTRO),
        google_steps=texts(oauth_guide.GOOGLE_STEPS, sign_in_button=SIGN_IN_BUTTONS["google"]),
        google_cloud_steps=texts(oauth_guide.GOOGLE_CLOUD_STEPS),
        troubleshooting=[fill(item) for item in TROUBLESHOOTING],
        deadline_seconds=format_decimal(current_app.config["MAIL_DEADLINE"]),
        detect_seconds=format_decimal(current_app.config["DETECT_DEADLINE"]),
        certificate_changed_title=str(EXPLANATIONS["certificate_changed"].title),
    )
