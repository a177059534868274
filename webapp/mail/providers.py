"""Well-known mail providers: one record each, recognised by their server's
domain, by the domain of an address they host, or by a domain's MX hosts.

Their certificates are always valid and some need app passwords: the form
warns when certificate checks are turned off for them, the diagnosis explains
their login rules, the guide shows their steps, and Detect settings proposes
their servers. Everything any part knows about a provider belongs in its
record here, so those parts never disagree.

The facts come from the providers' own help pages (named above each record);
nothing is guessed: a provider whose sending settings are not published has
no Mailboxes entry.
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
class Mailboxes:
    """Addresses that send through one endpoint: those at the provider's own
    address domains (exactly), or at a domain of one's own whose MX hosts are
    the provider's (the name or a name below it)."""
    smtp: SmtpEndpoint | None       # None: no server a program can use directly (see note_key)
    address_domains: tuple[str, ...] = ()
    mx_suffixes: tuple[str, ...] = ()
    # What to sign in with: the whole address, the part before the @, or
    # None when the provider's help does not say.
    username: Literal["address", "local_part"] | None = "address"


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
    smtp: tuple[SmtpEndpoint, ...]  # every endpoint it publishes
    login: LoginKind
    mailboxes: tuple[Mailboxes, ...] = ()  # which addresses send where (Detect settings)
    steps_key: str | None = None    # names its sign-in steps among the web layer's texts
    # The OAuth sign-in of SPEC section 7 it offers ("microsoft" or "google").
    sign_in: Literal["microsoft", "google"] | None = None
    # Names a text of the web layer that Detect shows with this provider's settings.
    note_key: str | None = None
    oauth: OAuthEndpoints | None = None

    @property
    def mx_suffixes(self) -> tuple[str, ...]:
        return tuple(suffix for group in self.mailboxes for suffix in group.mx_suffixes)

    @property
    def address_domains(self) -> tuple[str, ...]:
        return tuple(domain for group in self.mailboxes for domain in group.address_domains)


def _tls(host: str) -> SmtpEndpoint:
    return SmtpEndpoint(host, 465, "tls")


def _starttls(host: str) -> SmtpEndpoint:
    return SmtpEndpoint(host, 587, "starttls")


# Google: "Read Gmail messages on other email clients using POP" / "Set up
# MX records" (Google Workspace Admin Help): smtp.gmail.com, 465 (SSL) or
# 587 (TLS), the full address; Workspace domains receive at smtp.google.com
# or (older) ASPMX.L.GOOGLE.COM and ALT1..4.ASPMX.L.GOOGLE.COM, or
# ASPMX2..5.GOOGLEMAIL.COM.
GMAIL = Provider(
    "Gmail", ("gmail.com", "googlemail.com", "google.com"),
    smtp=(_starttls("smtp.gmail.com"), _tls("smtp.gmail.com")),
    login="app_password", steps_key="gmail", sign_in="google",
    mailboxes=(Mailboxes(_starttls("smtp.gmail.com"),
                         address_domains=("gmail.com", "googlemail.com"),
                         mx_suffixes=("google.com", "googlemail.com")),))

# Yahoo: "IMAP server settings for Yahoo Mail": smtp.mail.yahoo.com, 465
# (SSL) or 587 (TLS), the full address, an app password.
YAHOO_MAIL = Provider(
    "Yahoo Mail", ("yahoo.com", "ymail.com"),
    smtp=(_starttls("smtp.mail.yahoo.com"), _tls("smtp.mail.yahoo.com")),
    login="app_password", steps_key="yahoo",
    mailboxes=(Mailboxes(_tls("smtp.mail.yahoo.com"),
                         address_domains=("yahoo.com", "ymail.com", "rocketmail.com",
                                          "yahoo.it", "yahoo.es")),))

# A service of its own, not Yahoo Mail: its own accounts (Yahoo! JAPAN ID), its
# own server, implicit TLS only, and its own rules for mail programs. Mail
# programs sign in with a password once the mailbox's settings allow them;
# Yahoo! JAPAN has been changing those rules, so its steps defer to its help.
# Yahoo!メールヘルプ: smtp.mail.yahoo.co.jp, 465 with SSL. What it takes as the
# username is not established here, so Detect leaves it open.
YAHOO_JAPAN = Provider(
    "Yahoo! JAPAN", ("yahoo.co.jp",),
    smtp=(_tls("smtp.mail.yahoo.co.jp"),),
    login="password", steps_key="yahoo_japan",
    mailboxes=(Mailboxes(_tls("smtp.mail.yahoo.co.jp"), address_domains=("yahoo.co.jp",),
                         username=None),))

