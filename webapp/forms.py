"""The settings form: fields, and validation that follows the visibility rules."""
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from . import rules, validation
from .certificate_texts import TRUST_BUTTON
from .certificate_texts import TRUST_REFUSED
from .fields import LABELS, SECURITY_LABELS, fill, label_values
from .i18n import lazy_gettext as _l, ngettext
from .inputs import BooleanField, HiddenField, PasswordField, RadioField, StringField
from .mail.providers import provider_for_host
from .model import SECURITY_MODES, MailSettings

MESSAGES = {
    "required": _l("Fill in this field."),
    # Why an address is refused (validation.address), one reason each.
    "address_multiple": _l("Enter only one email address here."),
    "address_with_name": _l("Enter the address alone, without a name or angle brackets (< >)."),
    "address_space": _l("An email address cannot contain spaces."),
    "address_no_at": _l("An email address needs an @, as in name@example.com."),
    "address_two_at": _l("An email address has only one @."),
    "address_local_empty": _l("Something must come before the @, as in name@example.com."),
    # TRANSLATORS: "firma.local" is an example of a business's own internal mail
    # domain; keep it as it is.
    "address_domain": _l("After the @ must come a mail domain with at least one dot, such as "
                         "example.com or firma.local."),
    "address_local_invalid": _l("The part before the @ has a character an email address cannot "
                                "have, or a dot at its start, at its end or twice in a row."),
    "header_unsafe": _l("Line breaks and control characters are not allowed here."),
    "host_invalid": _l("Enter a server name such as smtp.example.com, or an IP address."),
    "host_has_port": _l("Enter the port in the %(smtp_port)s field, not here."),
    "host_has_scheme": _l("Enter only the server name, without smtp:// or https:// before it."),
    "port_invalid": _l("Enter a whole number from 1 to 65535."),
    "security_required": _l("Choose how the connection to this port is secured."),
    "url_invalid": _l("Enter a full web address that starts with https://."),
    "url_not_https": _l("The address must start with https://. Plain http:// is allowed only "
                        "for addresses on this computer (localhost)."),
    "password_required": _l("Enter the password that goes with %(username)s."),
    "password_retype": _l("The server details changed, so type the password again: a saved "
                          "password is only ever sent to the server it was saved for."),
    "fingerprint_invalid": _l("This is not a SHA-256 fingerprint: test again, then trust the "
                              "certificate the server presents."),
    "trust_refused": TRUST_REFUSED,
}


def message(code: str, **facts) -> str:
    if code == "too_long":
        return ngettext("This is too long: at most %(num)d character.",
                        "This is too long: at most %(num)d characters.", facts["max"])
    if code == "address_local_too_long":
        return ngettext("The part before the @ is too long: at most %(num)d character.",
                        "The part before the @ is too long: at most %(num)d characters.",
                        facts["max"])
    return fill(MESSAGES[code], **facts)


def _username(value: str) -> str:
    return validation.header_safe(value).strip()


def _security_choice(value: str) -> str:
    if value not in SECURITY_MODES:
        raise validation.Invalid("security_required")
    return value


class UrlField(StringField):
    """The HTTP server's URL. Shown without its user-info: that part is the secret."""

    def _value(self):
        return validation.without_credentials(super()._value())


# The fields MailSettings.destination is made of, for each protocol.
DESTINATION_FIELDS = {
    "HTTP": ("http_url",),
    "SMTP": ("smtp_host", "smtp_port", "smtp_security", "username", "skip_tls_verify",
             "trusted_certificate"),
}


# How each field is checked when the rules show it; what the check returns is
# what is saved. Shown fields not listed here save nothing of their own: the
# protocol, the two secrets (see validate) and the checkboxes whose address
# field says it all.
FIELD_CHECKS = {
    "http_reply_to": validation.address,
    "smtp_host": validation.host,
    "smtp_port": validation.port,
    "smtp_security": _security_choice,
    "username": _username,
    "from_address": validation.address,
    "copy_address": validation.address,
    "reply_to_address": validation.address,
    "skip_tls_verify": bool,
    "trusted_certificate": validation.certificate_fingerprint,
}


