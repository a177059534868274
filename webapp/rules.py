"""Which parts of the settings form are shown for given form values.

One set of rules for the full page, the HTMX fragments and validation. Plain
Python: `values` is any mapping of field name -> submitted string (a ticked
checkbox is present with any value, an unticked one is absent).
"""
import re
from collections.abc import Mapping

from .mail.oauth import MICROSOFT, SMTP_SERVERS
from .mail.providers import provider_for_host
from .model import OAUTH_PROVIDERS, STANDARD_PORT_SECURITY, looks_like_address, security_for

# Each conditional part of the form ("slot") and the slot that contains it.
# A slot's state is None when hidden, else a short key: when the key changes,
# the slot is rendered again.
SLOT_PARENTS = {
    "http": None,
    "smtp": None,
    "port_security": "smtp",
    "port_note": "smtp",
    "from_address": "smtp",
    "copy_address": "smtp",
    "reply_to_address": "smtp",
    "tls_check": "smtp",
    "tls_warning": "tls_check",
    "trusted_certificate": "smtp",
    "password": "smtp",
    "oauth": "smtp",
    "oauth_tenant": "oauth",
    # Its state is the settings view's (whether a sign-in is stored for
    # the destination as typed); it shows inside "oauth".
    "oauth_status": "oauth",
}

# Fields inside each slot; a field in no slot is always shown.
SLOT_FIELDS = {
    "http": ("http_url", "http_reply_to"),
    "smtp": ("smtp_host", "smtp_port", "sign_in_method", "username", "copy_enabled",
             "reply_to_enabled"),
    "password": ("password",),
    "oauth": ("oauth_client_id", "oauth_client_secret"),
    "oauth_tenant": ("oauth_tenant",),
    "port_security": ("smtp_security",),
    "from_address": ("from_address",),
    "copy_address": ("copy_address",),
    "reply_to_address": ("reply_to_address",),
    "tls_check": ("skip_tls_verify",),
    "trusted_certificate": ("trusted_certificate",),
}


def parse_port(raw) -> int | None:
    text = str(raw).strip()
    # ASCII digits only, as validation.port: int() also reads "５８７".
    if not re.fullmatch(r"[0-9]+", text):
        return None
    port = int(text)
    return port if 1 <= port <= 65535 else None


def _ticked(values: Mapping, name: str) -> bool:
    return bool(values.get(name))


def oauth_provider(values: Mapping) -> str | None:
    """The OAuth provider the sign-in method names, if any."""
    method = values.get("sign_in_method")
    return method if method in OAUTH_PROVIDERS else None


def provider_fills(values: Mapping) -> dict[str, str]:
    """With an OAuth sign-in, the provider's SMTP server for an empty SMTP
    server and Port: the fields to fill, with their values."""
    provider = oauth_provider(values)
    if provider is None or (values.get("protocol") or "SMTP") != "SMTP":
        return {}
    host, port, _security = SMTP_SERVERS[provider]
    fills = {}
    if not (values.get("smtp_host") or "").strip():
        fills["smtp_host"] = host
    if not (values.get("smtp_port") or "").strip():
        fills["smtp_port"] = str(port)
    return fills


def slot_states(values: Mapping) -> dict[str, str | None]:
    protocol = values.get("protocol") or "SMTP"
    smtp = protocol == "SMTP"
    port = parse_port(values.get("smtp_port"))
    security = security_for(port, values.get("smtp_security"))
    provider = provider_for_host((values.get("smtp_host") or "").strip())
    oauth = oauth_provider(values)
    # A trusted certificate replaces the choice to check certificates or not.
    trusted = (values.get("trusted_certificate") or "").strip()

    def when(condition: bool, key: str = "") -> str | None:
        return key if (smtp and condition) else None

    return {
        "http": "" if protocol == "HTTP" else None,
        "smtp": "" if smtp else None,
        "port_security": when(port is not None and port not in STANDARD_PORT_SECURITY),
        "port_note": when(security == "opportunistic"),
        "from_address": when(not looks_like_address(values.get("username"))),
        "copy_address": when(_ticked(values, "copy_enabled")),
        "reply_to_address": when(_ticked(values, "reply_to_enabled")),
        "tls_check": when(not trusted),
        "tls_warning": when(_ticked(values, "skip_tls_verify") and provider is not None,
                            provider or ""),
        "password": when(oauth is None),
        "oauth": when(oauth is not None, oauth or ""),
        "oauth_tenant": when(oauth == MICROSOFT),
        "trusted_certificate": when(bool(trusted), trusted),
    }


def visible_fields(states: Mapping[str, str | None]) -> set[str]:
    """Fields shown for these slot states (a slot shows only inside a shown parent)."""
    def shown(slot: str | None) -> bool:
        return slot is None or (states.get(slot) is not None and shown(SLOT_PARENTS[slot]))

    return {field for slot, fields in SLOT_FIELDS.items() if shown(slot) for field in fields} | {"protocol"}


def fields_within(slot: str) -> list[str]:
    """The fields of a slot and of the slots inside it, in form order."""
    names = list(SLOT_FIELDS.get(slot, ()))
    for child, parent in SLOT_PARENTS.items():
        if parent == slot:
            names += fields_within(child)
    return names


def encode_state(slot: str, key: str) -> str:
    return f"{slot}={key}"


def changed_slots(states: Mapping[str, str | None], shown_before: set[str]) -> list[str]:
    """The outermost slots whose state differs from what the page shows now.

    `shown_before` holds the encoded states the page reported (one per shown
    slot). A slot inside a changed slot is rendered with it, so it is not
    listed again. Slots unknown to SLOT_PARENTS (the caller's own) are roots.
    """
    before = {}
    for marker in shown_before:
        slot, _, key = marker.partition("=")
        before[slot] = key
    changed = []

    def walk(parent: str | None) -> None:
        for slot in states:
            if SLOT_PARENTS.get(slot) != parent:
                continue
            if states.get(slot) != before.get(slot):
                changed.append(slot)
            elif states.get(slot) is not None:
                walk(slot)

    walk(None)
    return changed
