"""The saved mail settings as plain data."""
from dataclasses import asdict, dataclass, fields
from urllib.parse import urlsplit

from . import validation
from .mail.oauth import DEFAULT_TENANT, GOOGLE, MICROSOFT
from .mail.smtp_destination import SECURITY_MODES

# How Sendwell signs in to an SMTP server: with a password, or with OAuth
# at one of these providers (the keys of mail/oauth.py).
PASSWORD = "password"
OAUTH_PROVIDERS = (MICROSOFT, GOOGLE)
SIGN_IN_METHODS = (PASSWORD, *OAUTH_PROVIDERS)

# These ports fix how the connection is secured; any other port needs a choice.
STANDARD_PORT_SECURITY = {465: "tls", 587: "starttls", 25: "opportunistic"}


def security_for(port: int | None, choice: str | None) -> str | None:
    """How a connection to `port` is secured: fixed for 465/587/25, chosen otherwise."""
    if port in STANDARD_PORT_SECURITY:
        return STANDARD_PORT_SECURITY[port]
    return choice if choice in SECURITY_MODES else None


def looks_like_address(text: str | None) -> bool:
    """Whether `text` is one email address, by the rule of the address fields."""
    try:
        validation.address(text or "")
    except validation.Invalid:
        return False
    return True


@dataclass(frozen=True)
class MailSettings:
    protocol: str = "SMTP"
    http_url: str = ""          # never holds credentials: they are the secret
    http_reply_to: str = ""
    smtp_host: str = ""         # ASCII (punycode) name or IP literal
    smtp_port: int | None = None
    smtp_security: str = ""     # only meaningful for a non-standard port
    username: str = ""
    from_address: str = ""      # used when the username is not an address
    copy_address: str = ""      # empty: no blind copy
    reply_to_address: str = ""  # empty: replies go to the sender
    skip_tls_verify: bool = False
    sign_in_method: str = PASSWORD  # or an OAuth provider: "microsoft", "google"
    oauth_client_id: str = ""
    oauth_tenant: str = ""      # Microsoft's directory (tenant); empty: organizations
    # The one certificate accepted from the SMTP server (SHA-256, 64 lower-case
    # hex digits), or "": see tls_trust.
    trusted_certificate: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "MailSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def security(self) -> str | None:
        return security_for(self.smtp_port, self.smtp_security)

    @property
    def sender(self) -> str:
        if self.protocol == "HTTP":
            return self.http_reply_to
        return self.username if looks_like_address(self.username) else self.from_address

    @property
    def reply_to(self) -> str | None:
        if self.protocol == "HTTP":
            return self.http_reply_to
        return self.reply_to_address or None

    @property
    def server(self) -> tuple[str, int]:
        """Host and port the mail goes to, for messages to the user."""
        if self.protocol == "HTTP":
            url = urlsplit(self.http_url)
            return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
        return self.smtp_host, self.smtp_port

    @property
    def oauth_provider(self) -> str | None:
        """The OAuth provider Sendwell signs in with, or None (a password, or HTTP)."""
        if self.protocol == "SMTP" and self.sign_in_method in OAUTH_PROVIDERS:
            return self.sign_in_method
        return None

    @property
    def tenant(self) -> str:
        return self.oauth_tenant or DEFAULT_TENANT

    @property
    def credential_kind(self) -> str:
        """What the server needs besides the settings: "password" (SMTP with a
        username), "oauth" (a sign-in with the provider, see oauth_provider)
        or "none" (a relay without login; HTTP, whose URL credentials are
        optional)."""
        if self.oauth_provider:
            return "oauth"
        return "password" if self.protocol == "SMTP" and self.username else "none"

    @property
    def tls_trust(self) -> str:
        """Which SMTP server certificate is accepted: "verify" (one the trusted
        authorities vouch for, for this host), "noverify" (any), or
        "pin:<sha256>" (exactly the trusted one, which wins over noverify)."""
        if self.trusted_certificate:
            return f"pin:{self.trusted_certificate}"
        return "noverify" if self.skip_tls_verify else "verify"

    @property
    def destination(self) -> str:
        """Where the secret may be sent: any change here needs it typed
        again, or, with OAuth, a new sign-in (the app and directory count)."""
        if self.protocol == "HTTP":
            return f"HTTP {self.http_url}"
        smtp = (f"SMTP {self.smtp_host}:{self.smtp_port}/{self.security} {self.tls_trust} "
                f"{self.username}")
        provider = self.oauth_provider
        if provider == MICROSOFT:
            return f"{smtp} oauth={provider} client={self.oauth_client_id} tenant={self.tenant}"
        if provider:
            return f"{smtp} oauth={provider} client={self.oauth_client_id}"
        return smtp

    def form_values(self) -> dict[str, str]:
        """The settings as the form would submit them."""
        values = {
            "protocol": self.protocol,
            "http_url": self.http_url,
            "http_reply_to": self.http_reply_to,
            "smtp_host": self.smtp_host,
            "smtp_port": "" if self.smtp_port is None else str(self.smtp_port),
            "smtp_security": self.smtp_security,
            "username": self.username,
            "from_address": self.from_address,
            "copy_address": self.copy_address,
            "reply_to_address": self.reply_to_address,
            "sign_in_method": self.sign_in_method,
            "oauth_client_id": self.oauth_client_id,
            "oauth_tenant": self.oauth_tenant,
            "trusted_certificate": self.trusted_certificate,
        }
        for box, on in (("copy_enabled", self.copy_address),
                        ("reply_to_enabled", self.reply_to_address),
                        ("skip_tls_verify", self.skip_tls_verify)):
            if on:
                values[box] = "y"
        return values
