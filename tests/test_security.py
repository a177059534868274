"""The known attacks on mail-settings tools, each tried for real (see SECURITY.md)."""
import base64
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import HX, post, relay_form, smtp_form

PASSWORD = "Sekr1t-Pässword-never-shown"

def secret_forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode(), base64.b64encode(b"\0user\0" + raw).decode()[8:]]


# -- 1. the password never shows ----------------------------------------------------

def test_password_stays_out_of_logs_at_debug_level_and_out_of_output(
        auth_client, smtp_server, fault_server, fault_scripts, server_tls, smtp_credentials,
        caplog, capfd):
    caplog.set_level(logging.DEBUG)
    logging.getLogger().setLevel(logging.DEBUG)
    server = smtp_server(tls_context=server_tls.valid, require_starttls=True, login=True)
    refusing = fault_server(fault_scripts.smtp(replies={"AUTH": "535 5.7.8 Bad credentials"}))
    pages = [
        post(auth_client, "/en/settings/test", smtp_form(server, smtp_credentials)),
        post(auth_client, "/en/settings/test", {**smtp_form(refusing, smtp_credentials),
                                                "smtp_security": "opportunistic"}),
        post(auth_client, "/en/settings", {**smtp_form(server, smtp_credentials), "action": "update"}, {}),
        auth_client.get("/en/settings"),
    ]
    out, err = capfd.readouterr()
    seen = "\n".join([caplog.text, out, err] + [page.get_data(as_text=True) for page in pages]
                     + [page.headers.get("Location", "") for page in pages])
    assert "Tested at" in seen  # the check would see a leak if there were one
    for form in secret_forms(smtp_credentials.password):
        assert form not in seen


def test_a_server_echoing_the_password_in_disguise_leaves_it_out_of_history(
        auth_client, store, fault_server, fault_scripts):
    password = "Echo-Pw-4455xyz"
    raw = password.encode()
    echoes = [password.upper(), raw.hex(), password[::-1], " ".join(password),
              base64.b64encode(b"x" + raw).decode(), password.replace("-", "%2D")]
    server = fault_server(fault_scripts.smtp(end_of_data="554 5.6.0 Rejected: " + " / ".join(echoes)))
    form = relay_form(server, username="sender@example.com", password=password,
                      action="update-anyway")
    assert post(auth_client, "/en/settings", form, {}).status_code == 302
    import io
    pdf = b"%PDF-1.4\n" + b"0" * 100 + b"\n%%EOF\n"
    sent = auth_client.post("/en/documents", headers=HX, content_type="multipart/form-data", data={
        "csrf_token": auth_client.csrf_token, "recipients": "client@example.com",
        "subject": "Invoice", "message": "Attached.", "document": (io.BytesIO(pdf), "a.pdf")})
    [record] = store.sends()
    assert record.diagnosis == "message_refused" and record.reply.count("***") == len(echoes)
    history = auth_client.get("/en/documents/history").get_data(as_text=True)
    with open(store.path, "rb") as database:
        stored = database.read()
    for where in (record.reply, history, sent.get_data(as_text=True)):
        for part in (password[2:10], raw.hex()[4:20], password[::-1][2:10]):
            assert part.lower() not in where.lower(), (part, where[:300])
    assert raw.hex().encode() not in stored and password.upper().encode() not in stored


# -- 2. the saved password never goes to a changed destination -------------------------

def test_changed_http_url_never_receives_the_saved_credentials(auth_client, http_server, store):
    first, second = http_server(), http_server()
    post(auth_client, "/en/settings", {
        "protocol": "HTTP", "http_url": first.url("/send", userinfo=f"api:{PASSWORD}"),
        "http_reply_to": "office@example.com", "action": "update-anyway"}, {})
    post(auth_client, "/en/settings/test", {
        "protocol": "HTTP", "http_url": second.url("/send"), "http_reply_to": "office@example.com"})
    [request] = second.requests
    assert "Authorization" not in request.headers
    post(auth_client, "/en/settings/test", {
        "protocol": "HTTP", "http_url": first.url("/send"), "http_reply_to": "office@example.com"})
    assert first.requests[-1].headers["Authorization"] == \
        "Basic " + base64.b64encode(f"api:{PASSWORD}".encode()).decode()


