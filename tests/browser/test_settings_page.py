"""The settings page in a real browser (Debian's chromium through Playwright)."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_fields_follow_the_choices_and_saved_values_come_back(signed_in_page, live_server, store):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    expect(page.locator("h1")).to_have_text("Email settings")

    # Protocol switches the groups.
    page.get_by_label("HTTP", exact=True).check()
    expect(page.locator("#http_url")).to_be_visible()
    expect(page.locator("#smtp_host")).to_have_count(0)
    page.get_by_label("SMTP", exact=True).check()
    expect(page.locator("#smtp_host")).to_be_visible()

    page.locator("#smtp_host").fill("smtp.example.com")
    page.locator("#smtp_port").fill("587")

    # An address as username: no Email address field; a plain name: the field appears.
    page.locator("#username").fill("accounts@example.com")
    page.locator("#password").focus()
    expect(page.locator("#from_address")).to_have_count(0)
    page.locator("#username").fill("office-sender")
    page.locator("#password").focus()
    expect(page.locator("#from_address")).to_be_visible()
    # Focus and the typed values stay where they were.
    expect(page.locator("#password")).to_be_focused()
    expect(page.locator("#smtp_host")).to_have_value("smtp.example.com")

    page.locator("#from_address").fill("office@example.com")
    page.locator("#password").fill("s3cret-pass")

    # Show password reveals what is typed, and hides it again.
    reveal = page.get_by_role("button", name="Show password")
    reveal.click()
    expect(page.locator("#password")).to_have_attribute("type", "text")
    page.get_by_role("button", name="Hide password").click()
    expect(page.locator("#password")).to_have_attribute("type", "password")
    expect(page.locator("#password")).to_have_value("s3cret-pass")

    # Each checkbox shows its address field.
    page.get_by_label("Send a copy of every email to this address").check()
    expect(page.locator("#copy_address")).to_be_visible()
    page.locator("#copy_address").fill("archive@example.com")
    page.get_by_label("Receive email replies at a different address from the one you send from").check()
    expect(page.locator("#reply_to_address")).to_be_visible()
    page.locator("#reply_to_address").fill("replies@example.com")
    expect(page.locator("#copy_address")).to_have_value("archive@example.com")
    expect(page.locator("#password")).to_have_value("s3cret-pass")

    # Not verifying a well-known provider's certificate brings a warning.
    page.locator("#smtp_host").fill("smtp.gmail.com")
    page.get_by_label("Do not verify TLS certificate").check()
    expect(page.locator(".warning")).to_contain_text("Gmail has a valid certificate")
    page.get_by_label("Do not verify TLS certificate").uncheck()
    expect(page.locator(".warning")).to_have_count(0)
    page.locator("#smtp_host").fill("smtp.example.com")

    # Port 25 brings the unencrypted note.
    page.locator("#smtp_port").fill("25")
    page.locator("#username").focus()
    expect(page.locator(".note")).to_contain_text("Port 25 is not encrypted")
    page.locator("#smtp_port").fill("587")
    page.locator("#username").focus()
    expect(page.locator(".note")).to_have_count(0)

    # Never tested: Update asks once before saving.
    page.get_by_role("button", name="Update", exact=True).click()
    page.get_by_role("button", name="Save anyway").click()
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    assert store.saved().settings.copy_address == "archive@example.com"

    page.reload()
    expect(page.locator("#smtp_host")).to_have_value("smtp.example.com")
    expect(page.locator("#username")).to_have_value("office-sender")
    expect(page.locator("#from_address")).to_have_value("office@example.com")
    expect(page.locator("#copy_address")).to_have_value("archive@example.com")
    expect(page.locator("#reply_to_address")).to_have_value("replies@example.com")
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#password")).to_have_attribute("placeholder", "Saved: leave blank to keep it")
    assert "s3cret-pass" not in page.content()


def test_language_switcher_keeps_the_page(signed_in_page, live_server):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    page.get_by_role("button", name="Español").click()
    expect(page).to_have_url(re.compile(r"/es/settings$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).not_to_have_text("Email settings")


def test_page_works_without_javascript(no_js_page, live_server):
    page = no_js_page
    page.goto(f"{live_server.url}/en/settings")
    expect(page.get_by_role("button", name="Show password")).to_be_hidden()
    page.get_by_label("HTTP", exact=True).check()
    page.get_by_role("button", name="Show the fields for these choices").click()
    expect(page.locator("#http_url")).to_be_visible()
    expect(page.locator("#smtp_host")).to_have_count(0)
