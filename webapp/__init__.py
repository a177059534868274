"""Sendwell: set up how your software sends email, test it, use it."""
import hashlib
import os

from flask import Flask, redirect, url_for
from flask_wtf.csrf import CSRFProtect

from . import config, i18n, storage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])


def create_app(test_config: dict | None = None) -> Flask:
    configuration = config.from_environment()
    if test_config:
        configuration.update(test_config)
    app = Flask(
        __name__,
        instance_path=configuration.get("INSTANCE_PATH") or None,
        template_folder=os.path.join(ROOT, "templates"),
    )
    app.config.update(configuration)
    app.config.update(
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(ROOT, "translations"),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="sendwell_session",
        SEND_FILE_MAX_AGE_DEFAULT=31536000,
    )
    if test_config:
        app.config.update(test_config)
    # Room for the PDF plus the rest of the form; a bigger upload is refused early.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_PDF_BYTES"]) + 256 * 1024
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = storage.load_or_create_key(
            os.path.join(app.instance_path, storage.SECRET_KEY_FILE)).decode()
    if app.config.get("FERNET_KEY"):
        keys = storage.keyring(storage.keys_from_setting(app.config["FERNET_KEY"]))
    else:
        key_file = os.path.join(app.instance_path, storage.KEY_FILE)
        storage.fernet_keys(key_file)  # made on first start
        keys = storage.KeyFile(key_file)  # read again when rotate-key changes it
    database = app.config["DATABASE"]
    if not os.path.isabs(database):
        database = os.path.join(app.instance_path, database)
    app.extensions["store"] = storage.Store(database, keys)
    app.extensions["store"].init()

    from . import (auth, commands, documents, guide, layout, limits, oauth_views, request_origin,
                   settings_views)
    from . import detect_views  # noqa: F401  (its routes join the settings blueprint)

    request_origin.init_app(app)  # first: a request for another host goes no further
    i18n.init_app(app)
    commands.init_app(app)
    auth.init_app(app)  # before CSRF: a signed-out visitor is sent to sign in first
    csrf.init_app(app)
    limits.init_app(app)
    layout.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(settings_views.bp)
    app.register_blueprint(guide.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(oauth_views.bp)

    static_versions: dict[str, str] = {}

    @app.url_defaults
    def version_static_files(endpoint, values):
        # Static files are cached for a year; the content hash in the URL
        # makes a changed file a new URL.
        if endpoint == "static" and "filename" in values:
            name = values["filename"]
            if name not in static_versions:
                path = os.path.join(app.static_folder, name)
                try:
                    with open(path, "rb") as f:
                        static_versions[name] = hashlib.sha256(f.read()).hexdigest()[:12]
                except OSError:
                    static_versions[name] = "0"
            values["v"] = static_versions[name]

    @app.get("/")
    def index():
        return redirect(url_for("settings.page"))

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if not response.headers.get("Cache-Control") and response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
        return response

    return app
