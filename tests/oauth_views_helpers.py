"""What the OAuth view tests share: an app whose provider endpoints are a
loopback OAuth server's, a signed-in client, and the sign-in round trip as a
browser makes it (start, /oauth/go, consent on the server's page, callback)."""
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from helpers import HX, elements, post
from oauth_server import CLIENT_ID, CLIENT_SECRET, LoopbackOAuthServer
from webapp import create_app

# The Flask test client's requests come to http://localhost.
CALLBACK = "http://localhost/oauth/callback"
ACCOUNT = "sender@example.com"


@dataclass
class OAuthSite:
    app: object
    client: object
    server: LoopbackOAuthServer

    @property
    def store(self):
        return self.app.extensions["store"]


def signed_in_client(app):
    client = app.test_client()
    token = app.extensions["store"].issue_signin_token(60)
    assert client.get(f"/signin/{token}").status_code == 302
    html = client.get("/en/settings").get_data(as_text=True)
    client.csrf_token = elements(html, "input", name="csrf_token")[0].attrs["value"]
    return client


@pytest.fixture
def oauth_site(tmp_path, ca_file, oauth_server):
    """Factory: ``oauth_site(**server_knobs)`` -> an OAuthSite."""
    def start(**knobs) -> OAuthSite:
        server = oauth_server(redirect_uris=[CALLBACK], **knobs)
        app = create_app({
            "TESTING": True, "INSTANCE_PATH": str(tmp_path / f"instance-{server.port}"),
            "SECRET_KEY": "test-secret-key", "MAIL_CA_FILE": ca_file, "MAIL_DEADLINE": 3.0,
            **server.settings()})
        return OAuthSite(app, signed_in_client(app), server)

    return start


def oauth_form(provider, smtp=None, *, secret=CLIENT_SECRET, username="", **extra):
    """The settings form with an OAuth sign-in method; SMTP server and Port are
    the loopback SMTP server's when given, else left empty."""
    form = {"protocol": "SMTP", "sign_in_method": provider, "oauth_client_id": CLIENT_ID,
            "oauth_client_secret": secret, "oauth_tenant": "", "username": username,
            "smtp_host": "", "smtp_port": ""}
    if smtp is not None:
        form.update(smtp_host=smtp.host, smtp_port=str(smtp.port), smtp_security="starttls")
    return {**form, **extra}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def start_sign_in(site: OAuthSite, form: dict, lang="en") -> str:
    """Start as htmx does; the provider's address /oauth/go redirects to."""
    started = post(site.client, f"/{lang}/oauth/start", form)
    assert started.status_code == 204, started.get_data(as_text=True)
    assert started.headers["HX-Redirect"] == "/oauth/go"
    went = site.client.get("/oauth/go")
    assert went.status_code == 302
    return went.headers["Location"]


def sign_in(site: OAuthSite, form: dict, *, accept=True, lang="en"):
    """The whole round trip; the callback's answer (a redirect to the settings)."""
    back = site.server.consent(start_sign_in(site, form, lang), accept=accept)
    assert back.startswith(CALLBACK + "?")
    return site.client.get(path_of(back))


def settings_page(site: OAuthSite, lang="en") -> str:
    return site.client.get(f"/{lang}/settings").get_data(as_text=True)


def input_value(html: str, name: str) -> str | None:
    found = elements(html, "input", name=name)
    return found[0].attrs.get("value") if found else None


def run_test(site: OAuthSite, form: dict, lang="en") -> str:
    return post(site.client, f"/{lang}/settings/test", form, headers=HX).get_data(as_text=True)


__all__ = ["ACCOUNT", "CALLBACK", "CLIENT_ID", "CLIENT_SECRET", "OAuthSite", "input_value",
           "oauth_form", "oauth_site", "path_of", "settings_page", "sign_in", "start_sign_in",
           "run_test"]
