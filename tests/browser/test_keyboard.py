"""The settings and document pages from the keyboard: where the focus is and
what is marked after Test, Send, Update and Cancel."""
import re
import time

import pytest
from playwright.sync_api import expect

from pages import fill_document, fill_relay, save_relay

pytestmark = pytest.mark.browser

BAD = "rgb(179, 38, 30)"  # --bad: a field in error


def focused(page) -> str:
    """The focused element, as "tag#id" (or "body")."""
    return page.evaluate("(() => { const e = document.activeElement;"
                         " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''); })()")


def press_test(page):
    page.locator("#test-button").focus()
    page.keyboard.press("Enter")


# -- 1. the focus lands on the result -------------------------------------------------

def test_after_test_the_focus_is_on_the_result_heading(signed_in_page, live_server, smtp_server):
    page = signed_in_page
    server = smtp_server()
    page.goto(f"{live_server.url}/en/settings")
    fill_relay(page, server.port)
    press_test(page)
    heading = page.locator("#test-result .result-title")
    expect(heading).to_have_text(re.compile("The test email was sent to office@example.com"))
    expect(heading).to_be_focused()
    assert heading.evaluate("e => e.tagName") == "H3"
    expect(page.locator("#test-result")).to_have_attribute("aria-live", "polite")
    # The next Tab goes on from the result, to Update.
    page.keyboard.press("Tab")
    assert focused(page) == "button#update-button"


def test_while_a_test_runs_the_button_keeps_the_focus_and_update_waits(
        signed_in_page, live_server, fault_server, fault_scripts, app):
    page = signed_in_page
    silent = fault_server(fault_scripts.silent)
    tests = []
    page.on("request", lambda request: tests.append(request) if request.url.endswith("/test") else None)
    page.goto(f"{live_server.url}/en/settings")
    fill_relay(page, silent.port)
    press_test(page)
    expect(page.locator("#test-button")).to_have_attribute("aria-disabled", "true")
    assert focused(page) == "button#test-button"
    expect(page.locator("#update-button")).to_be_disabled()
    # A second press while it runs sends nothing.
    page.keyboard.press("Enter")
    expect(page.locator("#test-result .result-title")).to_contain_text(
        "Failed at this step", timeout=8000)
    expect(page.locator("#test-result .result-title")).to_be_focused()
    expect(page.locator("#update-button")).to_be_enabled()
    assert len(tests) == 1


def test_after_send_the_focus_is_on_the_result_heading(signed_in_page, live_server, smtp_server,
                                                        store, tmp_path):
    server = smtp_server()
    save_relay(store, server.port)
    page = signed_in_page
    page.goto(f"{live_server.url}/en/documents")
    fill_document(page, tmp_path)
    expect(page.locator("#subject")).to_have_value("invoice-2026-001")  # from the file's name
    page.get_by_role("button", name="Send the document").focus()
    page.keyboard.press("Enter")
    heading = page.locator("#send-result .result-title")
    expect(heading).to_have_text("invoice-2026-001.pdf was sent to client@example.com.")
    expect(heading).to_be_focused()
    assert heading.evaluate("e => e.tagName") == "H2"


def test_a_field_that_disappears_under_the_focus_hands_it_to_the_next(signed_in_page, live_server):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    # A slow server: the fields fragment arrives after the second Tab.
    held = []
    page.route("**/settings/fields", lambda route: held.append(route))
    page.locator("#username").fill("office@example.com")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "input#from_address"
    page.wait_for_timeout(100)
    assert held
    for route in held:
        route.continue_()
    page.unroute("**/settings/fields")
    expect(page.locator("#from_address")).to_have_count(0)
    expect(page.locator("#password")).to_be_focused()


# -- 2. fields in error are marked after a test in place --------------------------------

