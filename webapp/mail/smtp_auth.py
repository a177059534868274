"""SMTP AUTH: what of a credential crosses the wire, to scrub it from replies."""

from __future__ import annotations

import base64
from urllib.parse import quote


def secret_forms(password: str | None, username: str | None = None) -> list[str]:
    """A password and the encodings in which it crosses the wire, to scrub
    from anything a server sends back: base64 alone (LOGIN), of NUL user NUL
    password (PLAIN), of user:password (HTTP Basic), and percent-encoded (a
    URL's user-info)."""
    if not password:
        return []
    raw = password.encode("utf-8")
    forms = [password, base64.b64encode(raw).decode("ascii")]
    if username is not None:
        user = username.encode("utf-8")
        forms.append(base64.b64encode(b"\0" + user + b"\0" + raw).decode("ascii"))
        forms.append(base64.b64encode(user + b":" + raw).decode("ascii"))
    forms.append(quote(password, safe=""))
    return forms
