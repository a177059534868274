"""What the views share about the running app: its store and how it delivers mail."""
from flask import current_app

from . import oauth_tokens, outbox
from .detect import DetectOptions, parse_ports
from .mail.oauth import DEFAULT_SETTINGS as OAUTH_ENDPOINTS
from .model import MailSettings


def store():
    return current_app.extensions["store"]


def delivery_options() -> outbox.DeliveryOptions:
    # Read per request, so a change to the configuration of a running app counts.
    config = current_app.config
    return outbox.DeliveryOptions(deadline_s=float(config["MAIL_DEADLINE"]),
                                  allow_private=bool(config["MAIL_ALLOW_PRIVATE"]),
                                  cafile=config["MAIL_CA_FILE"])


def detect_options() -> DetectOptions:
    # The same address rules as the test: private addresses and the CA file.
    config = current_app.config
    return DetectOptions(deadline_s=float(config["DETECT_DEADLINE"]),
                         dns_server=config["DNS_SERVER"] or None,
                         ports=parse_ports(str(config["DETECT_PORTS"])),
                         allow_private=bool(config["MAIL_ALLOW_PRIVATE"]),
                         cafile=config["MAIL_CA_FILE"])


def oauth_settings() -> dict:
    """The provider endpoints from the configuration (SENDWELL_OAUTH_*)."""
    return {name: current_app.config.get(name) for name in OAUTH_ENDPOINTS}


def send_credential(settings: MailSettings, secret):
    """What outbox.send takes as the secret: the password, or for an OAuth
    sign-in (an oauth_tokens.OAuthCredential) how to get the access token,
    refreshed and stored as need be."""
    if settings.credential_kind != "oauth":
        return secret
    return oauth_tokens.login(store(), settings, secret, oauth_settings=oauth_settings(),
                              cafile=current_app.config["MAIL_CA_FILE"])