def test_after_a_test_the_fields_in_error_are_marked_and_cleared_when_edited(signed_in_page,
                                                                              live_server):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#username").fill("admin")
    page.locator("#username").blur()
    page.locator("#from_address").fill("not-an-address")
    press_test(page)
    summary = page.locator("#result-errors")
    expect(summary).to_be_focused()
    # All three at once, the password included.
    for name in ("smtp_host", "from_address", "password"):
        field = page.locator(f"#{name}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_css("border-top-color", BAD)
    expect(page.locator("#username")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#test-result li")).to_have_count(3)

    # A link of the summary takes the focus to its field.
    page.keyboard.press("Tab")
    expect(page.locator("#test-result a").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#smtp_host")).to_be_focused()
    # Typing clears that field's message and mark; the others stay.
    page.keyboard.type("smtp.example.com")
    expect(page.locator("#errors-smtp_host")).to_be_empty()
    expect(page.locator("#smtp_host")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#from_address")).to_have_attribute("aria-invalid", "true")


# -- 5. a failed Update says so at the top --------------------------------------------

def test_a_failed_update_moves_the_focus_to_the_summary(signed_in_page, live_server):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    page.locator("#copy_enabled").check()
    expect(page.locator("#copy_address")).to_be_visible()
    page.locator("#update-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: Email settings"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="SMTP server")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#smtp_host")).to_be_focused()
    expect(page.locator("#copy_address")).to_have_attribute("aria-invalid", "true")


def test_a_refused_send_moves_the_focus_to_the_summary_at_the_top(signed_in_page, live_server,
                                                                   store):
    save_relay(store, 2525)
    page = signed_in_page
    page.goto(f"{live_server.url}/en/documents")
    page.get_by_role("button", name="Send the document").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#send-errors #error-summary")).to_be_focused()
    for name in ("recipients", "subject", "document"):
        expect(page.locator(f"#{name}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#message")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#recipients")).to_have_css("border-top-color", BAD)
    box = page.locator("#send-errors").bounding_box()
    assert box["y"] < page.locator("#recipients").bounding_box()["y"]


# -- 9. saving what failed asks once ---------------------------------------------------

def test_update_of_failed_settings_asks_once_from_the_keyboard(signed_in_page, live_server, store,
                                                                unused_port):
    page = signed_in_page
    page.goto(f"{live_server.url}/en/settings")
    fill_relay(page, unused_port())
    press_test(page)
    expect(page.locator("#test-result .result-failed")).to_be_visible()
    # The result's heading takes the focus once htmx settles the swap; only
    # then does the user go on to Update (which is enabled again by then).
    expect(page.locator("#test-result .result-title")).to_be_focused()
    update = page.locator("#update-button")
    expect(update).to_be_enabled()
    update.focus()
    expect(update).to_be_focused()
    page.keyboard.press("Enter")
    question = page.locator("#confirm-question")
    expect(question).to_be_focused()
    expect(question).to_contain_text("The last test of these settings failed")
    assert store.saved() is None
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save anyway")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_have_text("Settings saved.")
    assert store.saved().settings.from_address == "office@example.com"


# -- 10. waiting: the seconds, the limit, Cancel --------------------------------------

def test_a_slow_test_shows_the_seconds_and_cancel_stops_it(signed_in_page, live_server, store,
                                                            fault_server, fault_scripts, app):
    page = signed_in_page
    silent = fault_server(fault_scripts.silent)
    aborted = []
    page.on("requestfailed", lambda request: aborted.append(request.url))
    page.goto(f"{live_server.url}/en/settings")
    fill_relay(page, silent.port)
    started = time.monotonic()
    press_test(page)
    elapsed = page.locator("#test-progress .elapsed")
    expect(elapsed).to_have_text("0 s of 3 s")
    expect(elapsed).to_have_text("1 s of 3 s", timeout=2500)
    page.keyboard.press("Tab")
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#test-result")).to_have_text("The test was cancelled.")
    expect(page.locator("#test-button")).to_be_focused()
    expect(page.locator("#test-button")).not_to_have_attribute("aria-disabled", "true")
    expect(cancel).to_be_hidden()
    expect(page.locator("#update-button")).to_be_enabled()
    assert any(url.endswith("/en/settings/test") for url in aborted)
    # The server gives up by its own deadline all the same (3 s here), and lets the thread go.
    while not store.has_test_runs() and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert store.has_test_runs()
    assert time.monotonic() - started < app.config["MAIL_DEADLINE"] + 1.5
    # Nothing came back into the page after the cancel.
    expect(page.locator("#test-result")).to_have_text("The test was cancelled.")
