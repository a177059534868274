"""The domain's autoconfig document (Thunderbird's config-v1.1.xml), read
for its outgoing server only.

``autoconfig_urls(address)`` gives the two places to fetch it from, in order.
The fetching belongs to the web client (https only, no redirect off the host,
at most ``MAX_DOCUMENT_BYTES + 1`` bytes read so that an oversized document is
recognised). ``parse_autoconfig(document, address)`` reads what came back and
never raises: the result holds the outgoing servers, or a failure code.

The XML parser is defusedxml with DTDs, entities and external references all
refused: the format needs none of them, and refusing them up front stops
entity expansion bombs ("billion laughs") and external fetches before any
work is done. The format, as Thunderbird reads it (readFromXML):

    <clientConfig version="1.1"><emailProvider id="...">
      <outgoingServer type="smtp">
        <hostname>smtp.%EMAILDOMAIN%</hostname> <port>587</port>
        <socketType>STARTTLS</socketType>        (SSL | STARTTLS | plain)
        <username>%EMAILADDRESS%</username>      (%EMAILLOCALPART%, %EMAILDOMAIN%)
        <authentication>password-cleartext</authentication>  (one or more)
      </outgoingServer>
    </emailProvider></clientConfig>

As in Thunderbird, placeholders are replaced in the host name and the
username, the first socketType we know wins, and a server without a usable
host name, port or socketType is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree
import dns.name

MAX_DOCUMENT_BYTES = 64 * 1024  # real documents are a few KB

FAILURES: tuple[str, ...] = (
    "too_large",           # more than MAX_DOCUMENT_BYTES
    "forbidden_xml",       # a DTD, an entity or an external reference
    "not_xml",             # not well-formed XML
    "not_autoconfig",      # XML, but not a clientConfig document
    "no_outgoing_server",  # no usable <outgoingServer type="smtp">
    "bad_address",         # the address to fill in is not local@domain
)

SOCKET_TYPES = {"ssl": "tls", "starttls": "starttls", "plain": "opportunistic"}

# Thunderbird's <authentication> values (deprecated spellings included) ->
# our sign-in kinds. Kinds Sendwell cannot use are kept so the fragment can
# say why the document did not help.
AUTHENTICATION = {
    "password-cleartext": "password", "plain": "password",
    "password-encrypted": "password_encrypted", "secure": "password_encrypted",
    "oauth2": "oauth2",
    "none": "none", "client-ip-address": "none", "smtp-after-pop": "none",
    "gssapi": "gssapi", "ntlm": "ntlm", "tls-client-cert": "client_cert",
}

USERNAME_RULES = {"%EMAILADDRESS%": "address", "%EMAILLOCALPART%": "local_part"}

_PLACEHOLDER = re.compile(r"%[A-Z0-9]+%")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_MAX_USERNAME = 256


@dataclass(frozen=True)
class OutgoingServer:
    host: str
    port: int
    security: str                  # "tls" | "starttls" | "opportunistic"
    username: str | None           # filled in for the address; None when not given
    username_rule: str | None      # "address" | "local_part" | "fixed" | "pattern" | None
    authentication: tuple[str, ...]  # AUTHENTICATION kinds, in the document's order


@dataclass(frozen=True)
class Autoconfig:
    servers: tuple[OutgoingServer, ...] = ()
    failure: str | None = None
    facts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None


def split_address(address: str) -> tuple[str, str] | None:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    return local, domain.rstrip(".").lower()


def ascii_domain(domain: str) -> str:
    """The domain as DNS and URLs carry it (IDNA), lower case."""
    return dns.name.from_text(domain).to_text(omit_final_dot=True).lower()


def address_domain(address: str) -> str:
    """The address's domain as DNS carries it. Raises ValueError for an
    address without a usable domain."""
    parts = split_address(address)
    if parts is None:
        raise ValueError("not local@domain")
    try:
        return ascii_domain(parts[1])
    except Exception as exc:  # any IDNA or label error: the domain is unusable
        raise ValueError("unusable domain") from exc


def autoconfig_urls(address: str, https_port: int = 443) -> tuple[str, str]:
    """Where to fetch the document, in order (as Thunderbird does): the
    autoconfig host, told which address asks, then the domain's well-known
    path. ``https_port`` exists for tests on loopback; users get 443.
    Raises ValueError for an address without a usable domain."""
    domain = address_domain(address)
    port = "" if https_port == 443 else f":{https_port}"
    return (
        f"https://autoconfig.{domain}{port}/mail/config-v1.1.xml"
        f"?emailaddress={quote(address.strip(), safe='')}",
        f"https://{domain}{port}/.well-known/autoconfig/mail/config-v1.1.xml",
    )


def parse_autoconfig(document: bytes, address: str, *, limit: int = MAX_DOCUMENT_BYTES) -> Autoconfig:
    """The outgoing SMTP servers of an autoconfig document, filled in for
    ``address``, in the document's order."""
    if len(document) > limit:
        return Autoconfig(failure="too_large", facts={"limit_bytes": limit})
    parts = split_address(address)
    if parts is None:
        return Autoconfig(failure="bad_address")
    try:
        root = defusedxml.ElementTree.fromstring(
            document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        return Autoconfig(failure="forbidden_xml", facts={"refused": type(exc).__name__})
    except (ParseError, ValueError):
        return Autoconfig(failure="not_xml")
    if _local(root.tag) != "clientConfig":
        return Autoconfig(failure="not_autoconfig")

    variables = {"%EMAILADDRESS%": address.strip(), "%EMAILLOCALPART%": parts[0],
                 "%EMAILDOMAIN%": parts[1]}
    servers: list[OutgoingServer] = []
    skipped: list[str] = []
    for provider in _children(root, "emailProvider"):
        for element in _children(provider, "outgoingServer"):
            server, problem = _outgoing_server(element, variables)
            if server is not None:
                servers.append(server)
            else:
                skipped.append(problem)
    if not servers:
        return Autoconfig(failure="no_outgoing_server", facts={"skipped": skipped})
    return Autoconfig(tuple(servers), facts={"skipped": skipped} if skipped else {})


def _outgoing_server(element: Element, variables: dict) -> tuple[OutgoingServer | None, str]:
    if element.get("type") != "smtp":
        return None, "not_smtp"
    host = _host(_fill(_text(element, "hostname"), variables))
    if host is None:
        return None, "bad_hostname"
    try:
        port = int(_text(element, "port") or "")
    except ValueError:
        return None, "bad_port"
    if not 0 < port < 65536:
        return None, "bad_port"
    security = next((SOCKET_TYPES[value.lower()] for value in _texts(element, "socketType")
                     if value.lower() in SOCKET_TYPES), None)
    if security is None:
        return None, "bad_socket_type"
    authentication = tuple(dict.fromkeys(
        AUTHENTICATION[value.lower()] for value in _texts(element, "authentication")
        if value.lower() in AUTHENTICATION))
    username, rule = _username(_text(element, "username"), variables)
    return OutgoingServer(host, port, security, username, rule, authentication), ""


def _username(template: str | None, variables: dict) -> tuple[str | None, str | None]:
    if not template or len(template) > _MAX_USERNAME or not template.isprintable():
        return None, None
    filled = _fill(template, variables)
    if _PLACEHOLDER.search(filled):
        return None, None  # a variable we cannot fill (%REALNAME%, an input field)
    if template in USERNAME_RULES:
        return filled, USERNAME_RULES[template]
    return filled, "pattern" if _PLACEHOLDER.search(template) else "fixed"


def _fill(text: str | None, variables: dict) -> str:
    text = text or ""
    for name, value in variables.items():
        text = text.replace(name, value)
    return text


def _host(text: str) -> str | None:
    """A plain DNS host name (letters, digits, hyphens; IDNA for the rest),
    or None: whatever a hostile document puts here ends up in the form and
    in a connection attempt."""
    try:
        host = ascii_domain(text.strip()) if text.strip() else ""
    except Exception:  # any IDNA or label error
        return None
    labels = host.split(".")
    if len(labels) < 2 or len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return None
    return host


def _local(tag) -> str:
    # The format has no namespace, but a document that declares one is still
    # the same document.
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _texts(element: Element, name: str) -> list[str]:
    return [(child.text or "").strip() for child in _children(element, name)]


def _text(element: Element, name: str) -> str | None:
    texts = _texts(element, name)
    return texts[0] if texts else None
