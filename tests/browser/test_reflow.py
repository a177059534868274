"""At 320 CSS pixels (WCAG 1.4.10, reflow) no page scrolls sideways, in the
languages with the longest words and the widest script."""
import pytest
from playwright.sync_api import expect

from a11y import horizontal_overflow
from helpers import browser_sign_in
from pages import fill_document, fill_relay, run_test

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "sw", "ja"])
def test_no_page_scrolls_sideways_at_320_px(browser, live_server, lang, smtp_server, tmp_path,
                                           self_signed_certificate):
    server = smtp_server()
    self_signed = smtp_server(ssl_context=self_signed_certificate("mail.example.lan").context)
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    url = f"{live_server.url}/{lang}"
    wide = {}

    def measure(name):
        wide[name] = horizontal_overflow(page)

    page.goto(f"{url}/signin")
    measure("sign-in")
    page.goto(f"{url}/guide")
    expect(page.locator("#gmail a[href='https://myaccount.google.com/apppasswords']")).to_be_visible()
    measure("guide")
    browser_sign_in(page, live_server)
    page.goto(f"{url}/settings")
    fill_relay(page, server.port)
    # The longest choice wraps instead of being cut off.
    choice = page.locator("label:has(input[name=smtp_security][value=opportunistic])")
    assert choice.bounding_box()["x"] + choice.bounding_box()["width"] <= 320
    fill_relay(page, self_signed.port, security="tls")
    run_test(page, "button[name=trust_certificate]")
    measure("settings, certificate offered")
    fill_relay(page, server.port)
    run_test(page, "#test-result .result-ok")
    measure("settings, passed test")
    page.locator("#update-button").click()
    expect(page.locator(".flash")).to_be_visible()
    page.goto(f"{url}/documents")
    fill_document(page, tmp_path, "a-rather-long-invoice-file-name-2026-000001.pdf",
                  "first.customer@example.com, second.customer@example.com")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#recent-sends tbody tr")).to_have_count(1)
    measure("documents, with recent sends")
    # Each send is a block of lines: the outcome is on screen, not off to the right.
    outcome = page.locator("#recent-sends tbody td").last
    outcome.scroll_into_view_if_needed()
    expect(outcome).to_be_in_viewport()
    assert outcome.bounding_box()["x"] + outcome.bounding_box()["width"] <= 320
    page.goto(f"{url}/documents/history")
    measure("history")
    page.goto(f"{url}/no-such-page")
    measure("page not found")
    context.close()
    assert wide == {name: 0 for name in wide}