def test_a_token_in_the_http_url_is_a_secret_like_the_user_info(auth_client, http_server, store):
    server, other = http_server(), http_server()
    token = "QTOKEN-99887766"
    url = server.url(f"/send?region=eu&api_key={token}&accessToken=AT-{token}")
    saved = post(auth_client, "/en/settings", {
        "protocol": "HTTP", "http_url": url, "http_reply_to": "office@example.com",
        "action": "update-anyway"}, {})
    assert saved.status_code == 302
    assert store.saved().settings.http_url == server.url("/send?region=eu")
    page = auth_client.get("/en/settings").get_data(as_text=True)
    assert token not in page and 'value="' + server.url("/send?region=eu") + '"' in page
    with open(store.path, "rb") as database:
        assert token.encode() not in database.read()
    # The form as shown: the saved token goes with the test, to this server only.
    shown = {"protocol": "HTTP", "http_url": server.url("/send?region=eu"),
             "http_reply_to": "office@example.com", "test_recipient": "inbox@example.com"}
    html = post(auth_client, "/en/settings/test", shown).get_data(as_text=True)
    assert "The test email was sent" in html and token not in html
    [request] = server.requests
    assert request.path == f"/send?region=eu&api_key={token}&accessToken=AT-{token}"
    body = base64.b64decode(request.json()["message"]).decode()
    assert token not in body and "region=eu" not in body
    assert server.url("/send") in body  # the test email names where it went, and no more
    post(auth_client, "/en/settings/test", {**shown, "http_url": other.url("/send?region=eu")})
    assert token not in other.requests[0].path


# -- 5. remote text is inert ---------------------------------------------------------

def test_server_text_is_escaped_inside_an_hx_disabled_container(auth_client, fault_server,
                                                                 fault_scripts):
    server = fault_server(fault_scripts.smtp(
        greeting='554 <img src=x onerror=alert(1)> <a hx-get="/en/settings" hx-trigger="load">x</a>'))
    html = post(auth_client, "/en/settings/test",
                relay_form(server, from_address="office@example.com")).get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html and "<a hx-get" not in html
    page = auth_client.get("/en/settings").get_data(as_text=True)
    assert re.search(r'<div id="test-result"[^>]*\bhx-disable\b', page)


# -- 6. CSRF, sign-in and rate limits everywhere ----------------------------------------

POSTS = ["/en/settings", "/en/settings/fields", "/en/settings/test", "/en/documents",
         "/en/signout", "/en/signin", "/en/oauth/start", "/en/oauth/signout"]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("headers", [{}, HX])
def test_every_post_needs_the_csrf_token(auth_client, path, headers):
    response = auth_client.post(path, data={"protocol": "SMTP"}, headers=headers)
    assert response.status_code == 400


def test_every_page_but_the_guide_needs_sign_in(app):
    client = app.test_client()
    public = {"guide.page", "auth.signin", "auth.signin_link", "static", "index"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        path = rule.rule.replace("<lang>", "en")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method)
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].startswith("/en/signin")
            checked += 1
    assert checked >= 7
    assert client.get("/en/guide").status_code == 200


def test_tests_are_rate_limited_with_a_localized_message(auth_client, app, fault_server,
                                                          fault_scripts):
    app.config["RATELIMIT_MAIL"] = "2 per minute"
    server = fault_server(fault_scripts.smtp())
    form = relay_form(server, from_address="office@example.com")
    assert post(auth_client, "/sl/settings/test", form).status_code == 200
    assert post(auth_client, "/sl/settings/test", form).status_code == 200
    limited = post(auth_client, "/sl/settings/test", form)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    text = limited.get_data(as_text=True)
    assert "Too many attempts" not in text and 'class="result result-failed"' in text
    assert server.connections == 2


def test_every_path_that_sends_mail_shares_one_limit(auth_client, app, fault_server,
                                                     fault_scripts, store):
    import io

    from webapp.limits import MAIL_SCOPE, mail_limit

    server = fault_server(fault_scripts.smtp())
    form = relay_form(server, from_address="office@example.com")
    assert post(auth_client, "/en/settings", {**form, "action": "update-anyway"}, {}).status_code == 302
    app.config["RATELIMIT_MAIL"] = "3 per minute"
    pdf = b"%PDF-1.4\n" + b"0" * 100 + b"\n%%EOF\n"

    def document():
        return auth_client.post("/en/documents", headers=HX, content_type="multipart/form-data",
                                data={"csrf_token": auth_client.csrf_token,
                                      "recipients": "client@example.com", "subject": "Invoice",
                                      "message": "Attached.", "document": (io.BytesIO(pdf), "a.pdf")})

    def no_js_test():
        return post(auth_client, "/en/settings", {**form, "action": "test"}, {})

    def htmx_test():
        return post(auth_client, "/en/settings/test", form)

    assert [htmx_test().status_code, no_js_test().status_code, document().status_code] == [200] * 3
    assert [htmx_test().status_code, no_js_test().status_code, document().status_code] == [429] * 3
    assert len(server.messages) == 3
    # Saving and re-rendering send nothing and are not limited.
    assert post(auth_client, "/en/settings", {**form, "action": "update-anyway"}, {}).status_code == 302
    assert post(auth_client, "/en/settings", {**form, "action": "refresh"}, {}).status_code == 200
    assert mail_limit.limit.scope == MAIL_SCOPE and mail_limit.limit.shared


