"""The settings page, its fragments and Update, through the Flask test client."""
import re

import pytest

from helpers import HX, element, elements, post
from webapp import test_status


PASSWORD = "pa55-w0rd-never-shown"

VALID_SMTP = {
    "protocol": "SMTP",
    "smtp_host": "smtp.example.com",
    "smtp_port": "587",
    "username": "accounts@example.com",
    "password": PASSWORD,
}


def markers(html):
    return {shown.attrs["value"] for shown in elements(html, "input", name="shown")}


def slot_ids(html):
    """The slots sent out of band, in order."""
    return [div.attrs["id"].removeprefix("slot-")
            for div in elements(html, "div", **{"hx-swap-oob": "true"})
            if div.attrs["id"].startswith("slot-")]


def field_error(html, field):
    errors = element(html, id=f"errors-{field}")
    return errors and errors.text


# -- the page -------------------------------------------------------------------

def test_new_page_shows_the_smtp_group(auth_client):
    html = auth_client.get("/en/settings").get_data(as_text=True)
    assert 'id="smtp_host"' in html and 'id="password"' in html
    assert 'id="http_url"' not in html
    assert 'id="from_address"' in html  # no username yet, so no sending address either
    assert "These settings have not been tested yet." in html


def test_plain_refresh_without_javascript_shows_the_same_fields(auth_client):
    response = post(auth_client, "/en/settings", {"protocol": "HTTP", "action": "refresh"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="http_url"' in html and 'id="http_reply_to"' in html
    assert 'id="smtp_host"' not in html
    assert 'class="error"' not in html  # a refresh is not a save: no complaints


@pytest.mark.parametrize("values, present, absent", [
    ({"username": "office-sender"}, ["from_address"], []),
    ({"username": "a@example.com"}, [], ["from_address"]),
    ({"copy_enabled": "y"}, ["copy_address"], []),
    ({"reply_to_enabled": "y"}, ["reply_to_address"], []),
    ({"smtp_host": "smtp.gmail.com", "skip_tls_verify": "y"}, ["tls_warning"], []),
    ({"smtp_port": "25"}, ["port_note"], []),
    ({"smtp_port": "2525"}, ["smtp_security-0"], []),
])
def test_plain_refresh_applies_each_rule(auth_client, values, present, absent):
    html = post(auth_client, "/en/settings",
                {"protocol": "SMTP", "action": "refresh", **values}).get_data(as_text=True)
    for name in present:
        assert f'id="{name}"' in html or f'value="{name}=' in html
    for name in absent:
        assert f'id="{name}"' not in html


# -- the HTMX fragment ----------------------------------------------------------

def test_fragment_sends_only_the_slot_that_changed(auth_client):
    page = auth_client.get("/en/settings").get_data(as_text=True)
    shown = markers(page)
    response = post(auth_client, "/en/settings/fields",
                    {**VALID_SMTP, "password": "", "username": "accounts@example.com", "shown": list(shown)},
                    headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert slot_ids(html) == ["from_address"]
    slot = element(html, id="slot-from_address")
    assert slot.attrs["class"] == "slot slot-from_address" and "hidden" in slot.attrs
    assert "<html" not in html


def test_fragment_renders_a_newly_shown_field_with_its_label_and_help(auth_client):
    shown = markers(auth_client.get("/en/settings").get_data(as_text=True))
    html = post(auth_client, "/en/settings/fields",
                {"protocol": "SMTP", "copy_enabled": "y", "shown": list(shown)},
                headers=HX).get_data(as_text=True)
    assert slot_ids(html) == ["copy_address"]
    assert '<label for="copy_address">Address for the copies</label>' in html
    assert 'id="help-copy_address"' in html
    assert 'class="error"' not in html  # an empty new field is not an error yet


def test_fragment_switches_protocol_groups(auth_client):
    shown = markers(auth_client.get("/en/settings").get_data(as_text=True))
    html = post(auth_client, "/en/settings/fields", {"protocol": "HTTP", "shown": list(shown)},
                headers=HX).get_data(as_text=True)
    assert slot_ids(html) == ["http", "smtp"]
    assert 'id="http_url"' in html


@pytest.mark.parametrize("after_a_test", [False, True])
def test_fragment_takes_a_forged_protocol_for_smtp(auth_client, store, after_a_test):
    # Before and after the first test (when the status has a record to read).
    if after_a_test:
        store.record_test("an earlier test", ok=True)
    html = post(auth_client, "/en/settings/fields", {"protocol": "FTP", "shown": []},
                headers=HX).get_data(as_text=True)
    assert slot_ids(html) == ["smtp", "test_status"]
    assert 'id="smtp_host"' in html
    status = "The settings have changed" if after_a_test else "have not been tested yet"
    assert status in element(html, id="slot-test_status").text


def test_fragment_with_nothing_changed_is_empty(auth_client):
    shown = markers(auth_client.get("/en/settings").get_data(as_text=True))
    html = post(auth_client, "/en/settings/fields", {"protocol": "SMTP", "smtp_port": "587",
                                                     "shown": list(shown)}, headers=HX)
    assert html.get_data(as_text=True).strip() == ""


def test_fragment_warns_about_tls_for_a_well_known_provider(auth_client):
    shown = markers(auth_client.get("/en/settings").get_data(as_text=True))
    html = post(auth_client, "/en/settings/fields",
                {"protocol": "SMTP", "smtp_host": "smtp.gmail.com", "skip_tls_verify": "y",
                 "shown": list(shown)}, headers=HX).get_data(as_text=True)
    assert "Gmail has a valid certificate: untick Do not verify TLS certificate." in html


def test_fragment_notes_that_port_25_is_not_encrypted(auth_client):
    shown = markers(auth_client.get("/en/settings").get_data(as_text=True))
    html = post(auth_client, "/en/settings/fields",
                {"protocol": "SMTP", "smtp_port": "25", "shown": list(shown)},
                headers=HX).get_data(as_text=True)
    assert "Port 25 is not encrypted" in html


# -- Update ---------------------------------------------------------------------

def test_update_saves_and_reload_shows_the_saved_values(auth_client, store):
    response = post(auth_client, "/en/settings", {
        **VALID_SMTP, "username": "office-sender", "from_address": "office@example.com",
        "copy_enabled": "y", "copy_address": "archive@example.com", "action": "update-anyway"})
    assert response.status_code == 302
    saved = store.saved()
    assert saved.settings.username == "office-sender"
    assert saved.settings.sender == "office@example.com"
    assert saved.settings.copy_address == "archive@example.com"
    html = auth_client.get("/en/settings").get_data(as_text=True)
    assert "Settings saved." in html
    assert 'value="office-sender"' in html and 'value="archive@example.com"' in html
    copy_enabled = element(html, id="copy_enabled")
    assert copy_enabled.attrs["type"] == "checkbox" and "checked" in copy_enabled.attrs


def test_password_is_never_in_any_html(auth_client, store):
    post(auth_client, "/en/settings", {**VALID_SMTP, "action": "update-anyway"})
    assert store.secret_for(store.saved().settings.destination) == PASSWORD
    pages = [auth_client.get("/en/settings"),
             post(auth_client, "/en/settings", {**VALID_SMTP, "smtp_port": "x", "action": "update"}),
             post(auth_client, "/en/settings", {**VALID_SMTP, "action": "refresh"}),
             post(auth_client, "/en/settings/fields", {**VALID_SMTP, "protocol": "HTTP"}, headers=HX),
             post(auth_client, "/en/settings/fields", {**VALID_SMTP}, headers=HX)]
    for response in pages:
        assert PASSWORD not in response.get_data(as_text=True)


def test_blank_password_on_an_edit_keeps_the_saved_one(auth_client, store):
    post(auth_client, "/en/settings", {**VALID_SMTP, "action": "update-anyway"})
    html = auth_client.get("/en/settings").get_data(as_text=True)
    assert 'placeholder="Saved: leave blank to keep it"' in html
    response = post(auth_client, "/en/settings", {**VALID_SMTP, "password": "",
                                                  "copy_enabled": "y",
                                                  "copy_address": "archive@example.com",
                                                  "action": "update-anyway"})
    assert response.status_code == 302
    assert store.saved().settings.copy_address == "archive@example.com"
    assert store.secret_for(store.saved().settings.destination) == PASSWORD


@pytest.mark.parametrize("change", [
    {"smtp_host": "smtp.elsewhere.example"},
    {"smtp_port": "465"},
    {"username": "someone-else@example.com"},
    {"skip_tls_verify": "y"},
])
def test_changed_destination_needs_the_password_again(auth_client, store, change):
    post(auth_client, "/en/settings", {**VALID_SMTP, "action": "update-anyway"})
    before = store.saved()
    response = post(auth_client, "/en/settings",
                    {**VALID_SMTP, "password": "", **change, "action": "update"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_error(html, "password").startswith("The server details changed, so type the password again")
    assert store.saved() == before


def test_first_save_with_a_username_needs_a_password(auth_client, store):
    response = post(auth_client, "/en/settings", {**VALID_SMTP, "password": "", "action": "update"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "password") == \
        "Enter the password that goes with Username."
    assert store.saved() is None


def test_a_relay_without_login_needs_no_password(auth_client, store):
    response = post(auth_client, "/en/settings", {
        "protocol": "SMTP", "smtp_host": "relay.lan", "smtp_port": "25", "username": "",
        "from_address": "office@example.com", "action": "update-anyway"})
    assert response.status_code == 302
    assert store.saved().settings.sender == "office@example.com"
    assert not store.saved().has_secret


def test_http_settings_keep_url_credentials_secret(auth_client, store):
    response = post(auth_client, "/en/settings", {
        "protocol": "HTTP", "http_url": "https://api:t0ken-secret@mail.example.com/send",
        "http_reply_to": "office@example.com", "action": "update-anyway"})
    assert response.status_code == 302
    saved = store.saved()
    assert saved.settings.http_url == "https://mail.example.com/send"
    assert store.secret_for(saved.settings.destination) == "api:t0ken-secret"
    html = auth_client.get("/en/settings").get_data(as_text=True)
    assert "t0ken-secret" not in html and "api:" not in html
    assert 'value="https://mail.example.com/send"' in html
    # Saving the URL as shown keeps the credentials.
    post(auth_client, "/en/settings", {"protocol": "HTTP", "http_url": "https://mail.example.com/send",
                                       "http_reply_to": "office@example.com", "action": "update-anyway"})
    assert store.secret_for(store.saved().settings.destination) == "api:t0ken-secret"


@pytest.mark.parametrize("field, value, message", [
    ("smtp_host", "smtp.example.com:587", "Enter the port in the Port field, not here."),
    ("smtp_host", "not a host", "Enter a server name such as smtp.example.com, or an IP address."),
    ("smtp_port", "70000", "Enter a whole number from 1 to 65535."),
    ("smtp_port", "", "Fill in this field."),
    ("username", "x\r\nRCPT TO:<victim@example.com>", "Line breaks and control characters are not allowed here."),
    ("from_address", "a@example.com, b@example.com", "Enter only one email address here."),
    ("from_address", "a@example.com\r\nBcc: v@example.com", "Line breaks and control characters are not allowed here."),
    ("copy_address", "not-an-address", "An email address needs an @, as in name@example.com."),
    ("reply_to_address", "x@example.com\u2028y@example.com", "Line breaks and control characters are not allowed here."),
    ("smtp_security", "", "Choose how the connection to this port is secured."),
])
def test_invalid_input_gets_a_message_beside_the_field_and_changes_nothing(auth_client, store, field, value, message):
    post(auth_client, "/en/settings", {**VALID_SMTP, "action": "update-anyway"})
    before = store.saved()
    data = {**VALID_SMTP, "username": "office-sender", "from_address": "office@example.com",
            "copy_enabled": "y", "copy_address": "archive@example.com",
            "reply_to_enabled": "y", "reply_to_address": "replies@example.com",
            "action": "update", field: value}
    if field == "smtp_security":
        data["smtp_port"] = "2525"
    response = post(auth_client, "/en/settings", data)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field) == message
    assert store.saved() == before


@pytest.mark.parametrize("field, value, message", [
    ("http_url", "http://mail.example.com/send",
     "The address must start with https://. Plain http:// is allowed only for addresses on this computer (localhost)."),
    ("http_url", "mail.example.com", "Enter a full web address that starts with https://."),
    ("http_reply_to", "", "Fill in this field."),
    ("http_reply_to", "a@example.com;b@example.com", "Enter only one email address here."),
])
def test_invalid_http_settings(auth_client, store, field, value, message):
    data = {"protocol": "HTTP", "http_url": "https://mail.example.com/send",
            "http_reply_to": "office@example.com", "action": "update", field: value}
    response = post(auth_client, "/en/settings", data)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field) == message
    assert store.saved() is None


def test_validation_messages_are_localized(auth_client):
    response = post(auth_client, "/sl/settings", {**VALID_SMTP, "smtp_port": "0", "action": "update"})
    error = field_error(response.get_data(as_text=True), "smtp_port")
    assert error and error != "Enter a whole number from 1 to 65535."


def test_test_status_resets_on_any_change(auth_client, store, app):
    post(auth_client, "/en/settings", {**VALID_SMTP, "action": "update-anyway"})
    with app.test_request_context():
        saved = store.saved().settings
        store.record_test(test_status.fingerprint(
            saved, f"saved:{store.secret_id_for(saved.destination)}"), ok=True)
    html = auth_client.get("/en/settings").get_data(as_text=True)
    assert re.search(r"Tested at [^<]+: passed\.", html)
    shown = markers(html)
    changed = post(auth_client, "/en/settings/fields",
                   {**VALID_SMTP, "password": "", "smtp_port": "465", "shown": list(shown)},
                   headers=HX).get_data(as_text=True)
    assert slot_ids(changed) == ["test_status"]
    assert "The settings have changed since the last test." in changed
    back = post(auth_client, "/en/settings/fields",
                {**VALID_SMTP, "password": "", "shown": list(markers(changed)) + [
                    m for m in shown if not m.startswith("test_status")]},
                headers=HX).get_data(as_text=True)
    assert "passed." in back


def status_text(html):
    slot = element(html, id="slot-test_status")
    return slot and slot.text


def token_in(html):
    found = element(html, "input", name="test_token")
    return found and found.attrs["value"]


@pytest.fixture
def relay_form(fault_server, fault_scripts):
    """Settings for a loopback server that takes any password (and says nothing of it)."""
    server = fault_server(fault_scripts.smtp())
    return {"protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": str(server.port),
            "smtp_security": "opportunistic", "username": "accounts@example.com"}


def test_the_test_status_never_confirms_the_saved_password(auth_client, store, relay_form):
    post(auth_client, "/en/settings", {**relay_form, "password": PASSWORD, "action": "update-anyway"}, {})
    tested = post(auth_client, "/en/settings/test", {**relay_form, "password": ""})
    assert "passed." in status_text(tested.get_data(as_text=True))
    answers = {}
    for guess in (PASSWORD, "wrong-guess-1", PASSWORD.upper()):
        html = post(auth_client, "/en/settings/fields",
                    {**relay_form, "password": guess, "shown": ["test_status=x"]}).get_data(as_text=True)
        answers[guess] = status_text(html)
    # The right password reads exactly as a wrong one.
    assert len(set(answers.values())) == 1, answers
    assert "passed" not in answers[PASSWORD]
    # Saving a guess says nothing either: the saved secret is a new one.
    post(auth_client, "/en/settings", {**relay_form, "password": PASSWORD, "action": "update-anyway"}, {})
    assert "passed." not in status_text(auth_client.get("/en/settings").get_data(as_text=True))


def test_a_test_with_a_typed_password_counts_for_this_form_and_what_it_saves(
        auth_client, store, relay_form):
    tested = post(auth_client, "/en/settings/test", {**relay_form, "password": PASSWORD})
    html = tested.get_data(as_text=True)
    token = token_in(html)
    assert token and "passed." in status_text(html)
    marker = [m for m in markers(html) if m.startswith("test_status")]
    same = post(auth_client, "/en/settings/fields", {
        **relay_form, "password": PASSWORD, "test_token": token, "shown": marker})
    assert "test_status" not in slot_ids(same.get_data(as_text=True))  # still passed
    other = post(auth_client, "/en/settings/fields", {
        **relay_form, "password": "another-password", "test_token": token, "shown": marker})
    assert "The settings have changed since the last test." in status_text(other.get_data(as_text=True))
    # Without the token, the same password typed is untested.
    bare = post(auth_client, "/en/settings/fields", {
        **relay_form, "password": PASSWORD, "shown": marker}).get_data(as_text=True)
    assert "passed" not in status_text(bare)
    post(auth_client, "/en/settings", {
        **relay_form, "password": PASSWORD, "test_token": token, "action": "update"}, {})
    assert "passed." in status_text(auth_client.get("/en/settings").get_data(as_text=True))


# -- who may use it ---------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("get", "/en/settings"), ("post", "/en/settings"), ("post", "/en/settings/fields"),
])
def test_settings_need_sign_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/en/signin")


def test_htmx_request_without_sign_in_is_sent_to_the_sign_in_page(client):
    response = client.post("/en/settings/fields", headers=HX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/en/signin")


@pytest.mark.parametrize("headers", [{}, HX])
def test_post_without_csrf_token_is_refused(auth_client, store, headers):
    response = auth_client.post("/en/settings", data={**VALID_SMTP, "action": "update"}, headers=headers)
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert store.saved() is None


def test_csrf_token_in_the_htmx_header_is_accepted(auth_client):
    response = auth_client.post("/en/settings/fields", data={"protocol": "HTTP"},
                                headers={**HX, "X-CSRFToken": auth_client.csrf_token})
    assert response.status_code == 200
    assert 'id="http_url"' in response.get_data(as_text=True)
