"""The guide pages: public, one per language.

A field's help text in the guide is the very catalog entry the form shows,
and every text that names a field does so through its label.
"""
from flask import Blueprint, current_app, render_template
from flask_babel import format_decimal, lazy_gettext as _l

from .explain import APP_PASSWORD_STEPS, TROUBLESHOOTING
from .fields import HELP, LABELS, fill, label_values

bp = Blueprint("guide", __name__, url_prefix="/<lang>/guide")

MICROSOFT_365_STEPS = [
    _l("Set %(smtp_host)s to smtp.office365.com and %(smtp_port)s to 587."),
    _l("Enter the full email address of the mailbox in %(username)s and its password in "
       "%(password)s."),
    _l("If the test fails with the server's answer 5.7.139, sign-in with SMTP (SMTP AUTH) is "
       "turned off: ask your Microsoft 365 administrator to turn on Authenticated SMTP for this "
       "mailbox (Microsoft 365 admin center: Users, Active users, the user, Mail, Manage email "
       "apps)."),
    _l("If your organization requires multi-factor authentication for every sign-in, Microsoft "
       "may refuse a password from Sendwell even so: ask your administrator which mailbox or "
       "mail relay to use for sending from programs."),
]


def field_help(*names: str) -> list[dict]:
    return [{"name": name, "label": str(LABELS[name]), "help": fill(HELP[name])} for name in names]


@bp.get("")
def page():
    return render_template(
        "guide/page.html",
        labels=label_values(),
        field_help=field_help,
        gmail_steps=[fill(step) for step in APP_PASSWORD_STEPS["Gmail"]],
        yahoo_steps=[fill(step) for step in APP_PASSWORD_STEPS["Yahoo Mail"]],
        microsoft_steps=[fill(step) for step in MICROSOFT_365_STEPS],
        troubleshooting=[fill(item) for item in TROUBLESHOOTING],
        deadline_seconds=format_decimal(current_app.config["MAIL_DEADLINE"]),
    )
