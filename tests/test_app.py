"""Sign-in, languages and security headers, through the Flask test client."""
import json
import os
import re
import stat

import pytest
from werkzeug.security import check_password_hash

LANGS = ["en", "sl", "sw", "it", "ja", "es"]


# -- sign-in ----------------------------------------------------------------------

def test_one_time_link_signs_in_once(app, client, store):
    token = store.issue_signin_token(60)
    assert client.get(f"/signin/{token}").headers["Location"] == "/en/settings"
    assert client.get("/en/settings").status_code == 200
    other = app.test_client()
    response = other.get(f"/signin/{token}")
    assert response.status_code == 403
    assert "already been used or has expired" in response.get_data(as_text=True)
    assert other.get("/en/settings").status_code == 302


def test_cli_sets_a_hashed_password_that_signs_in(app, client, store):
    result = app.test_cli_runner().invoke(args=["set-password"], input="s3cure-admin\ns3cure-admin\n")
    assert "The administrator password is set." in result.output
    stored = store.admin_password_hash()
    assert "s3cure-admin" not in stored and check_password_hash(stored, "s3cure-admin")

    html = client.get("/en/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    wrong = client.post("/en/signin", data={"csrf_token": token, "password": "nope"})
    assert wrong.status_code == 401 and "That password is not right." in wrong.get_data(as_text=True)
    right = client.post("/en/signin?next=/en/settings", data={"csrf_token": token, "password": "s3cure-admin"})
    assert right.headers["Location"] == "/en/settings"
    assert client.get("/en/settings").status_code == 200


def test_cli_refuses_a_short_password(app, store):
    result = app.test_cli_runner().invoke(args=["set-password"], input="short\nshort\n")
    assert result.exit_code != 0
    assert store.admin_password_hash() is None


def test_sign_in_does_not_redirect_off_site(app, client, store):
    app.test_cli_runner().invoke(args=["set-password"], input="s3cure-admin\ns3cure-admin\n")
    html = client.get("/en/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/en/signin?next=//evil.example/", data={"csrf_token": token, "password": "s3cure-admin"})
    assert response.headers["Location"] == "/en/settings"


@pytest.mark.parametrize("target", [
    "//evil.example/", "/%09/evil.example/phish", "/%0D%0ASet-Cookie:%20x=1", "/%0A/evil.example",
    "/%00/evil.example", "/%E3%80%80/evil.example", "/%C2%A0/evil.example", "/\\evil.example",
    "%20//evil.example", "https://evil.example/", "/%E2%80%A8/evil.example", "/%7F/evil.example",
    "javascript:alert(1)", "/.//evil.example", "///evil.example"])
def test_sign_in_never_redirects_off_site(app, client, store, target):
    app.test_cli_runner().invoke(args=["set-password"], input="s3cure-admin\ns3cure-admin\n")
    html = client.get("/en/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(f"/en/signin?next={target}",
                           data={"csrf_token": token, "password": "s3cure-admin"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil.example" not in location.split("/")[1:3], location


def test_sign_in_keeps_a_path_of_this_site(app, client, store):
    app.test_cli_runner().invoke(args=["set-password"], input="s3cure-admin\ns3cure-admin\n")
    html = client.get("/en/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/en/signin?next=/ja/documents/history%3Fpage%3D2",
                           data={"csrf_token": token, "password": "s3cure-admin"})
    assert response.headers["Location"] == "/ja/documents/history?page=2"


def copy_of_session(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    other = app.test_client()
    other.set_cookie("sendwell_session", client.get_cookie("sendwell_session").value)
    return other


def test_sign_out_ends_the_session_for_every_copy_of_the_cookie(app, auth_client):
    copied = copy_of_session(app, auth_client)
    assert copied.get("/en/settings").status_code == 200
    signed_out = auth_client.post("/en/signout", data={"csrf_token": auth_client.csrf_token})
    assert signed_out.status_code == 302
    for client in (auth_client, copied):
        response = client.get("/en/settings")
        assert response.status_code == 302 and response.headers["Location"].startswith("/en/signin")


def test_sign_out_drops_a_password_typed_but_not_saved(app, auth_client, store):
    form = {"csrf_token": auth_client.csrf_token, "protocol": "SMTP", "smtp_host": "127.0.0.1",
            "smtp_port": "2525", "smtp_security": "starttls", "username": "a@example.com",
            "password": "typed-not-saved", "action": "refresh"}
    auth_client.post("/en/settings", data=form)
    with auth_client.session_transaction() as session:
        draft = session["draft"]
    assert store.has_draft(draft)
    auth_client.post("/en/signout", data={"csrf_token": auth_client.csrf_token})
    assert not store.has_draft(draft)


def test_a_password_change_signs_out_every_session(app, auth_client):
    copied = copy_of_session(app, auth_client)
    result = app.test_cli_runner().invoke(args=["set-password"],
                                          input="An0ther-pass\nAn0ther-pass\n")
    assert "Every session signed in before is signed out." in result.output
    assert auth_client.get("/en/settings").status_code == 302
    assert copied.get("/en/settings").status_code == 302


def test_a_new_sign_in_link_can_sign_out_everywhere(app, auth_client, store):
    kept = app.test_cli_runner().invoke(args=["signin-link"])
    assert auth_client.get("/en/settings").status_code == 200
    everywhere = app.test_cli_runner().invoke(args=["signin-link", "--sign-out-everywhere"])
    assert auth_client.get("/en/settings").status_code == 302
    link = everywhere.stdout.strip().splitlines()[-1]
    fresh = app.test_client()
    assert fresh.get(link.removeprefix("http://127.0.0.1:5000")).status_code == 302
    assert fresh.get("/en/settings").status_code == 200
    assert kept.output.strip().startswith("http://")


def test_a_session_ends_after_the_idle_timeout_but_not_while_used(app, auth_client):
    import time

    app.config["SESSION_IDLE_TIMEOUT"] = 1.0
    for _ in range(8):
        assert auth_client.get("/en/settings").status_code == 200
        time.sleep(0.25)
    time.sleep(1.2)
    assert auth_client.get("/en/settings").status_code == 302


def test_a_session_cookie_without_a_record_grants_nothing(app, client):
    # A cookie signed with the right key, from before sessions had records.
    with client.session_transaction() as session:
        session["admin"] = True
    assert client.get("/en/settings").status_code == 302


def test_signin_link_command_prints_a_working_link(app, client):
    result = app.test_cli_runner().invoke(args=["signin-link", "--base-url", "http://127.0.0.1:5000"])
    link = result.output.strip()
    assert link.startswith("http://127.0.0.1:5000/signin/")
    assert client.get(link.removeprefix("http://127.0.0.1:5000")).status_code == 302
    assert client.get("/en/settings").status_code == 200


def test_sign_out(auth_client):
    response = auth_client.post("/en/signout", data={"csrf_token": auth_client.csrf_token})
    assert response.status_code == 302
    assert auth_client.get("/en/settings").status_code == 302


@pytest.mark.parametrize("lang", LANGS)
def test_guide_is_public(client, lang):
    response = client.get(f"/{lang}/guide")
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)


# -- languages --------------------------------------------------------------------

@pytest.mark.parametrize("accept, expected", [
    ("sl-SI,sl;q=0.9,en;q=0.5", "/sl/settings"),
    ("ja", "/ja/settings"),
    ("de-DE,es;q=0.8", "/es/settings"),
    ("sw-KE", "/sw/settings"),
    ("it-CH, en;q=0.1", "/it/settings"),
    ("de-DE", "/en/settings"),
    ("", "/en/settings"),
])
def test_root_for_a_new_visitor_follows_accept_language(client, accept, expected):
    assert client.get("/", headers={"Accept-Language": accept}).headers["Location"] == expected


def test_saved_choice_beats_accept_language(client):
    client.get("/it/guide", headers={"Accept-Language": "ja"})
    assert client.get("/", headers={"Accept-Language": "ja"}).headers["Location"] == "/it/settings"


def test_unknown_language_is_not_found(client):
    assert client.get("/xx/guide").status_code == 404


def test_switcher_keeps_the_user_on_the_same_page(client):
    html = client.get("/en/guide").get_data(as_text=True)
    for lang in LANGS:
        assert f'href="/{lang}/guide" hreflang="{lang}"' in html


@pytest.mark.parametrize("lang", ["sl", "sw", "it", "ja", "es"])
def test_each_language_translates_the_settings_page(auth_client, lang):
    english = auth_client.get("/en/settings").get_data(as_text=True)
    html = auth_client.get(f"/{lang}/settings").get_data(as_text=True)
    for source in ["<h1>Email settings</h1>", ">SMTP server</label>", ">Username</label>",
                   ">Do not verify TLS certificate</label>",
                   ">Send a copy of every email to this address</label>"]:
        assert source in english
        assert source not in html, f"{lang}: {source} is not translated"


# -- headers ----------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/en/guide", "/en/signin", "/en/settings", "/nowhere"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_inline_script_and_htmx_configured_by_meta(client):
    html = client.get("/en/guide").get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert not re.search(r"<[^>]+\son[a-z]+=", html)
    config = json.loads(re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', html).group(1))
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False


def test_session_cookie_is_httponly_and_lax(app, client, store):
    token = store.issue_signin_token(60)
    response = client.get(f"/signin/{token}")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_static_files_are_versioned_and_cached_for_long(client):
    html = client.get("/en/guide").get_data(as_text=True)
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', html).group(1)
    assert re.search(r'src="/static/app\.js\?v=[0-9a-f]{12}"', html)
    response = client.get(css)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "no-store" in client.get("/en/guide").headers["Cache-Control"]


def test_rotate_key_while_sendwell_runs_keeps_every_password(app, auth_client, store):
    import subprocess
    import sys

    form = {"csrf_token": auth_client.csrf_token, "protocol": "SMTP",
            "smtp_host": "smtp.example.com", "smtp_port": "587", "username": "a@example.com",
            "password": "before-rotation", "action": "update-anyway"}
    auth_client.post("/en/settings", data=form)
    destination = store.saved().settings.destination
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rotated = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "webapp", "rotate-key"],
        cwd=root, capture_output=True, text=True, timeout=60,
        env={**os.environ, "SENDWELL_INSTANCE_PATH": app.instance_path})
    assert "Re-encrypted 1 stored secret(s)" in rotated.stdout, rotated.stderr
    # The running app still opens the password, and one saved now survives a restart.
    assert store.secret_for(destination) == "before-rotation"
    page = auth_client.get("/en/settings").get_data(as_text=True)
    assert "Saved: leave blank to keep it" in page
    auth_client.post("/en/settings", data={**form, "password": "after-rotation"})
    from webapp import create_app
    restarted = create_app({"TESTING": True, "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "x"})
    assert restarted.extensions["store"].secret_for(destination) == "after-rotation"


def test_rotate_key_command_replaces_the_key_file(app, auth_client, store):
    auth_client.post("/en/settings", data={
        "csrf_token": auth_client.csrf_token, "protocol": "SMTP", "smtp_host": "smtp.example.com",
        "smtp_port": "587", "username": "a@example.com", "password": "rotate-me-pw",
        "action": "update-anyway"})
    destination = store.saved().settings.destination
    key_file = os.path.join(app.instance_path, "fernet.key")
    with open(key_file, "rb") as f:
        old = f.read()
    result = app.test_cli_runner().invoke(args=["rotate-key"])
    assert "Re-encrypted 1 stored secret(s)" in result.output
    with open(key_file, "rb") as f:
        new = f.read()
    assert new != old and len(new.split()) == 1
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # A fresh start reads the new key and still has the password.
    from webapp import create_app
    again = create_app({"TESTING": True, "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "x"})
    assert again.extensions["store"].secret_for(destination) == "rotate-me-pw"
