"""Trust this certificate in a real browser, with and without JavaScript: a
test fails on a self-signed certificate, the button puts its fingerprint
into the form, and the next test passes."""
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def fill_server(page, port, credentials, *, javascript=True):
    page.locator("#smtp_host").fill("127.0.0.1")
    page.locator("#smtp_port").fill(str(port))
    if javascript:
        page.locator("#username").focus()
    else:
        page.get_by_role("button", name="Show the fields for these choices").click()
    page.locator("input[name=smtp_security][value=tls]").check()
    page.locator("#username").fill(credentials.user)
    page.locator("#password").fill(credentials.password)


def test_trust_this_certificate_with_javascript(signed_in_page, live_server, smtp_server,
                                                self_signed_certificate, smtp_credentials):
    page = signed_in_page
    server = smtp_server(login=True, ssl_context=self_signed_certificate("mail.example.lan").context,
                         auth_require_tls=False)
    page.goto(f"{live_server.url}/en/settings")
    fill_server(page, server.port, smtp_credentials)
    page.get_by_role("button", name="Test email settings").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("The server's certificate is self-signed")
    expect(result.locator(".certificate-facts")).to_contain_text("mail.example.lan")
    fingerprint = result.locator(".certificate-facts .fingerprint").inner_text()

    page.get_by_role("button", name="Trust this certificate").click()
    trusted = page.locator("#slot-trusted_certificate")
    expect(trusted).to_contain_text("Trusted certificate: SHA-256")
    expect(trusted).to_contain_text("for mail.example.lan")
    assert trusted.locator(".fingerprint").inner_text() == fingerprint
    expect(page.get_by_label("Do not verify TLS certificate")).to_have_count(0)
    expect(page.get_by_role("button", name="Trust this certificate")).to_have_count(0)
    expect(page.locator(".test-status")).to_contain_text("changed since the last test")
    # What was typed stays, the password too.
    expect(page.locator("#password")).to_have_value(smtp_credentials.password)

    page.get_by_role("button", name="Test email settings").click()
    expect(result).to_contain_text("The test email was sent to")
    expect(result.locator(".step-detail", has_text="trusted certificate")).to_be_visible()
    assert len(server.received) == 1

    page.get_by_role("button", name="Stop trusting").click()
    expect(trusted).to_be_hidden()
    expect(page.get_by_label("Do not verify TLS certificate")).to_be_visible()


def test_trust_this_certificate_without_javascript(no_js_page, live_server, smtp_server,
                                                   self_signed_certificate, smtp_credentials):
    server = smtp_server(login=True, ssl_context=self_signed_certificate("mail.example.lan").context,
                         auth_require_tls=False)
    page = no_js_page
    page.goto(f"{live_server.url}/en/settings")
    fill_server(page, server.port, smtp_credentials, javascript=False)
    page.get_by_role("button", name="Test email settings").click()
    expect(page.locator("#test-result")).to_contain_text("The server's certificate is self-signed")

    page.get_by_role("button", name="Trust this certificate").click()
    expect(page.locator("#slot-trusted_certificate")).to_contain_text("for mail.example.lan")
    # A page rendered again never holds the password: type it again.
    page.locator("#password").fill(smtp_credentials.password)
    page.get_by_role("button", name="Test email settings").click()
    expect(page.locator("#test-result")).to_contain_text("The test email was sent to")
    assert len(server.received) == 1

    # Saved with Update, the trusted certificate comes back with the page.
    page.locator("#password").fill(smtp_credentials.password)
    page.get_by_role("button", name="Update").click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    expect(page.locator("#slot-trusted_certificate")).to_contain_text("for mail.example.lan")


def test_enter_in_a_field_still_runs_the_test(signed_in_page, live_server, fault_server,
                                              fault_scripts, store):
    from webapp.model import MailSettings

    silent = fault_server(fault_scripts.silent)
    store.save(MailSettings(smtp_host="127.0.0.1", smtp_port=silent.port, smtp_security="tls",
                            username="office@example.com", trusted_certificate="ab" * 32),
               "s3cret-pass")
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    # Stop trusting comes before the Test button on the page ...
    expect(page.get_by_role("button", name="Stop trusting")).to_be_visible()
    page.locator("#username").press("Enter")
    # ... yet Enter runs a test, as it always did.
    expect(page.locator("#test-result")).to_contain_text("The server did not answer in time",
                                                         timeout=8000)
    expect(page.get_by_role("button", name="Stop trusting")).to_be_visible()