class SettingsForm(FlaskForm):
    protocol = RadioField(LABELS["protocol"], choices=[SelectChoice("SMTP", "SMTP"), SelectChoice("HTTP", "HTTP")],
                          default="SMTP")
    http_url = UrlField(LABELS["http_url"])
    http_reply_to = StringField(LABELS["http_reply_to"])
    smtp_host = StringField(LABELS["smtp_host"])
    smtp_port = StringField(LABELS["smtp_port"], default="587")
    smtp_security = RadioField(
        LABELS["smtp_security"],
        choices=[SelectChoice(key, label) for key, label in SECURITY_LABELS.items()],
        validate_choice=False)
    username = StringField(LABELS["username"])
    from_address = StringField(LABELS["from_address"])
    password = PasswordField(LABELS["password"])
    copy_enabled = BooleanField(LABELS["copy_enabled"])
    copy_address = StringField(LABELS["copy_address"])
    reply_to_enabled = BooleanField(LABELS["reply_to_enabled"])
    reply_to_address = StringField(LABELS["reply_to_address"])
    skip_tls_verify = BooleanField(LABELS["skip_tls_verify"])
    test_recipient = StringField(LABELS["test_recipient"])
    detect_address = StringField(LABELS["detect_address"])  # Detect settings asks for it
    # Put here by "Trust this certificate" (see trust.py), never typed. The
    # label names it in a summary of messages.
    trusted_certificate = HiddenField(TRUST_BUTTON)

    # Filled by validate(): the settings to save and the secret typed with them
    # ("" when nothing was typed); `partial`: the settings as far as they are
    # valid, when at least their destination is (so the password can be checked
    # in the same pass as the other fields).
    settings: MailSettings | None = None
    partial: MailSettings | None = None
    typed_secret: str = ""
    _shown: frozenset = frozenset()
    # Set by the view: a secret typed earlier is kept for these settings' destination.
    draft_kept: bool = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The labels in the request's language, looked up once per language
        # (fields.label_values), not at each of their two or three uses; as
        # markup, as the lazy texts were.
        for name, text in label_values().items():
            self[name].label.text = Markup(text)

    def values(self) -> dict[str, str]:
        """What was submitted, in the shape the visibility rules read."""
        values = {}
        for field in self:
            if field.name in ("csrf_token", "test_recipient", "detect_address"):
                continue
            if isinstance(field, BooleanField):
                if field.data:
                    values[field.name] = "y"
            else:
                values[field.name] = field.data or ""
        return values

    def settle_protocol(self) -> None:
        """A protocol other than SMTP or HTTP (a forged form) is taken as SMTP,
        for the rules and the inputs shown; validate() still refuses it."""
        if self.protocol.data not in ("SMTP", "HTTP"):
            self.protocol.data = "SMTP"

    def _check(self, name, check):
        field = self[name]
        try:
            return check(field.data or "")
        except validation.Invalid as invalid:
            field.errors.append(message(invalid.code, **invalid.facts))
            return None

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)  # CSRF and WTForms' own checks
        self.settle_protocol()
        shown = rules.visible_fields(rules.slot_states(self.values()))
        cleaned = {"protocol": self.protocol.data}
        for name in shown & FIELD_CHECKS.keys():
            cleaned[name] = self._check(name, FIELD_CHECKS[name])
        # The secret is typed in one of two places and is never part of the settings.
        secret = ""
        if "http_url" in shown:
            cleaned["http_url"], secret = self._check("http_url", validation.http_url) or ("", "")
        if "password" in shown:
            secret = self._check("password", validation.password) or ""
        self.typed_secret = secret
        if (self.test_recipient.data or "").strip():
            self._check("test_recipient", validation.address)
        provider = provider_for_host(cleaned.get("smtp_host") or "")
        if cleaned.get("trusted_certificate") and provider is not None:
            # Their certificates are valid: a different one means interception.
            self.trusted_certificate.errors.append(message("trust_refused", provider=provider))

        self._shown = frozenset(shown)
        destination_fields = DESTINATION_FIELDS[self.protocol.data]
        self.partial = None
        if not any(self[name].errors for name in destination_fields):
            self.partial = MailSettings.from_dict(
                {name: value for name, value in cleaned.items() if value is not None})
        if self.errors:
            return False
        self.settings = MailSettings.from_dict(cleaned)
        return True

    def require_secret(self, kept_secret_for, has_saved_secret: bool,
                       has_draft: bool = False) -> str | None:
        """The secret to use: the typed one, else one kept for this same destination.

        `kept_secret_for(destination)` returns a kept secret (saved, or typed
        a moment ago) only when it was kept for that destination, so a changed
        host, port, username, TLS choice or URL can never receive it. Adds a
        field error when a password is needed and none can be used. Call it
        after validate(), whatever that found: the password is checked in the
        same pass as the other fields, as far as the destination is known.
        """
        if self.typed_secret:
            return self.typed_secret
        settings = self.settings or self.partial
        if settings is None:
            # Part of the destination is wrong, so no kept secret can be matched
            # to it yet; a password is sure to be missing only if none is kept.
            if ("password" in self._shown and (self.username.data or "").strip()
                    and not (has_saved_secret or has_draft)):
                self.password.errors.append(message("password_required"))
            return None
        kept = kept_secret_for(settings.destination)
        if kept or settings.credential_kind != "password":
            return kept
        self.password.errors.append(
            message("password_retype" if has_saved_secret else "password_required"))
        return None
