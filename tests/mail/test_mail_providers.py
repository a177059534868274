"""The provider table: one record per provider, consistent with itself."""
import pytest

from webapp.mail.providers import (PROVIDERS, Provider, provider_for_host, provider_for_mx,
                                   provider_named, provider_record)


def test_names_and_domains_are_unique_so_the_order_of_the_table_does_not_matter():
    names = [provider.name for provider in PROVIDERS]
    assert len(names) == len(set(names))
    # No domain lies inside another provider's: a host belongs to one provider only.
    for provider in PROVIDERS:
        for domain in provider.domains:
            assert provider_record(domain) is provider
        for suffix in provider.mx_suffixes:
            assert provider_for_mx(suffix) is provider


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.name)
def test_a_providers_published_servers_are_recognised_as_its_own(provider: Provider):
    assert provider.smtp
    for endpoint in provider.smtp:
        assert provider_record(endpoint.host) is provider
        assert provider_for_host(endpoint.host) == provider.name
        # The standard ports have one security each; the form relies on that.
        assert {465: "tls", 587: "starttls"}.get(endpoint.port, endpoint.security) == endpoint.security


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.name)
def test_records_are_well_formed(provider: Provider):
    assert provider.login in ("app_password", "oauth", "password")
    assert provider_named(provider.name) is provider
    for suffix in (*provider.domains, *provider.mx_suffixes):
        assert suffix == suffix.lower().strip(".") and "." in suffix


@pytest.mark.parametrize("mx, name", [
    ("aspmx.l.google.com", "Gmail"),
    ("alt1.aspmx.l.google.com", "Gmail"),
    ("example-com.mail.protection.outlook.com", "Microsoft 365"),
    ("mx.zoho.eu", "Zoho Mail"),
    ("MX01.MAIL.ICLOUD.COM.", "iCloud"),
    ("notgoogle.com", None),
])
def test_well_known_mail_exchangers_belong_to_their_provider(mx, name):
    provider = provider_for_mx(mx)
    assert (provider.name if provider else None) == name


def test_unknown_names_have_no_record():
    assert provider_record("mail.example.com") is None
    assert provider_for_mx("mx.example.com") is None
    assert provider_named("Example Mail") is None
    assert provider_named(None) is None
