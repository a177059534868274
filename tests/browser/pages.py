"""What the browser tests do on Sendwell's pages, written once: the settings
for a loopback relay (typed or saved), a test run until its outcome shows, a
document chosen."""
from playwright.sync_api import expect

from helpers import PDF
from webapp.model import MailSettings


def fill_relay(page, port, *, host="127.0.0.1", security="opportunistic"):
    """Settings for a local relay without login on `port`."""
    page.locator("#smtp_host").fill(host)
    page.locator("#smtp_port").fill(str(port))
    page.locator("#username").fill("")
    page.locator("#username").blur()
    page.locator(f"input[name=smtp_security][value={security}]").check()
    page.locator("#from_address").fill("office@example.com")


def save_relay(store, port):
    """Saved settings for a local relay without login on `port`."""
    store.save(MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="opportunistic",
                            from_address="office@example.com"), None)


def run_test(page, until: str):
    """Press Test and wait until `until` (a selector) shows."""
    page.locator("#test-button").click()
    expect(page.locator(until)).to_be_visible()


def fill_document(page, tmp_path, filename="invoice-2026-001.pdf", recipients="client@example.com"):
    """On Email a document: the recipients, a message, and a PDF named `filename`."""
    pdf = tmp_path / filename
    pdf.write_bytes(PDF)
    page.locator("#recipients").fill(recipients)
    page.locator("#message").fill("Hello")
    page.locator("#document").set_input_files(str(pdf))
