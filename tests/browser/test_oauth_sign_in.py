"""Signing in with Microsoft 365 in a real browser: the button, the loopback
provider's consent page, back to the settings, "Signed in as", and a test
email sent over XOAUTH2."""
import pytest
from playwright.sync_api import expect

from a11y import axe_violations
from helpers import browser_sign_in
from oauth_server import CLIENT_ID, CLIENT_SECRET
from webapp import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def provider(oauth_server):
    return oauth_server()


@pytest.fixture
def oauth_live_server(tmp_path, ca_file, provider, serve_app):
    """Sendwell served on loopback with the loopback provider's endpoints; its
    callback address registered with the provider's app."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test-secret-key", "MAIL_CA_FILE": ca_file,
                      "MAIL_DEADLINE": 5.0, **provider.settings()})
    server = serve_app(app)
    provider.redirect_uris.append(f"{server.url}/oauth/callback")
    return server


def test_sign_in_with_microsoft_then_test_over_xoauth2(page, context, oauth_live_server, provider,
                                                      xoauth2_smtp_server, server_tls):
    smtp = xoauth2_smtp_server(provider, provider="microsoft", tls_context=server_tls.valid,
                               require_starttls=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=oauth_live_server.url)
    browser_sign_in(page, oauth_live_server)
    page.goto(f"{oauth_live_server.url}/en/settings")

    page.locator("#smtp_host").fill("")
    page.get_by_label("Microsoft 365 (OAuth)").check()
    # The provider's server fills the empty SMTP server.
    expect(page.locator("#smtp_host")).to_have_value("smtp.office365.com")
    expect(page.locator("#smtp_port")).to_have_value("587")
    expect(page.locator("#password")).to_have_count(0)
    callback = f"{oauth_live_server.url}/oauth/callback"
    expect(page.locator("#oauth-redirect-uri")).to_have_text(callback)
    copy = page.locator("button[data-copy=oauth-redirect-uri]")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == callback

    page.locator("#smtp_host").fill("127.0.0.1")
    page.locator("#smtp_port").fill(str(smtp.port))
    page.locator("#oauth_client_id").focus()
    starttls = page.locator("input[name=smtp_security][value=starttls]")
    expect(starttls).to_be_visible()
    starttls.check()
    page.locator("#oauth_client_id").fill(CLIENT_ID)
    page.locator("#oauth_client_secret").fill(CLIENT_SECRET)
    page.locator("#oauth_tenant").fill("contoso.onmicrosoft.com")

    page.get_by_role("button", name="Sign in with Microsoft").click()
    # The provider's own page: consent.
    expect(page.locator("#account")).to_have_text("sender@example.com")
    assert page.url.startswith(f"{provider.base_url}/contoso.onmicrosoft.com/oauth2/v2.0/authorize?")
    page.locator("#accept").click()

    expect(page.locator("#signed-in-as")).to_have_text("Signed in as sender@example.com")
    assert page.url == f"{oauth_live_server.url}/en/settings"
    expect(page.locator("#username")).to_have_value("sender@example.com")
    expect(page.locator("#smtp_host")).to_have_value("127.0.0.1")
    expect(page.locator("#oauth_tenant")).to_have_value("contoso.onmicrosoft.com")
    expect(page.locator("#oauth_client_secret")).to_have_value("")
    assert CLIENT_SECRET not in page.content()

    page.get_by_role("button", name="Test email settings").click()
    expect(page.locator("#test-result")).to_contain_text("The test email was sent to sender@example.com")
    expect(page.locator("#test-result .step[data-step=login] .step-detail")).to_have_text("sender@example.com")
    [attempt] = smtp.attempts
    assert (attempt.mechanism, attempt.user, attempt.accepted) == ("XOAUTH2", "sender@example.com", True)
    assert smtp.received[0].login == "sender@example.com"


def test_without_javascript_the_sign_in_goes_through_a_link(browser, oauth_live_server, provider):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    browser_sign_in(page, oauth_live_server)
    page.goto(f"{oauth_live_server.url}/en/settings")
    page.locator("#smtp_host").fill("")
    page.get_by_label("Google (OAuth)").check()
    page.get_by_role("button", name="Show the fields for these choices").click()
    expect(page.locator("#smtp_host")).to_have_value("smtp.gmail.com")
    page.locator("#oauth_client_id").fill(CLIENT_ID)
    page.locator("#oauth_client_secret").fill(CLIENT_SECRET)
    page.get_by_role("button", name="Sign in with Google").click()
    # CSP form-action 'self' blocks a redirect after a post: the page offers a link on.
    page.get_by_role("link", name="Sign in with Google").click()
    page.locator("#accept").click()
    expect(page.locator("#signed-in-as")).to_have_text("Signed in as sender@example.com")
    expect(page.locator("#smtp_host")).to_have_value("smtp.gmail.com")
    context.close()


@pytest.mark.parametrize("lang", ["en", "sl", "sw", "it", "ja", "es"])
def test_the_sign_in_states_have_no_axe_violation(browser, oauth_live_server, provider, lang):
    """axe-core over the OAuth part of the settings: chosen, consent refused,
    signed in (a context that bypasses the CSP only so that axe can be injected)."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    browser_sign_in(page, oauth_live_server)
    page.goto(f"{oauth_live_server.url}/{lang}/settings")
    found = {}
    page.locator("#smtp_host").fill("")
    page.locator("input[name=sign_in_method][value=microsoft]").check()
    expect(page.locator("#oauth_client_id")).to_be_visible()
    expect(page.locator("button[data-copy]")).to_be_visible()
    found["Microsoft chosen"] = axe_violations(page)
    page.locator("#oauth_client_id").fill(CLIENT_ID)
    page.locator("#oauth_client_secret").fill(CLIENT_SECRET)
    page.locator(".sign-in-actions button[value=oauth_sign_in]").click()
    page.locator("#deny").click()
    expect(page.locator("#slot-oauth_status .test-result")).to_be_visible()
    found["consent refused"] = axe_violations(page)
    page.locator("#oauth_client_secret").fill(CLIENT_SECRET)
    page.locator(".sign-in-actions button[value=oauth_sign_in]").click()
    page.locator("#accept").click()
    expect(page.locator("#signed-in-as")).to_be_visible()
    found["signed in"] = axe_violations(page)
    context.close()
    assert found == {state: [] for state in found}
