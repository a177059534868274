"""Well-known mail providers, recognised by their server's domain.

Their certificates are always valid and some need app passwords: the form
warns when certificate checks are turned off for them, and the diagnosis
explains their login rules.
"""
PROVIDER_DOMAINS = {
    "Gmail": ("gmail.com", "googlemail.com", "google.com"),
    "Yahoo Mail": ("yahoo.com", "ymail.com", "yahoo.co.jp"),
    "Microsoft 365": ("office365.com", "outlook.com", "hotmail.com", "live.com"),
    "iCloud": ("icloud.com", "me.com", "mac.com"),
    "AOL": ("aol.com",),
    "Zoho Mail": ("zoho.com", "zoho.eu", "zoho.in"),
    "GMX": ("gmx.com", "gmx.net", "gmx.de"),
    "Fastmail": ("fastmail.com",),
    "Yandex": ("yandex.com", "yandex.ru"),
    "Proton": ("proton.me", "protonmail.ch"),
}


def provider_for_host(host: str | None) -> str | None:
    """The provider's display name when `host` is one of its servers (whole labels only)."""
    name = (host or "").strip().rstrip(".").lower()
    for provider, domains in PROVIDER_DOMAINS.items():
        if any(name == domain or name.endswith("." + domain) for domain in domains):
            return provider
    return None
