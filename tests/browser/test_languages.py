"""Each of the six languages, as a visitor sees it in the browser."""
import re

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

LANGS = ["en", "sl", "sw", "it", "ja", "es"]


def translated(app, lang, text):
    with app.test_request_context(), force_locale(lang):
        return gettext(text)


@pytest.mark.parametrize("lang", LANGS)
def test_settings_page_and_guide_speak_the_language(signed_in_page, live_server, app, lang):
    page = signed_in_page
    page.goto(f"{live_server.url}/{lang}/settings")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    title = translated(app, lang, "Email settings")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("label[for=smtp_host]")).to_have_text(translated(app, lang, "SMTP server"))
    expect(page.get_by_role("button", name=translated(app, lang, "Test email settings"))).to_be_visible()
    # Under the field: the help's first sentence, and the rest on request.
    help_first = page.locator("#help-smtp_host").inner_text()
    expect(page.locator("#help-smtp_host + details > p").first).to_be_hidden()
    page.locator("#help-smtp_host + details > summary").click()
    help_rest = page.locator("#help-smtp_host + details > p").first.inner_text()

    page.goto(f"{live_server.url}/{lang}/guide")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("h1")).to_have_text(translated(app, lang, "Sendwell guide"))
    # The field's help in the guide is the same text as under the field, whole.
    guide_help = page.locator("#field-smtp_host + p").inner_text()
    assert re.sub(r"\s", "", help_first + help_rest) == re.sub(r"\s", "", guide_help)
    assert help_first != guide_help
    expect(page.locator("#gmail ol li")).to_have_count(5)
    if lang != "en":
        assert title != "Email settings"
        assert "Enter the email address" not in page.content()


def test_the_texts_differ_between_languages(signed_in_page, live_server):
    page = signed_in_page
    seen = {}
    for lang in LANGS:
        page.goto(f"{live_server.url}/{lang}/guide")
        seen[lang] = page.locator("#testing p").first.inner_text()
    assert len(set(seen.values())) == len(LANGS)


def test_field_help_links_to_its_guide_section(signed_in_page, live_server):
    page = signed_in_page
    page.goto(f"{live_server.url}/it/settings")
    page.locator("#smtp_host").fill("smtp.example.com")
    page.locator("#help-skip_tls_verify + details > summary").click()
    # The guide opens in a new tab: nothing typed in the form is lost.
    with page.context.expect_page() as opened:
        page.locator("#help-skip_tls_verify + details a").click()
    guide = opened.value
    expect(guide).to_have_url(f"{live_server.url}/it/guide#field-skip_tls_verify")
    expect(guide.locator("#field-skip_tls_verify")).to_be_in_viewport()
    guide.close()
    expect(page.locator("#smtp_host")).to_have_value("smtp.example.com")
