"""A password typed on a page sent without JavaScript is kept as a draft:
encrypted, for its destination only, for this session only, for a few minutes,
and never written into a page."""
import base64
import json
import time
import zlib

from helpers import element, elements, post, smtp_form, text_of

PASSWORD = "Dr4ft-pässword-never-shown"


def session_data(client) -> str:
    """What the session cookie holds, decoded (it is signed, not encrypted)."""
    cookie = client.get_cookie("sendwell_session")
    payload = cookie.value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.value.startswith("."):
        raw = zlib.decompress(raw)
    return raw.decode()


# -- the store ------------------------------------------------------------------

def test_a_draft_is_sealed_and_handed_out_only_for_its_destination(store):
    store.keep_draft("draft-1", "SMTP a:587/starttls verify u", PASSWORD, 60)
    assert store.draft_secret("draft-1", "SMTP a:587/starttls verify u") == PASSWORD
    assert store.draft_secret("draft-1", "SMTP b:587/starttls verify u") is None
    assert store.draft_secret("draft-2", "SMTP a:587/starttls verify u") is None
    with open(store.path, "rb") as f:
        assert PASSWORD.encode() not in f.read()
    assert b"draft-1" not in open(store.path, "rb").read()  # only a hash of the id
    store.drop_draft("draft-1")
    assert store.draft_secret("draft-1", "SMTP a:587/starttls verify u") is None


def test_a_draft_expires(store, monkeypatch):
    store.keep_draft("draft-1", "SMTP a:587/starttls verify u", PASSWORD, 60)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.draft_secret("draft-1", "SMTP a:587/starttls verify u") is None
    assert not store.has_draft("draft-1")


# -- without JavaScript: Test, then Update without typing the password again --------

def test_update_after_a_passed_full_page_test_needs_no_retyping(
        auth_client, store, smtp_server, server_tls, smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    form = smtp_form(server, smtp_credentials)
    tested = post(auth_client, "/en/settings", {**form, "action": "test"}, headers={})
    html = tested.get_data(as_text=True)
    assert "The test email was sent to" in text_of(html)
    assert smtp_credentials.password not in html
    assert element(html, id="password").attrs["placeholder"] == \
        "Typed earlier: leave blank to keep it"
    assert smtp_credentials.password not in session_data(auth_client)

    # The page carries the proof of that test (the status never depends on a
    # password not typed in this form), as a browser sends it back.
    proof = element(html, "input", name="test_token").attrs["value"]
    saved = post(auth_client, "/en/settings", {**form, "password": "", "action": "update",
                                               "test_token": proof}, headers={})
    assert saved.status_code == 302  # passed: saved at once, no question
    assert store.secret_for(store.saved().settings.destination) == smtp_credentials.password
    assert "draft" not in json.loads(session_data(auth_client))  # used up


def test_a_draft_never_goes_to_a_changed_destination(auth_client, store, smtp_server,
                                                     server_tls, smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    form = smtp_form(server, smtp_credentials)
    post(auth_client, "/en/settings", {**form, "action": "test"}, headers={})
    for change in ({"smtp_host": "localhost"}, {"username": "someone@example.com"},
                   {"smtp_security": "tls"}, {"skip_tls_verify": "y"}):
        response = post(auth_client, "/en/settings",
                        {**form, "password": "", **change, "action": "update-anyway"}, headers={})
        assert response.status_code == 422, change
        assert element(response.get_data(as_text=True), id="errors-password").text == \
            "Enter the password that goes with Username."
    assert store.saved() is None


def test_a_draft_belongs_to_its_session(app, auth_client, store, smtp_server, server_tls,
                                        smtp_credentials):
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    form = smtp_form(server, smtp_credentials)
    post(auth_client, "/en/settings", {**form, "action": "refresh"}, headers={})
    other = app.test_client()
    assert other.get(f"/signin/{store.issue_signin_token(60)}").status_code == 302
    other.csrf_token = elements(other.get("/en/settings").get_data(as_text=True), "input",
                                name="csrf_token")[0].attrs["value"]
    response = post(other, "/en/settings", {**form, "password": "", "action": "update-anyway"},
                    headers={})
    assert response.status_code == 422
    assert store.saved() is None


def test_an_expired_draft_asks_for_the_password_again(app, auth_client, store, smtp_server,
                                                      server_tls, smtp_credentials):
    app.config["DRAFT_TTL"] = 0.2
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    form = smtp_form(server, smtp_credentials)
    post(auth_client, "/en/settings", {**form, "action": "refresh"}, headers={})
    time.sleep(0.3)
    response = post(auth_client, "/en/settings", {**form, "password": "", "action": "update-anyway"},
                    headers={})
    assert response.status_code == 422
    assert store.saved() is None


def test_the_language_switch_keeps_the_form_and_the_password(auth_client, store, smtp_server,
                                                             server_tls, smtp_credentials):
    """The switcher sends the form (action=refresh) to the other language's page."""
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    form = smtp_form(server, smtp_credentials, copy_enabled="y", copy_address="archive@example.com")
    english = auth_client.get("/en/settings").get_data(as_text=True)
    switch = element(english, "button", lang="es")
    assert switch.attrs["formaction"] == "/es/settings" and switch.attrs["value"] == "refresh"
    assert switch.attrs["form"] == "settings-form"
    html = post(auth_client, "/es/settings", {**form, "action": "refresh"},
                headers={}).get_data(as_text=True)
    assert element(html, "html").attrs["lang"] == "es"
    assert element(html, id="smtp_host").attrs["value"] == "127.0.0.1"
    assert element(html, id="copy_address").attrs["value"] == "archive@example.com"
    assert smtp_credentials.password not in html
    response = post(auth_client, "/es/settings", {**form, "password": "", "action": "update-anyway"},
                    headers={})
    assert response.status_code == 302
    assert store.secret_for(store.saved().settings.destination) == smtp_credentials.password


def test_http_url_credentials_are_never_written_into_a_page(auth_client, store):
    url = f"https://api:{PASSWORD}@mail.example.com/send"
    pages = [
        post(auth_client, "/en/settings", {"protocol": "HTTP", "http_url": url, "action": "refresh"}, {}),
        post(auth_client, "/en/settings", {"protocol": "HTTP", "http_url": url,
                                           "http_reply_to": "bad", "action": "update"}, {}),
        # Switched away: the URL rides along in the hidden part, without its user-info.
        post(auth_client, "/en/settings", {"protocol": "SMTP", "http_url": url, "action": "refresh"}, {}),
        post(auth_client, "/en/settings/fields", {"protocol": "SMTP", "http_url": url,
                                                  "shown": ["http="]}),
    ]
    for response in pages:
        html = response.get_data(as_text=True)
        assert PASSWORD not in html and "api:" not in html
        assert "mail.example.com/send" in html
    # The credentials typed are kept for that URL: saving it as shown keeps them.
    response = post(auth_client, "/en/settings", {
        "protocol": "HTTP", "http_url": "https://mail.example.com/send",
        "http_reply_to": "office@example.com", "action": "update-anyway"}, {})
    assert response.status_code == 302
    assert store.secret_for(store.saved().settings.destination) == f"api:{PASSWORD}"
