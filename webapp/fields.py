"""Each field's label and help text: one catalog entry each, used by the form
and by the guide. A text that mentions another field names it through a
placeholder filled with that field's label."""
import re

from flask_babel import get_locale

from .i18n import lazy_gettext as _l

LABELS = {
    "protocol": _l("Protocol"),
    "http_url": _l("HTTP server"),
    "http_reply_to": _l("Reply to"),
    "smtp_host": _l("SMTP server"),
    "smtp_port": _l("Port"),
    "smtp_security": _l("Connection security"),
    "sign_in_method": _l("Sign-in method"),
    "oauth_client_id": _l("Client ID"),
    "oauth_client_secret": _l("Client secret"),
    "oauth_tenant": _l("Directory (tenant)"),
    "oauth_redirect_uri": _l("Redirect URI"),
    "username": _l("Username"),
    "from_address": _l("Email address"),
    "password": _l("Password"),
    "copy_enabled": _l("Send a copy of every email to this address"),
    "copy_address": _l("Address for the copies"),
    "reply_to_enabled": _l("Receive email replies at a different address from the one you send from"),
    "reply_to_address": _l("Address for replies"),
    "skip_tls_verify": _l("Do not verify TLS certificate"),
    "test_recipient": _l("Send the test email to"),
    "detect_address": _l("Your email address"),
}

HELP = {
    "protocol": _l(
        "How Sendwell hands your email over for delivery. SMTP is the standard way to send "
        "email over the internet and works with almost every email provider. HTTP sends each "
        "email as a web request to a mail service that offers such an interface."),
    "http_url": _l(
        "The web address of the mail service that receives your email, starting with https://. "
        "If the service needs a username and password, put them in the address "
        "(https://user:password@host/path), and a key or token as the service says "
        "(…/path?api_key=…): Sendwell stores them encrypted and never shows them again. To keep "
        "the saved ones, leave them out when you edit the address."),
    "http_reply_to": _l(
        "The address where replies to your email go, usually your business's email address."),
    "smtp_host": _l(
        "The name of your email provider's outgoing mail server, for example smtp.gmail.com, "
        "smtp.mail.yahoo.com or smtp.office365.com. An IP address works too."),
    "smtp_port": _l(
        "Choose 465 or 587: both are encrypted. 465 uses TLS from the first byte, 587 switches "
        "to TLS with STARTTLS. Port 25 is not encrypted unless the server offers STARTTLS. "
        "Another port works too when your provider asks for it."),
    "smtp_security": _l(
        "Your server uses a port other than 465, 587 or 25: choose how the connection to it is "
        "secured. Your email provider's instructions say which."),
    "sign_in_method": _l(
        "How Sendwell signs in to the SMTP server. A password works with most email providers. "
        "Microsoft 365 stops accepting passwords for sending at the end of December 2026: choose "
        "Microsoft 365 (OAuth) for it. For Gmail and Google Workspace, Google (OAuth) saves you "
        "the app password. With OAuth you sign in once with your provider, and Sendwell never "
        "learns your password."),
    # TRANSLATORS: "Application (client) ID" and "Client ID" as the Microsoft Entra
    # admin center and the Google Cloud console show them in this language (sl, sw:
    # in English, with a translation in parentheses).
    "oauth_client_id": _l(
        "The ID of the app you registered for Sendwell with your provider. In the Microsoft Entra "
        "admin center it is the Application (client) ID; in the Google Cloud console, the Client "
        "ID. The guide shows how to register the app."),
    # TRANSLATORS: "Value" and "Secret ID" (Microsoft Entra admin center) and "Client
    # secret" (Google Cloud console) as they show them in this language (sl, sw: in
    # English, with a translation in parentheses).
    "oauth_client_secret": _l(
        "The client secret you created for the app: the secret's Value in the Microsoft Entra "
        "admin center (not its Secret ID), or the Client secret in the Google Cloud console. "
        "Sendwell stores it encrypted and never shows it again: leave this blank to keep the "
        "saved one. Microsoft client secrets expire; enter the new one here when you create it."),
    # TRANSLATORS: "Directory (tenant) ID" and "Overview" as the Microsoft Entra admin
    # center shows them in this language (sl, sw: in English, with a translation).
    "oauth_tenant": _l(
        "Your organization's Directory (tenant) ID from the app's Overview page in the Microsoft "
        "Entra admin center, or your domain such as contoso.onmicrosoft.com. Leave it empty "
        "(organizations) only if the app accepts accounts from any organization."),
    # TRANSLATORS: "Web" (Microsoft Entra admin center) and "Authorized redirect URIs"
    # (Google Cloud console) as they show them in this language (sl, sw: in English,
    # with a translation in parentheses).
    "oauth_redirect_uri": _l(
        "Register this exact address with the app before you sign in: in the Microsoft Entra "
        "admin center as a Web redirect URI, in the Google Cloud console under Authorized "
        "redirect URIs. The provider sends you back to it after you sign in."),
    "username": _l(
        "The name you sign in to your email provider with. Usually it is the full email address "
        "of the account, but some providers use a different username."),
    "from_address": _l(
        "The email address of the account you send from: every email is sent from it. It is "
        "asked for only when what you enter in %(username)s is not an email address."),
    "password": _l(
        "The password that goes with %(username)s. Gmail and Yahoo Mail need an app password "
        "here, not your usual password. Sendwell stores it encrypted and never shows it again: "
        "leave this blank to keep the saved password."),
    "copy_enabled": _l(
        "Sends a copy of every outgoing email to an address of yours, for example to archive "
        "what you send. The recipients do not see this address."),
    "copy_address": _l("The address that receives a copy of every email."),
    "reply_to_enabled": _l(
        "When this is ticked, replies to your email go to a different address from the one you "
        "send from."),
    "reply_to_address": _l("The address where replies to your email should go."),
    "skip_tls_verify": _l(
        "Only for your own mail server with a self-signed certificate, and only if trusting its "
        "certificate is not possible: this accepts any certificate, from anyone, while trusting "
        "accepts exactly one (a test that fails on the certificate offers it). With Gmail, Yahoo "
        "Mail, Microsoft 365 and other established providers, always leave this unticked: their "
        "certificates are valid, and checking them protects your password."),
    "test_recipient": _l(
        "Where the test email goes. Leave it empty to send it to the sending address, or enter "
        "any address whose inbox you can check."),
    "detect_address": _l(
        "Sendwell looks up the settings for this address: in its own list of email providers, "
        "in the domain's DNS records and settings file, and by asking the domain's mail servers, "
        "without signing in. It fills in %(smtp_host)s, %(smtp_port)s and %(username)s and "
        "saves nothing: test the settings before you save them."),
}

