"""The whole flow without JavaScript: a full-page test, then Update without
typing the password again; messages at the top with the focus; the question
before saving untested settings; Email a document."""
import re

import pytest
from playwright.sync_api import expect

from pages import fill_document, save_relay

pytestmark = pytest.mark.browser


def test_test_then_update_without_typing_the_password_again(no_js_page, live_server, store,
                                                            smtp_server, server_tls,
                                                            smtp_credentials):
    page = no_js_page
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#smtp_host").fill("127.0.0.1")
    page.locator("#smtp_port").fill(str(server.port))
    page.get_by_role("button", name="Show the fields for these choices").click()
    page.locator("input[name=smtp_security][value=starttls]").check()
    page.locator("#username").fill(smtp_credentials.user)
    page.locator("#password").fill(smtp_credentials.password)
    page.get_by_role("button", name="Test email settings").click()

    # The result is where the page opens: focused and in view, not 1,700 px down.
    heading = page.locator("#test-result .result-title")
    expect(heading).to_contain_text("The test email was sent to")
    expect(heading).to_be_focused()
    expect(heading).to_be_in_viewport()
    expect(page.locator(".test-status")).to_contain_text("passed")
    password = page.locator("#password")
    expect(password).to_have_value("")
    expect(password).to_have_attribute("placeholder", "Typed earlier: leave blank to keep it")
    assert smtp_credentials.password not in page.content()

    page.get_by_role("button", name="Update", exact=True).click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    assert store.secret_for(store.saved().settings.destination) == smtp_credentials.password
    assert len(server.received) == 1


def test_a_failed_update_shows_the_summary_with_the_focus(no_js_page, live_server):
    page = no_js_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#copy_enabled").check()
    page.get_by_role("button", name="Update", exact=True).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(page).to_have_title(re.compile(r"^Error: Email settings"))
    for name in ("smtp_host", "copy_address"):
        expect(page.locator(f"#{name}")).to_have_attribute("aria-invalid", "true")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#smtp_host$"))


def test_untested_settings_are_saved_after_one_question(no_js_page, live_server, store):
    page = no_js_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#smtp_host").fill("relay.lan")
    page.locator("#smtp_port").fill("25")
    page.locator("#from_address").fill("office@example.com")
    page.get_by_role("button", name="Update", exact=True).click()
    expect(page.locator("#confirm-question")).to_be_focused()
    assert store.saved() is None
    page.get_by_role("button", name="Save anyway").click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    assert store.saved().settings.smtp_host == "relay.lan"


def test_switching_protocol_and_back_keeps_what_was_typed(no_js_page, live_server):
    page = no_js_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#smtp_host").fill("smtp.example.com")
    page.locator("#username").fill("office-sender")
    page.get_by_label("HTTP", exact=True).check()
    page.get_by_role("button", name="Show the fields for these choices").click()
    expect(page.locator("#http_url")).to_be_visible()
    page.get_by_label("SMTP", exact=True).check()
    page.get_by_role("button", name="Show the fields for these choices").click()
    expect(page.locator("#smtp_host")).to_have_value("smtp.example.com")
    expect(page.locator("#username")).to_have_value("office-sender")


def test_email_a_document_marks_fields_and_empties_the_form_after_sending(
        no_js_page, live_server, store, smtp_server, tmp_path):
    server = smtp_server()
    save_relay(store, server.port)
    page = no_js_page
    page.goto(f"{live_server.url}/en/documents")
    page.locator("#recipients").fill("not-an-address")
    page.get_by_role("button", name="Send the document").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#recipients")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#document")).to_have_attribute("aria-invalid", "true")

    fill_document(page, tmp_path)
    page.get_by_role("button", name="Send the document").click()
    expect(page.locator("#send-result .result-title")).to_be_focused()
    expect(page.locator("#subject")).to_have_value("")
    expect(page.locator("#document")).to_have_value("")
    page.get_by_role("button", name="Send the document").click()  # one more press
    expect(page.locator("#errors-document")).to_have_text("Choose the PDF document to send.")
    assert len(server.received) == 1
    assert store.sends()[0].subject == "invoice-2026-001"
