"""The guide pages: public, one per language.

A field's help text in the guide is the very catalog entry the form shows,
and every text that names a field does so through its label.
"""
from flask import Blueprint, current_app, render_template
from flask_babel import format_decimal

from .diagnoses import EXPLANATIONS, TROUBLESHOOTING
from .explain import provider_steps
from .fields import HELP, LABELS, fill, label_values
from .mail.providers import GMAIL, MICROSOFT_365, YAHOO_JAPAN, YAHOO_MAIL, Provider

bp = Blueprint("guide", __name__, url_prefix="/<lang>/guide")


def sign_in(provider: Provider) -> dict:
    """A provider's section of the guide: the same intro and steps a refused sign-in shows."""
    steps = provider_steps(provider)
    return {"intro": fill(steps.intro) if steps.intro else None,
            "steps": [fill(step) for step in steps.steps]}


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
        microsoft=sign_in(MICROSOFT_365),
        troubleshooting=[fill(item) for item in TROUBLESHOOTING],
        deadline_seconds=format_decimal(current_app.config["MAIL_DEADLINE"]),
        detect_seconds=format_decimal(current_app.config["DETECT_DEADLINE"]),
        certificate_changed_title=str(EXPLANATIONS["certificate_changed"].title),
    )