# Names of the sign-in methods: the same in every language.
SIGN_IN_METHOD_LABELS = {
    "password": _l("Password"),
    "microsoft": "Microsoft 365 (OAuth)",
    "google": "Google (OAuth)",
}

SECURITY_LABELS = {
    "tls": _l("TLS from the first byte (like port 465)"),
    "starttls": _l("STARTTLS, required (like port 587)"),
    "opportunistic": _l("STARTTLS when the server offers it, otherwise unencrypted (like port 25)"),
}

_labels_by_locale: dict[str, dict[str, str]] = {}


def label_values() -> dict[str, str]:
    """Every label in the current language, for texts that name a field.

    Catalogs do not change while the app runs, so each language's labels are
    looked up once.
    """
    locale = str(get_locale())
    if locale not in _labels_by_locale:
        _labels_by_locale[locale] = {name: str(label) for name, label in LABELS.items()}
    return _labels_by_locale[locale]


class _Placeholders(dict):
    # A fact a text names but the caller lacks reads as empty: a missing
    # detail must never turn a page (say, a failed test) into an error.
    def __missing__(self, name: str) -> str:
        return ""


def fill(text, **extra) -> str:
    """A text in the current language with field names (and `extra`) filled in."""
    return str(text) % _Placeholders(label_values(), **extra)


def help_text(name: str) -> str:
    return fill(HELP[name])


# Where a sentence ends: after . ! or ? and a space, or after a Japanese 。
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=。)")


_help_parts_by_locale: dict[str, dict[str, tuple[str, str]]] = {}


def help_parts(name: str) -> tuple[str, str]:
    """A field's help text in two parts: the first sentence, shown under the
    field, and the rest, shown on request. Both come from the one catalog
    entry, which the guide shows whole. Like the labels, looked up once per
    language: every field of the settings page shows them."""
    known = _help_parts_by_locale.setdefault(str(get_locale()), {})
    if name not in known:
        parts = _SENTENCE_END.split(help_text(name).strip(), maxsplit=1)
        known[name] = parts[0], (parts[1] if len(parts) > 1 else "").strip()
    return known[name]
