"""Which known provider receives a domain's mail, read from its MX hosts.

The MX suffixes are those of the one provider table (``mail/providers.py``):
a host matches a suffix when it is that name or a name below it (whole
labels). An MX host says where mail *arrives*, not where it is sent from,
so a match is evidence to take the provider's own sending settings from the
table, never the settings themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..mail.providers import PROVIDERS, Mailboxes, Provider, mailboxes_for_mx


@dataclass(frozen=True)
class MxMatch:
    provider: Provider
    mailboxes: Mailboxes  # where the provider's users with a domain of their own send
    host: str             # the first MX host that matched (lowest preference)
    unanimous: bool       # every MX host matched, all to this provider


def normalize_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def provider_for_mx(mx_hosts: Iterable[str],
                    providers: tuple[Provider, ...] = PROVIDERS) -> MxMatch | None:
    """The provider of the most preferred MX host that belongs to one.
    ``unanimous`` is False when some MX host is unknown or another
    provider's (a filtering service in front, a migration half done)."""
    hosts = [normalize_host(host) for host in mx_hosts if normalize_host(host) not in ("", ".")]
    found = [(host, mailboxes_for_mx(host, providers)) for host in hosts]
    first = next(((host, match) for host, match in found if match), None)
    if first is None:
        return None
    host, (provider, mailboxes) = first
    unanimous = all(match is not None and match[0] is provider for _, match in found)
    return MxMatch(provider, mailboxes, host, unanimous)
