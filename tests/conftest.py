import threading

import pytest
from werkzeug.serving import make_server

from helpers import browser_sign_in, elements
from webapp import create_app

# Real servers on loopback (SMTP, faulty SMTP, HTTP) and TLS material, for every test.
pytest_plugins = ["servers", "dns_server", "autoconfig_server", "oauth_server", "xoauth2_smtp",
                  "oauth_views_helpers"]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def app(tmp_path, ca_file):
    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        # The test CA is trusted the way a company CA would be: through the setting.
        "MAIL_CA_FILE": ca_file,
        "MAIL_DEADLINE": 3.0,
    })
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def store(app):
    return app.extensions["store"]


def csrf_token(client, path="/en/settings") -> str:
    html = client.get(path).get_data(as_text=True)
    # Every form on the page (sign-out too) carries the same token.
    return elements(html, "input", name="csrf_token")[0].attrs["value"]


@pytest.fixture
def auth_client(app, client):
    """A client signed in through a one-time link, as a new user would be."""
    token = app.extensions["store"].issue_signin_token(60)
    assert client.get(f"/signin/{token}").status_code == 302
    client.csrf_token = csrf_token(client)
    return client


# -- the real browser -----------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's chromium: Playwright cannot download a browser here.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@pytest.fixture
def serve_app():
    """Factory: ``serve_app(app)`` serves `app` over real HTTP on loopback, in
    a thread, until teardown; the server has ``url`` and ``app``."""
    running = []

    def start(app):
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        server.url = f"http://127.0.0.1:{server.server_port}"
        server.app = app
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def live_server(app, serve_app):
    """The app served over real HTTP on loopback, in a thread."""
    return serve_app(app)


@pytest.fixture
def signed_in_page(page, live_server):
    browser_sign_in(page, live_server)
    return page


@pytest.fixture
def no_js_page(browser, live_server):
    """A signed-in page in a browser context without JavaScript."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    browser_sign_in(page, live_server)
    yield page
    context.close()
