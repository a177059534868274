"""Which known provider receives a domain's mail, read from its MX hosts.

``provider_for_mx(mx_hosts, patterns)`` takes the MX host names (lowest
preference first) and a table of (pattern -> provider key): a pattern is an
exact host name, or ``*.suffix`` for any host below ``suffix`` (whole labels,
never ``suffix`` itself). The provider table can hand in its own patterns;
``KNOWN_MX`` holds the ones established from the providers' own pages.

An MX host says where mail *arrives*, not where it is sent from, so a match
is evidence to look the provider's sending settings up, never the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# Each entry from the provider's own documentation:
KNOWN_MX: tuple[tuple[str, str], ...] = (
    # Microsoft: "Add DNS records to connect your domain" gives the MX as
    # <domain-key>.mail.protection.outlook.com; a domain switched to DNSSEC
    # (Enable-DnssecForVerifiedDomain, "How SMTP DANE works") gets
    # <domain-key>.<x>-v1.mx.microsoft instead.
    ("*.mail.protection.outlook.com", "microsoft365"),
    ("*.mx.microsoft", "microsoft365"),
    # Google Workspace Admin Help, "Set up MX records": smtp.google.com since
    # 2023; the older set ASPMX.L.GOOGLE.COM, ALT1..ALT4.ASPMX.L.GOOGLE.COM
    # and, older still, ASPMX2..ASPMX5.GOOGLEMAIL.COM are still supported.
    ("smtp.google.com", "google_workspace"),
    ("aspmx.l.google.com", "google_workspace"),
    ("*.aspmx.l.google.com", "google_workspace"),
    ("*.googlemail.com", "google_workspace"),
    # Zoho Mail, "Configure email delivery": mx, mx2 and mx3 under the domain
    # of the account's data centre; its sending server differs per region, so
    # each region is its own key.
    *((f"{name}.zoho.{region}", f"zoho_{region.replace('.', '_')}")
      for region in ("com", "eu", "in", "com.au", "jp")
      for name in ("mx", "mx2", "mx3")),
)


@dataclass(frozen=True)
class MxMatch:
    provider: str       # the key from the table
    host: str           # the first MX host that matched (lowest preference)
    pattern: str        # the table entry it matched
    unanimous: bool     # every MX host matched, all to this provider


def normalize_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def matches(host: str, pattern: str) -> bool:
    host, pattern = normalize_host(host), normalize_host(pattern)
    if pattern.startswith("*."):
        suffix = pattern[2:]
        return host.endswith("." + suffix) and len(host) > len(suffix) + 1
    return host == pattern


def provider_for_host(host: str, patterns: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """(provider key, pattern) of the first pattern that ``host`` matches."""
    for pattern, provider in patterns:
        if matches(host, pattern):
            return provider, pattern
    return None


def provider_for_mx(mx_hosts: Iterable[str],
                    patterns: Iterable[tuple[str, str]] = KNOWN_MX) -> MxMatch | None:
    """The provider of the most preferred MX host that matches a pattern.
    ``unanimous`` is False when some MX host is unknown or another
    provider's (a filtering service in front, a migration half done): the
    caller should then trust the match less."""
    patterns = list(patterns)
    hosts = [normalize_host(host) for host in mx_hosts if normalize_host(host) not in ("", ".")]
    found = [(host, provider_for_host(host, patterns)) for host in hosts]
    first = next(((host, match) for host, match in found if match), None)
    if first is None:
        return None
    host, (provider, pattern) = first
    unanimous = all(match is not None and match[0] == provider for _, match in found)
    return MxMatch(provider, host, pattern, unanimous)