# Microsoft: "POP, IMAP, and SMTP settings for Outlook.com" (smtp-mail.outlook.com,
# 587, STARTTLS, the address, OAuth2); Exchange Online "How to set up a
# multifunction device or application to send email" (smtp.office365.com,
# 587, STARTTLS); "Add DNS records to connect your domain" (MX
# <domain-key>.mail.protection.outlook.com, or <key>.<x>-v1.mx.microsoft
# for a domain with DNSSEC).
MICROSOFT_365 = Provider(
    "Microsoft 365", ("office365.com", "outlook.com", "hotmail.com", "live.com"),
    smtp=(_starttls("smtp.office365.com"), _starttls("smtp-mail.outlook.com")),
    # Password sign-in for SMTP ends by default at the end of December 2026.
    login="oauth", steps_key="microsoft_365", sign_in="microsoft",
    mailboxes=(
        Mailboxes(_starttls("smtp-mail.outlook.com"),
                  address_domains=("outlook.com", "hotmail.com", "live.com", "msn.com",
                                   "outlook.it", "hotmail.it", "live.it", "outlook.es",
                                   "hotmail.es", "outlook.jp", "hotmail.co.jp", "live.jp")),
        Mailboxes(_starttls("smtp.office365.com"),
                  mx_suffixes=("mail.protection.outlook.com", "mx.microsoft")),
    ))


def _zoho(region: str) -> Mailboxes:
    # Zoho Mail, "SMTP Server Configuration": smtppro.zoho.<region> for an
    # organization's own domain, whose MX hosts (mx, mx2, mx3.zoho.<region>)
    # name the data centre; 465 SSL or 587 TLS, the full address.
    return Mailboxes(_tls(f"smtppro.zoho.{region}"),
                     mx_suffixes=tuple(f"{name}.zoho.{region}" for name in ("mx", "mx2", "mx3")))


ZOHO_REGIONS = ("com", "eu", "in", "com.au", "jp")

# Proton: "Proton Mail Bridge" (paid plans; IMAP and SMTP served on this
# computer only) and "How to set up SMTP to use business applications or
# devices" (a token per custom-domain address, on select plans). Addresses at
# Proton's own domains can send only through Bridge.
PROTON = Provider(
    "Proton", ("proton.me", "protonmail.ch"),
    smtp=(_starttls("smtp.protonmail.ch"),),
    login="app_password", note_key="proton_bridge",
    mailboxes=(Mailboxes(None, address_domains=("proton.me", "protonmail.com", "pm.me",
                                                "protonmail.ch")),
               Mailboxes(_starttls("smtp.protonmail.ch"), mx_suffixes=("protonmail.ch",))))

