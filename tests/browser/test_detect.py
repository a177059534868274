"""Detect settings in a real browser: type an address, press Detect settings,
see the fields filled, then a passing Test."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def detectable(app, dns_server, smtp_server, server_tls, unused_port):
    """example.com names its submission server in DNS (SRV): an aiosmtpd
    server on this machine with STARTTLS and a login, which the test email
    then reaches by its name (localhost) as any test does."""
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    zone = dns_server(f"_submission._tcp.example.com. 300 IN SRV 0 0 {server.port} localhost.")
    app.config.update(DNS_SERVER=zone.address, DETECT_PORTS=str(unused_port()))
    return server


def test_detect_fills_the_fields_and_the_test_passes(signed_in_page, live_server, detectable,
                                                     smtp_credentials):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    # What is typed before Detect stays: the password is never sent back.
    page.locator("#password").fill(smtp_credentials.password)
    page.locator("#detect_address").fill(smtp_credentials.user)
    page.get_by_role("button", name="Detect settings").click()

    result = page.locator("#detect-result")
    expect(result).to_contain_text("Settings found for example.com")
    expect(result).to_contain_text("The DNS records of example.com (_submission._tcp.example.com)")
    expect(page.locator("#smtp_host")).to_have_value("localhost")
    expect(page.locator("#smtp_port")).to_have_value(str(detectable.port))
    expect(page.locator("input[name=smtp_security][value=starttls]")).to_be_checked()
    expect(page.locator("#username")).to_have_value(smtp_credentials.user)
    expect(page.locator("#password")).to_have_value(smtp_credentials.password)

    page.get_by_role("button", name="Test email settings").click()
    expect(page.locator("#test-result")).to_contain_text("The test email was sent to")
    expect(page.locator(".test-status")).to_contain_text("passed")
    assert detectable.received[0].authenticated and detectable.received[0].tls


def test_enter_in_the_address_runs_detect(signed_in_page, live_server, app, dns_server):
    app.config.update(DNS_SERVER=dns_server("").address)
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#detect_address").fill("someone@gmail.com")
    page.locator("#detect_address").press("Enter")

    expect(page.locator("#smtp_host")).to_have_value("smtp.gmail.com")
    expect(page.locator("#detect-result")).to_contain_text("Sendwell's list of providers: Gmail")
    expect(page.locator("#test-result")).to_be_empty()   # Enter did not run a test


def test_without_javascript_detect_fills_the_page(no_js_page, app, live_server, dns_server):
    app.config.update(DNS_SERVER=dns_server("").address)
    page = no_js_page
    page.goto(f"{live_server.url}/it/settings")
    page.locator("#detect_address").fill("qualcuno@gmail.com")
    page.get_by_role("button", name="Rileva impostazioni").click()

    expect(page.locator("#smtp_host")).to_have_value("smtp.gmail.com")
    expect(page.locator("#detect-result")).to_contain_text("Elenco dei provider di Sendwell: Gmail")
