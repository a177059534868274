"""Small helpers the tests share."""
import html as htmlmod
import re
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest

HX = {"HX-Request": "true"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# What each language calls a test of the settings. A document that did not go
# out was not a test, so a failed send must use none of these words. (Italian
# "prova" and Spanish "prueba" are also the imperative "try", which is right
# for both: only the nouns and the infinitive count.)
WORDS_FOR_TEST = {
    "en": r"\btest",
    "sl": r"\btest|preizkus|preizkuš",
    "sw": r"\b(ma)?jaribio\b",
    "it": r"\btest\b|\b(la|una|della|alla|nella|di) prova\b|\bprove\b",
    "ja": r"テスト",
    "es": r"\b(la|una|de|esta|otra|nueva) prueba\b|\bpruebas\b|\bprobar\b",
}


def post(client, path, data, headers=HX):
    """POST a form as the page would, CSRF token included (as htmx unless headers={})."""
    return client.post(path, data={"csrf_token": client.csrf_token, **data}, headers=headers)


def browser_sign_in(page, server) -> None:
    """Sign the browser page in to `server` (a served app: ``url``, ``app``)
    through a one-time link, as a new administrator is."""
    token = server.app.extensions["store"].issue_signin_token(60)
    page.goto(f"{server.url}/signin/{token}")


def smtp_form(server, credentials, **extra):
    """Settings for a loopback SMTP test server that wants STARTTLS and a login."""
    return {"protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": str(server.port),
            "smtp_security": "starttls", "username": credentials.user,
            "password": credentials.password, **extra}


# How each security mode is served by smtp_server with a given server context
# (aiosmtpd cannot tell that an implicit-TLS connection is encrypted).
SERVED = {
    "tls": lambda context: {"ssl_context": context, "auth_require_tls": False},
    "starttls": lambda context: {"tls_context": context, "require_starttls": True},
}


def openssl_fingerprint(cert_path: str) -> str:
    """What `openssl x509 -fingerprint -sha256` prints for the file: AB:CD:…"""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert_path],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1]


def relay_form(server, **extra):
    """Settings for a loopback SMTP server without sign-in: plain SMTP, with
    STARTTLS when it is offered."""
    return {"protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": str(server.port),
            "smtp_security": "opportunistic", **extra}


def text_of(html: str) -> str:
    """What a reader sees: the text without tags, whitespace collapsed."""
    return htmlmod.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def assert_failed(result, code, step_name):
    """A delivery that failed at `step_name` with diagnosis `code`, the last step listed."""
    assert not result.ok
    assert result.diagnosis is not None, result
    assert (result.diagnosis.code, result.diagnosis.step) == (code, step_name), result.diagnosis
    assert result.steps[-1].name == step_name and not result.steps[-1].ok
    return result.diagnosis


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]  # a bare attribute such as `hidden` maps to None
    text: str                     # what a reader sees inside it, whitespace collapsed


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict, list[str]]] = []  # tag, attributes, text parts
        self.open: list[tuple[str, dict, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        entry = (tag, dict(attrs), [])
        self.found.append(entry)
        if tag not in VOID:
            self.open.append(entry)

    def handle_endtag(self, tag):
        # Closes unclosed children too (an <option> in a <datalist>, say).
        while any(entry[0] == tag for entry in self.open):
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _tag, _attrs, parts in self.open:
            parts.append(data)


def elements(html: str, tag: str | None = None, **attrs: str) -> list[Element]:
    """Every element with this tag (any, if None) and these attribute values, in order."""
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return [Element(found_tag, found_attrs, re.sub(r"\s+", " ", "".join(parts)).strip())
            for found_tag, found_attrs, parts in parser.found
            if (tag is None or found_tag == tag)
            and all(found_attrs.get(name) == value for name, value in attrs.items())]


def element(html: str, tag: str | None = None, **attrs: str) -> Element | None:
    """The one element with these attributes, e.g. element(html, id="errors-password"),
    or None; more than one fails the test."""
    found = elements(html, tag, **attrs)
    assert len(found) <= 1, f"{len(found)} elements match {tag or ''} {attrs}"
    return found[0] if found else None


def assert_oob_error(html: str, field: str, starts: str) -> None:
    """The field's messages are sent out of band and begin with `starts` ("": none)."""
    errors = element(html, id=f"errors-{field}")
    assert errors.attrs["hx-swap-oob"] == "true"
    assert errors.text.startswith(starts) if starts else errors.text == "", errors.text
