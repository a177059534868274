"""What the settings form says in its slots besides fields: the port-25 note,
the TLS warning, the test status beside Update and the question before saving
untested settings."""
from datetime import datetime, timezone

from flask_babel import format_datetime, format_time

from .fields import fill
from .i18n import gettext as _, lazy_gettext as _l


def port_note(port) -> str:
    return fill(_l("Port %(port)s is not encrypted unless the server offers STARTTLS, so your "
                   "password and email could be read on the way. Use port 465 or 587 if your "
                   "email provider supports them."), port=port)


def tls_warning(provider: str) -> str:
    return fill(_l("%(provider)s has a valid certificate: untick %(skip_tls_verify)s. Without "
                   "the check, someone on the network could pose as %(provider)s and take your "
                   "password."), provider=provider)


def test_status_text(status) -> str:
    """The sentence for a test_status.TestStatus."""
    if status.at is not None:
        today = datetime.now(timezone.utc).date() == status.at.date()
        when = format_time(status.at, "short") if today else format_datetime(status.at, "short")
        if status.state == "passed":
            return _("Tested at %(time)s: passed.", time=when)
        return _("Tested at %(time)s: failed.", time=when)
    if status.state == "changed":
        return _("The settings have changed since the last test.")
    return _("These settings have not been tested yet.")


def confirm_text(status) -> str:
    """The question before saving settings that have not passed a test."""
    if status.state == "failed":
        return _("The last test of these settings failed, so email sent with them may not "
                 "arrive. Save them anyway?")
    return _("These settings have not passed a test yet, so email sent with them may not "
             "arrive. Save them anyway?")
