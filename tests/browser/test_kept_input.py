"""What is typed stays: switching protocol and back, switching language, and
one more press on Send (with JavaScript)."""
import re

import pytest
from playwright.sync_api import expect

from pages import fill_document, save_relay

pytestmark = pytest.mark.browser


def test_smtp_http_smtp_shows_what_was_typed_the_password_included(signed_in_page, live_server):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#smtp_host").fill("smtp.example.com")
    page.locator("#username").fill("office-sender")
    page.locator("#password").fill("typed-pass")
    page.locator("#copy_enabled").check()
    page.locator("#copy_address").fill("archive@example.com")
    page.get_by_label("HTTP", exact=True).check()
    expect(page.locator("#http_url")).to_be_visible()
    page.locator("#http_url").fill("https://api:k3y@mail.example.com/send")
    page.get_by_label("SMTP", exact=True).check()
    expect(page.locator("#smtp_host")).to_have_value("smtp.example.com")
    expect(page.locator("#username")).to_have_value("office-sender")
    expect(page.locator("#password")).to_have_value("typed-pass")
    expect(page.locator("#copy_address")).to_have_value("archive@example.com")
    expect(page.locator("#copy_enabled")).to_be_checked()
    page.get_by_label("HTTP", exact=True).check()
    expect(page.locator("#http_url")).to_have_value("https://api:k3y@mail.example.com/send")
    # What the page holds meanwhile has neither secret in it.
    html = page.content()
    assert "typed-pass" not in html and "k3y" not in html


def test_switching_language_keeps_the_form(signed_in_page, live_server, store):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#smtp_host").fill("relay.lan")
    page.locator("#smtp_port").fill("25")
    page.locator("#username").fill("office-sender")
    page.locator("#password").fill("typed-pass")
    page.locator("#from_address").fill("office@example.com")
    page.get_by_role("button", name="Español").click()
    expect(page).to_have_url(re.compile(r"/es/settings$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#smtp_host")).to_have_value("relay.lan")
    expect(page.locator("#from_address")).to_have_value("office@example.com")
    expect(page.locator("#password")).to_have_value("")
    assert "typed-pass" not in page.content()
    # The password was kept, for this server: saving needs no retyping.
    page.locator("#update-button").click()
    page.locator("#update-anyway").click()
    expect(page.locator(".flash")).to_be_visible()
    assert store.secret_for(store.saved().settings.destination) == "typed-pass"


def test_one_more_press_on_send_cannot_send_the_same_document_again(signed_in_page, live_server,
                                                                    store, smtp_server, tmp_path):
    server = smtp_server()
    save_relay(store, server.port)
    page = signed_in_page
    page.goto(f"{live_server.url}/en/documents")
    fill_document(page, tmp_path)
    send = page.get_by_role("button", name="Send the document")
    # Two presses in a row send once.
    send.evaluate("button => { button.click(); button.click(); }")
    expect(page.locator("#send-result .result-title")).to_have_text(
        "invoice-2026-001.pdf was sent to client@example.com.")
    expect(page.locator("#subject")).to_have_value("")
    expect(page.locator("#document")).to_have_value("")
    expect(page.locator("#recipients")).to_have_value("client@example.com")
    send.click()  # and one more afterwards is refused
    expect(page.locator("#errors-document")).to_have_text("Choose the PDF document to send.")
    assert len(server.received) == 1 and len(store.sends()) == 1
