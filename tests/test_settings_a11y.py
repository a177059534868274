"""The settings page for everyone, through the Flask test client: messages at
the top and beside the fields, what is typed kept, a question before saving
untested settings, a lighter form. (The browser tests check focus and keys.)"""
import re

import pytest
from flask_babel import force_locale, gettext

from helpers import HX, assert_oob_error, element, elements, post, relay_form, text_of
from webapp.fields import HELP, help_parts, help_text

LANGS = ["en", "sl", "sw", "it", "ja", "es"]
RELAY = {"protocol": "SMTP", "smtp_host": "relay.lan", "smtp_port": "25",
         "from_address": "office@example.com"}


# -- 2. every message in one pass, the same marking everywhere ------------------------

def test_the_password_is_asked_for_in_the_same_pass_as_the_other_fields(auth_client, fault_server,
                                                                        fault_scripts):
    server = fault_server(fault_scripts.smtp())
    html = post(auth_client, "/en/settings/test", relay_form(
        server, smtp_host="", username="admin", from_address="not-an-address")).get_data(as_text=True)
    assert_oob_error(html, "smtp_host", "Fill in this field.")
    assert_oob_error(html, "from_address", "An email address needs an @")
    assert_oob_error(html, "password", "Enter the password that goes with Username.")
    assert server.connections == 0
    # The result lists the same messages, each linking to its field.
    links = [(a.attrs["href"], a.text) for a in elements(html, "a")]
    assert links == [("#smtp_host", "SMTP server"), ("#from_address", "Email address"),
                     ("#password", "Password")]


def test_with_a_saved_password_an_unknown_destination_asks_nothing_yet(auth_client, store):
    post(auth_client, "/en/settings", {**RELAY, "username": "office-sender", "password": "pw",
                                       "action": "update-anyway"}, {})
    html = post(auth_client, "/en/settings/test", {
        **RELAY, "smtp_host": "", "username": "office-sender"}).get_data(as_text=True)
    assert_oob_error(html, "smtp_host", "Fill in this field.")
    # The host may come back to the saved one, whose password is kept: no message yet.
    assert_oob_error(html, "password", "")


def test_a_field_in_error_is_marked_the_same_way_on_the_page_and_in_the_result(auth_client):
    page = post(auth_client, "/en/settings", {**RELAY, "from_address": "x", "action": "update"},
                {}).get_data(as_text=True)
    field = element(page, id="from_address")
    assert field.attrs["aria-invalid"] == "true"
    assert "errors-from_address" in field.attrs["aria-describedby"].split()
    assert element(page, id="errors-from_address").text.startswith("An email address needs an @")
    # In place, the messages go to the same containers (app.js marks the fields from them).
    fragment = post(auth_client, "/en/settings/test", {**RELAY, "from_address": "x"}).get_data(as_text=True)
    assert_oob_error(fragment, "from_address", "An email address needs an @")


# -- 5. a summary at the top after a failed Update ---------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_a_failed_update_sums_up_at_the_top_and_says_error_in_the_title(app, auth_client, lang):
    response = post(auth_client, f"/{lang}/settings", {**RELAY, "copy_enabled": "y",
                                                       "action": "update"}, {})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    title = element(html, "title").text
    main = html[html.index("<main"):]
    summary_heading = element(html, id="error-summary")
    # The summary comes first in the page's content, and takes the focus (without JavaScript too).
    assert main.index('id="error-summary"') < main.index('class="lead"')
    assert "autofocus" in summary_heading.attrs and summary_heading.attrs["tabindex"] == "-1"
    [link] = [a for a in elements(html, "a") if a.attrs.get("href") == "#copy_address"]
    assert link.text == element(html, "label", **{"for": "copy_address"}).text
    with app.test_request_context(), force_locale(lang):
        assert title.startswith(gettext("Error: %(page)s", page=gettext("Email settings")))


def test_a_page_without_errors_has_no_summary(auth_client):
    html = auth_client.get("/en/settings").get_data(as_text=True)
    assert 'class="error-summary"' not in html
    assert element(html, "title").text == "Email settings · Sendwell"


# -- 3. what is typed stays ---------------------------------------------------------------

def test_a_hidden_part_carries_what_was_typed_back_when_it_shows_again(auth_client):
    typed = {"smtp_host": "smtp.example.com", "smtp_port": "2525", "smtp_security": "tls",
             "username": "office-sender", "from_address": "office@example.com",
             "password": "s3cret-typed", "copy_enabled": "y", "copy_address": "archive@example.com"}
    to_http = post(auth_client, "/en/settings", {"protocol": "HTTP", **typed, "action": "refresh"},
                   {}).get_data(as_text=True)
    assert element(to_http, id="smtp_host") is None
    hidden = {i.attrs["name"]: i.attrs["value"] for i in elements(to_http, "input", type="hidden")
              if i.attrs["name"] not in ("csrf_token", "shown")}
    assert hidden == {k: v for k, v in typed.items() if k != "password"}
    assert "s3cret-typed" not in to_http
    back = post(auth_client, "/en/settings", {"protocol": "SMTP", **hidden, "action": "refresh"},
                {}).get_data(as_text=True)
    for name in ("smtp_host", "username", "from_address", "copy_address"):
        assert element(back, id=name).attrs["value"] == typed[name]
    assert "checked" in element(back, id="smtp_security-0").attrs  # "tls", the first choice
    assert "checked" in element(back, id="copy_enabled").attrs


