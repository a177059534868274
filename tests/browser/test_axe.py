"""axe-core (WCAG 2.2 A/AA and best practices) over every state of every page,
in all six languages: any violation fails.

One browser context per language walks the states in the order a user meets
them; the context bypasses the CSP only so that axe can be injected.
"""
import pytest
from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

from a11y import axe_violations
from helpers import browser_sign_in
from pages import fill_document, fill_relay, run_test

pytestmark = pytest.mark.browser

LANGS = ["en", "sl", "sw", "it", "ja", "es"]
# Every state checked below, in order (the test fails if one is skipped).
STATES = [
    "sign-in, link only", "guide, signed out", "sign-in, password form", "sign-in, wrong password",
    "settings, empty", "settings, settings detected", "settings, every option shown", "settings, every help opened",
    "settings, HTTP chosen", "settings, invalid input after Test", "settings, test running",
    "settings, test cancelled", "settings, certificate offered", "settings, certificate trusted",
    "settings, failed test", "settings, Update with errors",
    "settings, asked to confirm Update", "settings, passed test", "settings, saved",
    "documents, empty", "documents, invalid input", "documents, sent", "history",
    "guide, signed in", "page not found",
]


def settings_shown(page, port):
    """The SMTP fields filled so that every optional part shows."""
    page.locator("#smtp_host").fill("smtp.gmail.com")
    page.locator("#smtp_port").fill(str(port))
    page.locator("#username").fill("admin")
    page.locator("#username").blur()
    page.locator("input[name=smtp_security][value=opportunistic]").check()
    expect(page.locator("#slot-port_note .note")).to_be_visible()
    page.locator("#copy_enabled").check()
    page.locator("#reply_to_enabled").check()
    page.locator("#skip_tls_verify").check()
    for name in ("from_address", "copy_address", "reply_to_address"):
        expect(page.locator(f"#{name}")).to_be_visible()
    expect(page.locator("#slot-tls_warning .warning")).to_be_visible()


@pytest.mark.parametrize("lang", LANGS)
def test_no_page_state_has_an_axe_violation(browser, live_server, app, lang, smtp_server,
                                           fault_server, fault_scripts, unused_port, tmp_path,
                                           self_signed_certificate, dns_server):
    app.config["RATELIMIT_MAIL"] = "1000 per minute"
    app.config.update(DNS_SERVER=dns_server("").address, DETECT_PORTS=str(unused_port()))
    store = app.extensions["store"]
    relay = smtp_server()
    silent = fault_server(fault_scripts.silent)
    self_signed = smtp_server(ssl_context=self_signed_certificate("mail.example.lan").context)
    url = f"{live_server.url}/{lang}"
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    found = {}

    def check(state):
        assert state not in found, state
        found[state] = axe_violations(page)

    page.goto(f"{url}/signin")
    check("sign-in, link only")
    page.goto(f"{url}/guide")
    check("guide, signed out")
    store.set_admin_password_hash(generate_password_hash("correct horse battery"))
    page.goto(f"{url}/signin")
    check("sign-in, password form")
    page.locator("#password").fill("wrong password")
    page.locator("form.narrow button[type=submit]").click()
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    check("sign-in, wrong password")

    browser_sign_in(page, live_server)
    page.goto(f"{url}/settings")
    check("settings, empty")
    page.locator("#detect_address").fill("someone@gmail.com")
    page.locator("#detect-button").click()
    expect(page.locator("#detect-result .result")).to_be_visible()
    check("settings, settings detected")
    page.goto(f"{url}/settings")
    settings_shown(page, 2526)
    check("settings, every option shown")
    for summary in page.locator("details.more > summary").all():
        summary.click()
    check("settings, every help opened")
    page.locator("input[name=protocol][value=HTTP]").check()
    expect(page.locator("#http_url")).to_be_visible()
    check("settings, HTTP chosen")

    page.goto(f"{url}/settings")
    page.locator("#username").fill("admin")
    page.locator("#from_address").fill("not-an-address")
    page.locator("#test-button").click()
    expect(page.locator("#result-errors")).to_be_focused()
    check("settings, invalid input after Test")

    fill_relay(page, silent.port)
    run_test(page, "#test-progress .cancel")
    check("settings, test running")
    page.locator("#test-progress .cancel").click()
    expect(page.locator("#test-result .result-title")).to_be_visible()
    check("settings, test cancelled")

    fill_relay(page, self_signed.port, security="tls")
    run_test(page, "button[name=trust_certificate]")
    check("settings, certificate offered")
    page.locator("button[name=trust_certificate]").click()
    expect(page.locator("#slot-trusted_certificate button")).to_be_visible()
    check("settings, certificate trusted")
    page.locator("#slot-trusted_certificate button").click()
    expect(page.locator("#slot-trusted_certificate")).to_be_hidden()

    fill_relay(page, unused_port())
    run_test(page, "#test-result .result-failed")
    check("settings, failed test")
    page.locator("#copy_enabled").check()
    expect(page.locator("#copy_address")).to_be_visible()
    page.locator("#update-button").click()
    expect(page.locator("#error-summary")).to_be_focused()
    check("settings, Update with errors")
    page.locator("#copy_enabled").uncheck()
    page.locator("#update-button").click()
    expect(page.locator("#confirm-question")).to_be_focused()
    check("settings, asked to confirm Update")

    fill_relay(page, relay.port)
    run_test(page, "#test-result .result-ok")
    check("settings, passed test")
    page.locator("#update-button").click()
    expect(page.locator(".flash")).to_be_visible()
    check("settings, saved")

    page.goto(f"{url}/documents")
    check("documents, empty")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#send-errors .error-summary")).to_be_visible()
    check("documents, invalid input")
    fill_document(page, tmp_path, "invoice-7.pdf", "customer@example.com")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#send-result .result-ok")).to_be_visible()
    expect(page.locator("#recent-sends tbody tr")).to_have_count(1)
    check("documents, sent")
    page.goto(f"{url}/documents/history")
    check("history")
    page.goto(f"{url}/guide")
    check("guide, signed in")
    page.goto(f"{url}/no-such-page")
    check("page not found")
    context.close()

    assert list(found) == STATES
    assert {state: v for state, v in found.items() if v} == {}


def test_the_check_finds_what_it_should(browser, live_server):
    """The same check on a page with known faults reports them: a clean run means clean."""
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/en/guide")
    page.evaluate("""document.querySelector("main").insertAdjacentHTML("beforeend",
        '<img src="data:,"><input type="text"><p style="color:#ccc">faint</p>')""")
    found = {violation["id"] for violation in axe_violations(page)}
    context.close()
    assert {"image-alt", "label", "color-contrast"} <= found
