"""What each step of a result is called, and what its detail line says."""
from collections.abc import Callable, Mapping

from ..i18n import lazy_gettext as _l

from ..fields import fill

STEP_TITLES = {
    "resolve": _l("Find the server"),
    "connect": _l("Connect"),
    "tls": _l("Encrypt the connection (TLS)"),
    "greeting": _l("Server greeting"),
    "ehlo": _l("Introduce Sendwell (EHLO)"),
    "starttls": _l("Switch to encryption (STARTTLS)"),
    "login": _l("Sign in to the server"),
    "sender": _l("Sender"),
    "recipient": _l("Recipient"),
    "message": _l("Send the message"),
    "request": _l("Send the request"),
    "response": _l("Server's answer"),
}


def _connect(detail: Mapping, ok: bool) -> str:
    if not detail.get("address"):
        return ""
    return fill(_l("%(address)s, port %(port)s"), address=detail["address"],
                port=detail.get("port", ""))


def _tls(detail: Mapping, ok: bool) -> str:
    if not detail.get("version"):
        return ""
    if detail.get("pinned"):
        return fill(_l("%(version)s, trusted certificate"), version=detail["version"])
    if detail.get("verified") is False:
        return fill(_l("%(version)s, certificate not checked"), version=detail["version"])
    return fill(_l("%(version)s, certificate checked"), version=detail["version"])


def _message(detail: Mapping, ok: bool) -> str:
    if detail.get("queue_id"):
        return fill(_l("accepted, queue ID %(queue_id)s"), queue_id=detail["queue_id"])
    return str(_l("accepted")) if ok else ""


def _response(detail: Mapping, ok: bool) -> str:
    if not detail.get("status"):
        return ""
    return fill(_l("HTTP status %(status)s"), status=detail["status"])


# A step's detail line, from the details `mail` recorded for it and whether it
# succeeded: the keys are those `mail` records.
STEP_DETAIL: dict[str, Callable[[Mapping, bool], str]] = {
    "resolve": lambda detail, ok: ", ".join(detail.get("addresses") or ()),
    "connect": _connect,
    "tls": _tls,
    "login": lambda detail, ok: detail.get("username") or "",
    "sender": lambda detail, ok: detail.get("address") or "",
    "recipient": lambda detail, ok: detail.get("address") or "",
    "message": _message,
    "response": _response,
}