def test_password_sign_in_is_rate_limited(app, store):
    app.config["RATELIMIT_SIGNIN"] = "3 per minute"
    app.test_cli_runner().invoke(args=["set-password"], input="s3cure-admin\ns3cure-admin\n")
    client = app.test_client()
    html = client.get("/en/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    codes = [client.post("/en/signin", data={"csrf_token": token, "password": "guess"}).status_code
             for _ in range(4)]
    assert codes[-1] == 429


def test_only_the_configured_host_names_are_answered(app, client, store):
    app.test_cli_runner().invoke(args=["set-password"], input="s3cure-admin\ns3cure-admin\n")
    for host in ("localhost", "127.0.0.1", "127.0.0.1:5000", "LOCALHOST:8000"):
        assert client.get("/en/signin", headers={"Host": host}).status_code == 200, host
    html = client.get("/en/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    for host in ("attacker.example", "attacker.example:5000", "127.0.0.1.attacker.example",
                 "localhost.attacker.example", "[::2]"):
        assert client.get("/en/signin", headers={"Host": host}).status_code == 400, host
        guess = client.post("/en/signin", headers={"Host": host},
                            data={"csrf_token": token, "password": "s3cure-admin"})
        assert guess.status_code == 400 and "Set-Cookie" not in guess.headers
    assert client.get("/en/settings").status_code == 302  # no guess signed in


def test_a_deployment_adds_its_own_host_names(tmp_path):
    from webapp import create_app

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k",
                      "HOST": "::1", "ALLOWED_HOSTS": "mail.example.org, .sendwell.example"})
    client = app.test_client()
    for host, code in (("mail.example.org", 200), ("[::1]:5000", 200), ("a.sendwell.example", 200),
                       ("localhost", 200), ("example.org", 400), ("[::2]:5000", 400)):
        assert client.get("/en/guide", headers={"Host": host}).status_code == code, host


def test_behind_a_trusted_proxy_the_sign_in_limit_counts_each_real_client(tmp_path):
    from webapp import create_app

    def sign_in_attempts(app, forwarded_for):
        client = app.test_client()
        html = client.get("/en/signin").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        return [client.post("/en/signin", headers={"X-Forwarded-For": forwarded_for},
                            data={"csrf_token": token, "password": "guess"}).status_code
                for _ in range(3)]

    for proxies, isolated in ((1, True), (0, False)):
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / str(proxies)),
                          "SECRET_KEY": "k", "TRUSTED_PROXIES": proxies,
                          "RATELIMIT_SIGNIN": "2 per minute"})
        app.test_cli_runner().invoke(args=["set-password"], input="s3cure-admin\ns3cure-admin\n")
        assert sign_in_attempts(app, "198.51.100.7")[-1] == 429  # the attacker uses up its own
        admin = sign_in_attempts(app, "203.0.113.50")
        assert (admin[0] == 401) is isolated, (proxies, admin)


# -- 7. private destinations ---------------------------------------------------------------

def test_private_destinations_can_be_forbidden_by_the_server_setting(auth_client, app,
                                                                      fault_server, fault_scripts):
    server = fault_server(fault_scripts.smtp())
    form = relay_form(server, from_address="office@example.com")
    allowed = post(auth_client, "/en/settings/test", form).get_data(as_text=True)
    assert "The test email was sent" in allowed and server.connections == 1
    app.config["MAIL_ALLOW_PRIVATE"] = False
    refused = post(auth_client, "/en/settings/test", {**form, "smtp_host": "localhost"})
    assert "This server address is not allowed here" in refused.get_data(as_text=True)
    assert server.connections == 1
    settings_page = auth_client.get("/en/settings").get_data(as_text=True)
    assert "MAIL_ALLOW_PRIVATE" not in settings_page and "allow_private" not in settings_page


# -- 9. crash safety ------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from webapp import storage
    from webapp.model import MailSettings
    path, key = sys.argv[1], sys.argv[2].encode()
    store = storage.Store(path, storage.keyring([key]))
    store.init()
    n = 0
    print("ready", flush=True)
    while True:
        n += 1
        settings = MailSettings(protocol="SMTP", smtp_host=f"smtp{n}.example.com", smtp_port=587,
                                username=f"user{n}@example.com", copy_address=f"copy{n}@example.com")
        store.save(settings, f"password-{n}")
