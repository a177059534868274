"""What the views share about the running app: its store and how it delivers mail."""
from flask import current_app

from . import outbox
from .detect import DetectOptions, parse_ports


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
