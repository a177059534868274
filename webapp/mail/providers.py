"""Well-known mail providers: one record each, recognised by their server's domain.

Their certificates are always valid and some need app passwords: the form
warns when certificate checks are turned off for them, the diagnosis explains
their login rules, and the guide shows their steps. Everything any part knows
about a provider belongs in its record here.
"""
from dataclasses import dataclass
from typing import Literal, NamedTuple

# How a program like Sendwell signs in: with a password made for it in the
# account's settings, with the usual password, or only through OAuth.
LoginKind = Literal["app_password", "oauth", "password"]


class SmtpEndpoint(NamedTuple):
    host: str
    port: int
    security: Literal["tls", "starttls"]


@dataclass(frozen=True)
class OAuthEndpoints:
    """Where a provider's OAuth sign-in happens (not used yet)."""
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Provider:
    name: str                       # display name; also the diagnosis fact "provider"
    domains: tuple[str, ...]        # its servers' names end in one of these (whole labels)
    mx_suffixes: tuple[str, ...]    # a domain whose MX ends in one of these has its mail there
    smtp: tuple[SmtpEndpoint, ...]  # as the provider publishes them
    login: LoginKind
    steps_key: str | None = None    # names its sign-in steps among the web layer's texts
    oauth: OAuthEndpoints | None = None


GMAIL = Provider(
    "Gmail", ("gmail.com", "googlemail.com", "google.com"),
    mx_suffixes=("google.com", "googlemail.com"),
    smtp=(SmtpEndpoint("smtp.gmail.com", 587, "starttls"),
          SmtpEndpoint("smtp.gmail.com", 465, "tls")),
    login="app_password", steps_key="gmail")

YAHOO_MAIL = Provider(
    "Yahoo Mail", ("yahoo.com", "ymail.com"),
    mx_suffixes=(),
    smtp=(SmtpEndpoint("smtp.mail.yahoo.com", 587, "starttls"),
          SmtpEndpoint("smtp.mail.yahoo.com", 465, "tls")),
    login="app_password", steps_key="yahoo")

# A service of its own, not Yahoo Mail: its own accounts (Yahoo! JAPAN ID), its
# own server, implicit TLS only, and its own rules for mail programs. Mail
# programs sign in with a password once the mailbox's settings allow them;
# Yahoo! JAPAN has been changing those rules, so its steps defer to its help.
YAHOO_JAPAN = Provider(
    "Yahoo! JAPAN", ("yahoo.co.jp",),
    mx_suffixes=(),
    smtp=(SmtpEndpoint("smtp.mail.yahoo.co.jp", 465, "tls"),),
    login="password", steps_key="yahoo_japan")

MICROSOFT_365 = Provider(
    "Microsoft 365", ("office365.com", "outlook.com", "hotmail.com", "live.com"),
    mx_suffixes=("mail.protection.outlook.com",),
    smtp=(SmtpEndpoint("smtp.office365.com", 587, "starttls"),
          SmtpEndpoint("smtp-mail.outlook.com", 587, "starttls")),
    login="password", steps_key="microsoft_365")

PROVIDERS: tuple[Provider, ...] = (
    GMAIL,
    YAHOO_MAIL,
    YAHOO_JAPAN,
    MICROSOFT_365,
    Provider("iCloud", ("icloud.com", "me.com", "mac.com"),
             mx_suffixes=("mail.icloud.com",),
             smtp=(SmtpEndpoint("smtp.mail.me.com", 587, "starttls"),),
             login="app_password"),
    Provider("AOL", ("aol.com",), mx_suffixes=(),
             smtp=(SmtpEndpoint("smtp.aol.com", 465, "tls"),),
             login="app_password"),
    Provider("Zoho Mail", ("zoho.com", "zoho.eu", "zoho.in"),
             mx_suffixes=("zoho.com", "zoho.eu", "zoho.in", "zoho.com.au"),
             smtp=(SmtpEndpoint("smtp.zoho.com", 465, "tls"),
                   SmtpEndpoint("smtp.zoho.com", 587, "starttls"),
                   SmtpEndpoint("smtp.zoho.eu", 465, "tls"),
                   SmtpEndpoint("smtp.zoho.eu", 587, "starttls"),
                   SmtpEndpoint("smtp.zoho.in", 465, "tls"),
                   SmtpEndpoint("smtp.zoho.in", 587, "starttls")),
             login="password"),
    Provider("GMX", ("gmx.com", "gmx.net", "gmx.de"), mx_suffixes=(),
             smtp=(SmtpEndpoint("mail.gmx.com", 587, "starttls"),
                   SmtpEndpoint("mail.gmx.net", 587, "starttls"),
                   SmtpEndpoint("mail.gmx.net", 465, "tls")),
             login="password"),
    Provider("Fastmail", ("fastmail.com",),
             mx_suffixes=("messagingengine.com",),
             smtp=(SmtpEndpoint("smtp.fastmail.com", 465, "tls"),
                   SmtpEndpoint("smtp.fastmail.com", 587, "starttls")),
             login="app_password"),
    Provider("Yandex", ("yandex.com", "yandex.ru"), mx_suffixes=(),
             smtp=(SmtpEndpoint("smtp.yandex.com", 465, "tls"),),
             login="app_password"),
    # Proton's SMTP submission takes a token made for each address, not the
    # account password: an app password in all but name.
    Provider("Proton", ("proton.me", "protonmail.ch"),
             mx_suffixes=("protonmail.ch",),
             smtp=(SmtpEndpoint("smtp.protonmail.ch", 587, "starttls"),),
             login="app_password"),
)


def _within(name: str, suffixes: tuple[str, ...]) -> bool:
    return any(name == suffix or name.endswith("." + suffix) for suffix in suffixes)


def provider_record(host: str | None) -> Provider | None:
    """The provider whose servers include `host` (whole labels only)."""
    name = (host or "").strip().rstrip(".").lower()
    return next((provider for provider in PROVIDERS if _within(name, provider.domains)), None)


def provider_for_mx(exchanger: str | None) -> Provider | None:
    """The provider that receives the mail of a domain whose MX is `exchanger`."""
    name = (exchanger or "").strip().rstrip(".").lower()
    return next((provider for provider in PROVIDERS if _within(name, provider.mx_suffixes)), None)


def provider_for_host(host: str | None) -> str | None:
    """The provider's display name when `host` is one of its servers."""
    provider = provider_record(host)
    return provider.name if provider else None


def provider_named(name: str | None) -> Provider | None:
    """The record behind a display name, such as a diagnosis's "provider" fact."""
    return next((provider for provider in PROVIDERS if provider.name == name), None)