""")


def test_killing_the_process_mid_save_never_leaves_a_torn_record(tmp_path):
    from cryptography.fernet import Fernet
    from webapp import storage

    key = Fernet.generate_key()
    path = str(tmp_path / "crash.sqlite3")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for attempt in range(6):
        writer = subprocess.Popen([sys.executable, str(script), path, key.decode()], cwd=root,
                                  stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": root})
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(0.05 + 0.07 * attempt)
        writer.send_signal(signal.SIGKILL)
        writer.wait(5)
        store = storage.Store(path, storage.keyring([key]))
        saved = store.saved()
        assert saved is not None
        n = saved.settings.smtp_host.removeprefix("smtp").removesuffix(".example.com")
        # Every part of the record belongs to the same save.
        assert saved.settings.username == f"user{n}@example.com"
        assert saved.settings.copy_address == f"copy{n}@example.com"
        assert store.secret_for(saved.settings.destination) == f"password-{n}"
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- 7. DNS rebinding ----------------------------------------------------------------------

@pytest.fixture
def rebinding_resolver(monkeypatch):
    """A name whose first answer is 127.0.0.1 and every later one 127.0.0.2.

    A real rebinding DNS server cannot run here, so the resolver is the one
    part replaced: the connection itself is real.
    """
    import socket

    real = socket.getaddrinfo
    calls = []

    def resolve(host, port, *args, **kwargs):
        if host != "rebind.localhost":
            return real(host, port, *args, **kwargs)
        calls.append(host)
        address = "127.0.0.1" if len(calls) == 1 else "127.0.0.2"
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return calls


def test_smtp_connects_to_the_address_it_resolved_once(rebinding_resolver, fault_server,
                                                        fault_scripts):
    from webapp.mail import smtp
    from webapp.mail.message import build_message

    server = fault_server(fault_scripts.smtp())
    result = smtp.send(smtp.SmtpDestination("rebind.localhost", server.port, "opportunistic"),
                       build_message(from_address="a@example.com", to=["b@example.com"],
                                     subject="s", body="b"),
                       envelope_from="a@example.com", envelope_to=["b@example.com"], deadline_s=3)
    assert result.ok, result.diagnosis
    assert rebinding_resolver == ["rebind.localhost"]
    assert server.connections == 1


def test_http_connects_to_the_address_it_resolved_once(rebinding_resolver, http_server):
    from webapp.mail import http
    from webapp.mail.message import build_message

    server = http_server()
    result = http.send(http.HttpDestination(f"http://rebind.localhost:{server.port}/send"),
                       build_message(from_address="a@example.com", to=["b@example.com"],
                                     subject="s", body="b"),
                       from_address="a@example.com", to=["b@example.com"], reply_to=None,
                       subject="s", deadline_s=3)
    assert result.ok, result.diagnosis
    assert rebinding_resolver == ["rebind.localhost"]
    assert len(server.requests) == 1


def test_security_md_names_only_tests_that_exist():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "SECURITY.md"), encoding="utf-8") as f:
        named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", f.read()))
    defined = set()
    for folder, _dirs, files in os.walk(os.path.join(root, "tests")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    defined |= set(re.findall(r"^def (test_\w+)", f.read(), re.MULTILINE))
    assert len(named) > 30
    assert named - defined == set()


# -- SECURITY.md ------------------------------------------------------------------------

def test_every_test_security_md_names_exists():
    """Each threat's proof is a test that runs: a name SECURITY.md gives must
    be a test in the file it names (a bare name belongs to the file named
    before it in the same cell)."""
    root = Path(__file__).resolve().parent.parent
    table = [line for line in (root / "SECURITY.md").read_text(encoding="utf-8").splitlines()
             if line.startswith("|") and "tests/" in line]
    named = 0
    for row in table:
        proof = row.rstrip(" |").rsplit("|", 1)[-1]
        current = None
        for item in re.findall(r"`([^`]+)`", proof):
            path, _, name = item.partition("::")
            if path.startswith("tests/"):
                current = root / path
                assert current.is_file(), item
            else:
                name = item
            name = name.split(" ")[0]
            if name:
                assert current is not None, item
                source = current.read_text(encoding="utf-8")
                assert re.search(rf"^def {re.escape(name)}\(", source, re.M), (current.name, name)
                named += 1
    assert named >= 40


def test_every_view_with_a_limit_is_one_the_limiter_checks(app):
    # The limiter is skipped for views outside limits.limited_views (issue 17):
    # a limit declared around limits.limit() would be skipped too.
    from webapp.limits import has_no_limit, limited_views, limiter

    assert limited_views and limiter._marked_for_limiting <= limited_views
    assert not limiter.limit_manager.default_limits and not limiter.limit_manager.application_limits
    with app.test_request_context("/en/settings/test", method="POST"):
        app.preprocess_request()
        assert not has_no_limit()
    with app.test_request_context("/en/settings/fields", method="POST"):
        app.preprocess_request()
        assert has_no_limit()
    with app.test_request_context("/en/settings", method="POST"):  # the no-JavaScript Test
        app.preprocess_request()
        assert not has_no_limit()