def test_the_fields_fragment_carries_a_hidden_parts_values_too(auth_client):
    html = post(auth_client, "/en/settings/fields", {
        "protocol": "HTTP", "smtp_host": "smtp.example.com", "password": "s3cret-typed",
        "shown": ["smtp=", "from_address="]}).get_data(as_text=True)
    slot = html[html.index('id="slot-smtp"'):]
    assert element(slot, "input", name="smtp_host").attrs["value"] == "smtp.example.com"
    assert "s3cret-typed" not in html


# -- 9. saving untested or failed settings asks once -------------------------------------

def test_update_of_untested_settings_asks_once_and_saves_when_confirmed(auth_client, store):
    asked = post(auth_client, "/en/settings", {**RELAY, "action": "update"}, {})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and store.saved() is None
    question = element(html, id="confirm-question")
    assert question.text.startswith("These settings have not passed a test yet")
    assert "autofocus" in question.attrs
    assert element(html, id="update-anyway").attrs["value"] == "update-anyway"
    assert element(html, id="smtp_host").attrs["value"] == "relay.lan"  # nothing lost
    saved = post(auth_client, "/en/settings", {**RELAY, "action": "update-anyway"}, {})
    assert saved.status_code == 302 and store.saved().settings.smtp_host == "relay.lan"


def test_update_after_a_failed_test_says_it_failed(auth_client, store, fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp(replies={"RCPT": "550 5.1.1 No such user"}))
    form = relay_form(server, from_address="office@example.com")
    post(auth_client, "/en/settings/test", form)
    html = post(auth_client, "/en/settings", {**form, "action": "update"}, {}).get_data(as_text=True)
    assert element(html, id="confirm-question").text.startswith(
        "The last test of these settings failed")
    assert store.saved() is None


def test_update_after_a_passed_test_saves_without_asking(auth_client, store, smtp_server):
    server = smtp_server()
    form = relay_form(server, from_address="office@example.com")
    assert "The test email was sent" in text_of(post(auth_client, "/en/settings/test", form)
                                                .get_data(as_text=True))
    assert post(auth_client, "/en/settings", {**form, "action": "update"}, {}).status_code == 302


def test_the_question_goes_once_the_settings_change(auth_client, fault_server, fault_scripts):
    """With JavaScript the question sits in the test status slot, which a change of
    status replaces (a question about untested settings stays true while they change)."""
    server = fault_server(fault_scripts.smtp(replies={"RCPT": "550 5.1.1 No such user"}))
    form = relay_form(server, from_address="office@example.com")
    post(auth_client, "/en/settings/test", form)
    page = post(auth_client, "/en/settings", {**form, "action": "update"}, {}).get_data(as_text=True)
    assert element(page, id="confirm-question") is not None
    shown = [i.attrs["value"] for i in elements(page, "input", name="shown")]
    html = post(auth_client, "/en/settings/fields", {**form, "smtp_security": "tls", "shown": shown},
                headers=HX).get_data(as_text=True)
    assert 'id="slot-test_status"' in html and 'id="confirm-question"' not in html


# -- 11. a lighter form ------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_each_help_shows_its_first_sentence_and_keeps_the_rest_word_for_word(app, lang):
    with app.test_request_context(), force_locale(lang):
        for name in HELP:
            first, rest = help_parts(name)
            whole = help_text(name)
            assert re.sub(r"\s", "", first + rest) == re.sub(r"\s", "", whole), name
            assert re.search(r"[.。!?]$", first), (lang, name, first)
            assert len(first) < len(whole) or not rest


def test_the_form_shows_first_sentences_and_the_guide_whole_texts(auth_client):
    page = auth_client.get("/en/settings").get_data(as_text=True)
    guide = auth_client.get("/en/guide").get_data(as_text=True)
    assert element(page, id="help-smtp_port").text == "Choose 465 or 587: both are encrypted."
    assert element(page, id="smtp_port").attrs["aria-describedby"] == "errors-smtp_port help-smtp_port"
    assert ("465 uses TLS from the first byte, 587 switches to TLS with STARTTLS."
            in text_of(page[page.index('id="help-smtp_port"'):]).split("More in the guide")[0])
    assert ("Choose 465 or 587: both are encrypted. 465 uses TLS from the first byte"
            in text_of(guide))
    guide_link = [a for a in elements(page, "a") if a.attrs.get("href") == "/en/guide#field-smtp_port"]
    assert guide_link[0].attrs["target"] == "_blank"
    assert guide_link[0].text == "More in the guide (opens in a new tab)"


def test_help_follows_the_language_of_each_page(app, auth_client):
    # Each help is rendered once per language and kept (layout.help_block):
    # a page in one language never shows another's.
    for lang in ("en", "ja", "sl", "en"):
        page = auth_client.get(f"/{lang}/settings").get_data(as_text=True)
        with app.test_request_context(), force_locale(lang):
            first, _ = help_parts("smtp_port")
            more = gettext("More help")
        assert element(page, id="help-smtp_port").text == first
        assert more in text_of(page[page.index('id="help-smtp_port"'):])
        links = [a.attrs["href"] for a in elements(page, "a") if "#field-" in a.attrs.get("href", "")]
        assert links and all(href.startswith(f"/{lang}/guide#field-") for href in links)


def test_a_skip_link_leads_to_the_buttons(auth_client):
    html = auth_client.get("/en/settings").get_data(as_text=True)
    body = html[html.index("<body"):]
    first_link = elements(body, "a")[0]
    assert first_link.attrs["href"] == "#actions" and first_link.text == "Skip to Update"
    actions = element(html, id="actions")
    assert actions.attrs["tabindex"] == "-1"
    assert body.index('id="actions"') < body.index('id="update-button"')