PROVIDERS: tuple[Provider, ...] = (
    GMAIL,
    YAHOO_MAIL,
    YAHOO_JAPAN,
    MICROSOFT_365,
    # Apple, "iCloud Mail server settings for other email client apps":
    # smtp.mail.me.com, 587, STARTTLS, the full address, an app-specific password.
    Provider("iCloud", ("icloud.com", "me.com", "mac.com"),
             smtp=(_starttls("smtp.mail.me.com"),),
             login="app_password",
             # With a domain of one's own (iCloud+), the username is the iCloud
             # address one signs in with, which Detect cannot know.
             mailboxes=(Mailboxes(_starttls("smtp.mail.me.com"),
                                  address_domains=("icloud.com", "me.com", "mac.com")),
                        Mailboxes(_starttls("smtp.mail.me.com"), mx_suffixes=("mail.icloud.com",),
                                  username=None))),
    # AOL Help, "IMAP server settings for AOL Mail": smtp.aol.com, 465, SSL.
    Provider("AOL", ("aol.com",),
             smtp=(_tls("smtp.aol.com"),),
             login="app_password",
             mailboxes=(Mailboxes(_tls("smtp.aol.com"), address_domains=("aol.com",)),)),
    Provider("Zoho Mail", tuple(f"zoho.{region}" for region in ZOHO_REGIONS),
             smtp=tuple(endpoint for region in ZOHO_REGIONS for endpoint in (
                 _tls(f"smtp.zoho.{region}"), _starttls(f"smtp.zoho.{region}"),
                 _tls(f"smtppro.zoho.{region}"), _starttls(f"smtppro.zoho.{region}"))),
             login="password",
             # Personal addresses at zohomail.com / zoho.com: smtp.zoho.com.
             mailboxes=(Mailboxes(_tls("smtp.zoho.com"), address_domains=("zohomail.com", "zoho.com")),
                        *(_zoho(region) for region in ZOHO_REGIONS))),
    # GMX, "POP3 & IMAP access" (gmx.net, gmx.de: mail.gmx.net; gmx.com:
    # mail.gmx.com), 587 STARTTLS or 465 SSL, the full address.
    Provider("GMX", ("gmx.com", "gmx.net", "gmx.de"),
             smtp=(_starttls("mail.gmx.com"), _starttls("mail.gmx.net"), _tls("mail.gmx.net")),
             login="password",
             mailboxes=(Mailboxes(_starttls("mail.gmx.net"),
                                  address_domains=("gmx.net", "gmx.de")),
                        Mailboxes(_starttls("mail.gmx.com"), address_domains=("gmx.com",)))),
    # Fastmail, "Server names and ports": smtp.fastmail.com, 465 SSL (or 587
    # STARTTLS), the full address, an app password; custom domains receive
    # at in1-smtp.messagingengine.com.
    Provider("Fastmail", ("fastmail.com",),
             smtp=(_tls("smtp.fastmail.com"), _starttls("smtp.fastmail.com")),
             login="app_password",
             mailboxes=(Mailboxes(_tls("smtp.fastmail.com"),
                                  address_domains=("fastmail.com", "fastmail.fm")),
                        Mailboxes(_tls("smtp.fastmail.com"), mx_suffixes=("messagingengine.com",),
                                  username=None))),
    # Yandex Help, "Mail clients": smtp.yandex.com (smtp.yandex.ru in the
    # Russian help), 465, SSL, the full address, an app password.
    Provider("Yandex", ("yandex.com", "yandex.ru"),
             smtp=(_tls("smtp.yandex.com"), _tls("smtp.yandex.ru")),
             login="app_password",
             mailboxes=(Mailboxes(_tls("smtp.yandex.com"), address_domains=("yandex.com",)),
                        Mailboxes(_tls("smtp.yandex.ru"), address_domains=("yandex.ru", "ya.ru")))),
    PROTON,
    # EOLO (Italy), "Guida alla configurazione della posta elettronica": for
    # @ngi.it mailboxes, mail-out.eolo.it, 465, SSL, the full address.
    Provider("EOLO", ("eolo.it",),
             smtp=(_tls("mail-out.eolo.it"),),
             login="password",
             mailboxes=(Mailboxes(_tls("mail-out.eolo.it"), address_domains=("ngi.it",)),)),
)


def _within(name: str, suffixes: tuple[str, ...]) -> bool:
    return any(name == suffix or name.endswith("." + suffix) for suffix in suffixes)


def _normal(name: str | None) -> str:
    return (name or "").strip().rstrip(".").lower()


# Each server domain with the place in PROVIDERS of the first provider that
# lists it: the settings form asks for the provider of SMTP server several
# times on every change of a field.
_FIRST_WITH_DOMAIN: dict[str, int] = {}
for _index, _provider in enumerate(PROVIDERS):
    for _domain in _provider.domains:
        _FIRST_WITH_DOMAIN.setdefault(_domain, _index)


def provider_record(host: str | None) -> Provider | None:
    """The provider whose servers include `host` (whole labels only); the
    first in PROVIDERS when several do."""
    labels = _normal(host).split(".")
    found = [_FIRST_WITH_DOMAIN[suffix] for suffix in
             (".".join(labels[start:]) for start in range(len(labels)))
             if suffix in _FIRST_WITH_DOMAIN]
    return PROVIDERS[min(found)] if found else None


def provider_for_mx(exchanger: str | None) -> Provider | None:
    """The provider that receives the mail of a domain whose MX is `exchanger`."""
    name = _normal(exchanger)
    return next((provider for provider in PROVIDERS if _within(name, provider.mx_suffixes)), None)


def provider_for_host(host: str | None) -> str | None:
    """The provider's display name when `host` is one of its servers."""
    provider = provider_record(host)
    return provider.name if provider else None


def provider_named(name: str | None) -> Provider | None:
    """The record behind a display name, such as a diagnosis's "provider" fact."""
    return next((provider for provider in PROVIDERS if provider.name == name), None)


def mailboxes_for_address(domain: str | None,
                          providers: tuple[Provider, ...] = PROVIDERS) -> tuple[Provider, Mailboxes] | None:
    """The provider hosting addresses at `domain` (the domain itself, exactly), and where they send."""
    name = _normal(domain)
    return next(((provider, group) for provider in providers for group in provider.mailboxes
                 if name in group.address_domains), None)


def mailboxes_for_mx(exchanger: str | None,
                     providers: tuple[Provider, ...] = PROVIDERS) -> tuple[Provider, Mailboxes] | None:
    """The provider receiving a domain's mail at MX host `exchanger`, and where its users send."""
    name = _normal(exchanger)
    return next(((provider, group) for provider in providers for group in provider.mailboxes
                 if _within(name, group.mx_suffixes)), None)
