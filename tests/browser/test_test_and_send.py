"""Test email settings and Email a document, in a real browser."""
import pytest
from playwright.sync_api import expect

from helpers import PDF

pytestmark = pytest.mark.browser


def fill_smtp(page, port, security="starttls"):
    page.locator("#smtp_host").fill("127.0.0.1")
    page.locator("#smtp_port").fill(str(port))
    page.locator("#username").focus()
    choice = page.locator(f"input[name=smtp_security][value={security}]")
    expect(choice).to_be_visible()
    choice.check()


def test_test_shows_progress_then_the_result_in_place(signed_in_page, live_server, fault_server,
                                                      fault_scripts):
    page = signed_in_page
    silent = fault_server(fault_scripts.silent)
    page.goto(f"{live_server.url}/en/settings")
    fill_smtp(page, silent.port, "tls")
    page.locator("#from_address").fill("office@example.com")
    button = page.get_by_role("button", name="Test email settings")
    button.click()
    expect(page.locator("#test-progress .progress-text")).to_be_visible()
    # The button keeps the focus but takes no second press; Update waits.
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(page.get_by_role("button", name="Update", exact=True)).to_be_disabled()
    result = page.locator("#test-result")
    expect(result).to_contain_text("The server did not answer in time", timeout=8000)
    expect(page.locator("#test-progress .progress-text")).to_be_hidden()
    expect(button).to_be_enabled()
    expect(page.get_by_role("button", name="Update", exact=True)).to_be_enabled()
    expect(page.locator(".test-status")).to_contain_text("failed")
    # Still the same page: nothing typed was lost.
    expect(page.locator("#from_address")).to_have_value("office@example.com")


def test_successful_test_then_save_then_email_a_document(signed_in_page, live_server, smtp_server,
                                                         server_tls, smtp_credentials, tmp_path):
    page = signed_in_page
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    page.goto(f"{live_server.url}/en/settings")
    fill_smtp(page, server.port)
    page.locator("#username").fill(smtp_credentials.user)
    page.locator("#password").fill(smtp_credentials.password)
    page.get_by_role("button", name="Test email settings").click()
    expect(page.locator("#test-result")).to_contain_text("The test email was sent to")
    expect(page.locator("#test-result .step-detail", has_text="certificate checked")).to_be_visible()
    expect(page.locator(".test-status")).to_contain_text("passed")

    page.get_by_role("button", name="Update", exact=True).click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Email a document").click()

    pdf = tmp_path / "Quote 7.pdf"
    pdf.write_bytes(PDF)
    page.locator("#recipients").fill("customer@example.com")
    page.locator("#subject").fill("Your quote")
    page.locator("#message").fill("Hello,\nthe quote is attached.")
    page.locator("#document").set_input_files(str(pdf))
    page.get_by_role("button", name="Send the document").click()
    expect(page.locator("#send-result")).to_contain_text("Quote 7.pdf was sent to customer@example.com.")
    row = page.locator("#recent-sends tbody tr").first
    expect(row).to_contain_text("Your quote")
    expect(row).to_contain_text("Sent")
    assert len(server.received) == 2  # the test email, then the document
