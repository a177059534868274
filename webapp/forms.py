"""The settings form: fields, and validation that follows the visibility rules."""
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from . import rules, validation
from .certificate_texts import TRUST_BUTTON
from .certificate_texts import TRUST_REFUSED
from .fields import LABELS, SECURITY_LABELS, SIGN_IN_METHOD_LABELS, fill, label_values
from .i18n import lazy_gettext as _l, ngettext
from .inputs import BooleanField, HiddenField, PasswordField, RadioField, StringField
from .mail.oauth import valid_tenant
from .mail.providers import provider_for_host
from .model import PASSWORD, SECURITY_MODES, SIGN_IN_METHODS, MailSettings, looks_like_address

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
    "address_not_ascii": _l("Sendwell cannot use addresses with accented letters or letters of "
                            "other alphabets before the @ (such as ñ, é or я). Use another "
                            "address of this mailbox."),
    "not_sendable": _l("Sendwell cannot put this into an email. Check it for unusual "
                       "characters."),
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
    "client_id_invalid": _l("Paste the ID exactly as the app registration shows it, without "
                            "spaces."),
    "tenant_invalid": _l("Enter the directory's ID (like 9188040d-6c67-4c5b-b112-36a304b66dad), "
                         "a domain such as contoso.onmicrosoft.com, or organizations."),
    "client_secret_required": _l("Enter the client secret of the app registration."),
    "sign_in_required": _l("Press %(button)s first. A sign-in counts only for the %(smtp_host)s, "
                           "%(smtp_port)s, %(username)s and %(oauth_client_id)s it was made with."),
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


def _client_id(value: str) -> str:
    value = value.strip()
    if not value:
        raise validation.Invalid("required")
    if len(value) > 200 or not value.isascii() or not value.isprintable() or " " in value:
        raise validation.Invalid("client_id_invalid")
    return value


def _tenant(value: str) -> str:
    value = value.strip()
    if value and not valid_tenant(value):
        raise validation.Invalid("tenant_invalid")
    return value


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
             "trusted_certificate", "sign_in_method", "oauth_client_id", "oauth_tenant"),
}


# How each field is checked when the rules show it; what the check returns is
# what is saved. Shown fields not listed here save nothing of their own: the
# protocol, the secrets (see validate) and the checkboxes whose address field
# says it all.
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
    "sign_in_method": lambda value: value if value in SIGN_IN_METHODS else PASSWORD,
    "oauth_client_id": _client_id,
    "oauth_tenant": _tenant,
}
# The secret typed in each field that takes one.
SECRET_CHECKS = {
    "password": validation.password,
    "oauth_client_secret": validation.password,
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
    sign_in_method = RadioField(LABELS["sign_in_method"], default=PASSWORD, validate_choice=False,
                                choices=[SelectChoice(key, label)
                                         for key, label in SIGN_IN_METHOD_LABELS.items()])
    oauth_client_id = StringField(LABELS["oauth_client_id"])
    oauth_client_secret = PasswordField(LABELS["oauth_client_secret"])
    oauth_tenant = StringField(LABELS["oauth_tenant"])
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
    # The fields the provider's SMTP server filled in (rules.provider_fills).
    filled: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fills = rules.provider_fills(self.values())
        for name, value in fills.items():
            self[name].data = value
        self.filled = tuple(fills)
        # The labels in the request's language, looked up once per language
        # (fields.label_values), not at each of their two or three uses; as
        # markup, as the lazy texts were. LABELS also names parts of the page
        # that are not inputs (the redirect address).
        for name, text in label_values().items():
            if name in self:
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

    def _check(self, name, check):
        field = self[name]
        try:
            return check(field.data or "")
        except validation.Invalid as invalid:
            field.errors.append(message(invalid.code, **invalid.facts))
            return None

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)  # CSRF and WTForms' own checks
        if self.protocol.data not in ("SMTP", "HTTP"):
            self.protocol.data = "SMTP"
        shown = rules.visible_fields(rules.slot_states(self.values()))
        cleaned = {"protocol": self.protocol.data}
        for name in shown & FIELD_CHECKS.keys():
            cleaned[name] = self._check(name, FIELD_CHECKS[name])
        # The secret is typed in one place or another and is never part of the settings.
        secret = ""
        if "http_url" in shown:
            cleaned["http_url"], secret = self._check("http_url", validation.http_url) or ("", "")
        for name in shown & SECRET_CHECKS.keys():
            secret = self._check(name, SECRET_CHECKS[name]) or ""
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

    def settings_so_far(self) -> MailSettings:
        """The settings from the shown fields that pass their checks, whatever
        else is still missing or wrong, without marking any field: enough to
        know the destination a sign-in is for."""
        values = self.values()
        cleaned = {"protocol": values.get("protocol") if values.get("protocol") in ("SMTP", "HTTP")
                   else "SMTP"}
        for name in rules.visible_fields(rules.slot_states(values)) & FIELD_CHECKS.keys():
            try:
                cleaned[name] = FIELD_CHECKS[name](self[name].data or "")
            except validation.Invalid:
                pass
        return MailSettings.from_dict(cleaned)

    def refuse_for_the_message(self, part: str) -> None:
        """Mark the field behind `part` of a message the builder refused
        ("from_address", "reply_to", "to": see mail.message.Unusable)."""
        settings = self.settings
        http = settings.protocol == "HTTP"
        sender = ("http_reply_to" if http else
                  "username" if looks_like_address(settings.username) else "from_address")
        name = {"reply_to": "http_reply_to" if http else "reply_to_address",
                "to": "test_recipient" if (self.test_recipient.data or "").strip() else sender,
                }.get(part, sender)
        self[name].errors.append(message("not_sendable"))

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
        if settings.credential_kind == "oauth":
            return None  # an OAuth sign-in: see oauth_tokens.credential_for
        kept = kept_secret_for(settings.destination)
        if kept or settings.credential_kind != "password":
            return kept
        self.password.errors.append(
            message("password_retype" if has_saved_secret else "password_required"))
        return None
