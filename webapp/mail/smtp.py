"""Send one message over SMTP and report every step, or why it failed.

``send`` never raises for network or server trouble: it returns a
DeliveryResult whose Diagnosis names what went wrong. The password never
appears in a step, a reply, a diagnosis, a log line or an exception we raise;
the AUTH exchange is never recorded (no smtplib debug output either).
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from . import certificates, net, tls
from .attempt import Attempt, Stop, StepRecord
from .causes import is_timeout
from .message import message_bytes
from .result import DeliveryResult, Diagnosis
from .smtp_auth import secret_forms

SECURITY_MODES = ("tls", "starttls", "opportunistic")

# When we speak first in plain text, a silent server may be one that waits
# for a TLS handshake; wait this share of the time left for its greeting, so
# there is time to try TLS and say so.
GREETING_SHARE_WHEN_PLAIN = 0.6

# How long the second look after a failed implicit-TLS handshake waits for
# a plain "220" greeting.
PLAIN_BANNER_WAIT_S = 3.0

_SMTP_LINE = re.compile(rb"^[2-5]\d\d(?:[ -]|\r?\n?$)")
_QUEUE_ID_PATTERNS = (
    re.compile(r"queued as\s+<?([A-Za-z0-9][A-Za-z0-9._@\-]*)>?", re.IGNORECASE),  # Postfix and friends
    re.compile(r"\bid=([A-Za-z0-9][A-Za-z0-9._\-]*)", re.IGNORECASE),                 # Exim
    re.compile(r"<([^<>\s]+)>.*queued mail for delivery", re.IGNORECASE),              # Microsoft
    re.compile(r"\bOK\s+\d+\s+(\S+)\s+-\s+gsmtp", re.IGNORECASE),                      # Gmail
    re.compile(r"\bOK\s+([0-9a-f]{8,}(?:-[0-9a-f]+)+)\b", re.IGNORECASE),                # Amazon SES
)
_AUTH_REQUIRED = re.compile(
    r"authenticat\w*\s+(?:is\s+)?required|auth\w*\s+required|must\s+(?:be\s+)?authenticat"
    r"|not\s+authenticated|requires?\s+authentication",
    re.IGNORECASE,
)
_APP_PASSWORD = re.compile(r"5\.7\.9|application[- ]specific password|app password", re.IGNORECASE)


@dataclass(frozen=True)
class SmtpDestination:
    host: str            # ASCII: punycode host name, IPv4 or IPv6 literal (no brackets)
    port: int
    security: str        # 'tls' | 'starttls' | 'opportunistic'
    verify_tls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}")
        if not 1 <= int(self.port) <= 65535:
            raise ValueError("port must be 1-65535")


def send(
    dest: SmtpDestination,
    message: EmailMessage,
    *,
    envelope_from: str,
    envelope_to: list[str],
    deadline_s: float = 15.0,
    allow_private: bool = True,
    cafile: str | None = None,
    local_hostname: str | None = None,
) -> DeliveryResult:
    """Deliver ``message`` to ``dest``. ``envelope_to`` may hold addresses
    that are not in the headers (blind copies): they only go into RCPT TO.
    Finishes within ``deadline_s`` (plus a fraction of a second)."""
    if isinstance(envelope_to, str) or not envelope_to:
        raise ValueError("envelope_to must be a non-empty list of addresses")
    data = message_bytes(message)
    session = _Session(dest, deadline_s=deadline_s, allow_private=allow_private,
                       cafile=cafile, local_hostname=local_hostname)
    return session.run(data, envelope_from, list(envelope_to))


class _LineRecorder:
    """Wraps smtplib's reply reader to keep the raw lines of the last reply,
    so that a greeting which is not SMTP can be recognized and quoted."""

    def __init__(self, reader):
        self._reader = reader
        self.lines: list[bytes] = []

    def readline(self, size: int = -1) -> bytes:
        line = self._reader.readline(size)
        self.lines.append(line)
        return line

    def peek(self, size: int = 0) -> bytes:
        return self._reader.peek(size)

    def close(self) -> None:
        self._reader.close()


class _SmtpClient(smtplib.SMTP):
    """smtplib on a socket that we connected ourselves, to the address we
    resolved and vetted (so DNS cannot move us elsewhere between the check
    and the connection), while TLS still checks the host name."""

    def __init__(self, sock: socket.socket, *, host: str, local_hostname: str):
        # Passing local_hostname keeps smtplib from calling socket.getfqdn(),
        # a DNS lookup with no deadline.
        super().__init__(local_hostname=local_hostname)
        self._connected_socket = sock
        self._host = host  # smtplib's name for the TLS server_hostname
        self.raw_reply_lines: list[bytes] = []

    def _get_socket(self, host, port, timeout):
        return self._connected_socket

    def getreply(self):
        if self.file is None:
            self.file = _LineRecorder(self.sock.makefile("rb"))
        self.file.lines = self.raw_reply_lines = []
        code, reply = super().getreply()
        if not self.raw_reply_lines[-1].endswith(b"\n"):
            # smtplib takes a line cut short by the connection closing as a
            # whole reply: "220 half a greet" must not pass for a greeting.
            self.close()
            raise smtplib.SMTPServerDisconnected("connection closed in the middle of a reply")
        return code, reply

    # smtplib encodes credentials as ASCII and fails on any other character;
    # RFC 4616 and 4954 say UTF-8. Same exchange otherwise, with a bound on
    # the number of challenges.
    def auth(self, mechanism, authobject, *, initial_response_ok=True):
        mechanism = mechanism.upper()
        initial_response = authobject() if initial_response_ok else None
        if initial_response is not None:
            code, reply = self.docmd("AUTH", f"{mechanism} {_b64(initial_response)}")
            self._auth_challenge_count = 1
        else:
            code, reply = self.docmd("AUTH", mechanism)
            self._auth_challenge_count = 0
        while code == 334 and self._auth_challenge_count < 4:
            self._auth_challenge_count += 1
            challenge = base64.decodebytes(reply)
            code, reply = self.docmd(_b64(authobject(challenge)))
        if code in (235, 503):
            return code, reply
        raise smtplib.SMTPAuthenticationError(code, reply)

    def auth_cram_md5(self, challenge=None):
        if challenge is None:
            return None
        digest = hmac.HMAC(self.password.encode("utf-8"), challenge, "md5").hexdigest()
        return f"{self.user} {digest}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _default_local_hostname(sock: socket.socket) -> str:
    """Our name for EHLO: the host's own name when it is fully qualified,
    else our address as a literal (RFC 5321 §4.1.4)."""
    name = socket.gethostname()
    if "." in name and re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", name):
        return name
    ip = ipaddress.ip_address(sock.getsockname()[0].split("%", 1)[0])
    return f"[{ip}]" if ip.version == 4 else f"[IPv6:{ip}]"


def parse_queue_id(reply: str | bytes | None) -> str | None:
    """The queue id in a final 250 reply, as the common servers write it."""
    if not reply:
        return None
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    for pattern in _QUEUE_ID_PATTERNS:
        match = pattern.search(reply)
        if match:
            return match.group(1)[:100]
    return None


class _Session:
    def __init__(self, dest: SmtpDestination, *, deadline_s: float, allow_private: bool,
                 cafile: str | None, local_hostname: str | None):
        self.dest = dest
        self.allow_private = allow_private
        self.cafile = cafile
        self.local_hostname = local_hostname
        self.attempt: Attempt | None = None
        self.deadline_s = deadline_s
        self.sock: socket.socket | None = None
        self.address: net.Address | None = None
        self.client: _SmtpClient | None = None
        self.encrypted = False
        self.max_size: int | None = None

    # --- the conversation ---------------------------------------------------

    def run(self, data: bytes, envelope_from: str, envelope_to: list[str]) -> DeliveryResult:
        dest = self.dest
        self.attempt = Attempt(self.deadline_s, host=dest.host,
                               secrets=secret_forms(dest.password, dest.username))
        try:
            addresses = net.resolve(self.attempt, dest.host, dest.port,
                                    allow_private=self.allow_private)
            self.sock, self.address = net.connect(self.attempt, addresses, dest.port)
            if dest.security == "tls":
                self._implicit_tls()
            self._greeting()
            self._ehlo()
            if dest.security in ("starttls", "opportunistic"):
                self._starttls()
            if dest.username:
                self._login()
            self._mail_from(envelope_from, envelope_to, data)
            for recipient in envelope_to:
                self._rcpt_to(recipient)
            self._data(data)
            self._quit()
            return self.attempt.finish()
        except Stop as stop:
            return self.attempt.finish(stop.diagnosis)
        finally:
            self._close()

    def _step(self, name: str):
        return self.attempt.step(name, self._diagnose)

    def _set_timeout(self, fraction: float = 1.0) -> float:
        timeout = self.attempt.timeout(fraction)
        self.sock.settimeout(timeout)
        return timeout

    def _reply(self, code: int, reply: bytes | str | None) -> str | None:
        text = self.attempt.text(reply)
        return f"{code} {text}".strip() if code and code > 0 else text

    def _implicit_tls(self) -> None:
        with self._step("tls") as step:
            context = tls.tls_context(verify=self.dest.verify_tls, cafile=self.cafile)
            self.sock = context.wrap_socket(self.sock, server_hostname=self.dest.host,
                                            do_handshake_on_connect=False)
            self._set_timeout()
            try:
                self.sock.do_handshake()
            except ssl.SSLCertVerificationError as exc:
                self._fail_certificate(step, exc)
            except (ssl.SSLError, ConnectionError) as exc:
                # A server speaking plain SMTP sends "220 ..." where we expect
                # a TLS record. Unless it answered in TLS (an alert), ask it
                # again, in plain text, to be sure.
                reason = getattr(exc, "reason", None) or ""
                if "ALERT" not in reason:
                    banner = self._plain_banner()
                    if banner is not None:
                        step.fail("plain_on_tls_port", reply_code=220, reply_text=banner,
                                  facts={"suggested_port": 587})
                raise
            self.encrypted = True
            step.detail = tls.tls_detail(self.sock, self.dest.verify_tls)

    def _greeting(self) -> None:
        plain_first = self.dest.security != "tls"
        with self._step("greeting") as step:
            local_hostname = self.local_hostname or _default_local_hostname(self.sock)
            self.client = _SmtpClient(self.sock, host=self.dest.host, local_hostname=local_hostname)
            self._set_timeout(GREETING_SHARE_WHEN_PLAIN if plain_first else 1.0)
            try:
                code, reply = self.client.connect(self.dest.host, self.dest.port)
            except smtplib.SMTPServerDisconnected as exc:
                raw_lines = self.client.raw_reply_lines
                if raw_lines and not self.attempt.expired() and not _SMTP_LINE.match(raw_lines[0]):
                    step.fail("not_smtp", reply_text=b" ".join(raw_lines)[:1000])
                if (plain_first and is_timeout(exc) and not self.attempt.expired()
                        and self._speaks_implicit_tls()):
                    step.fail("tls_expected_on_connect", facts={"suggested_port": 465})
                raise
            except smtplib.SMTPResponseException:  # a line too long to be SMTP
                step.fail("not_smtp", reply_text=b" ".join(self.client.raw_reply_lines)[:1000])
            raw_lines = self.client.raw_reply_lines
            if not raw_lines or not all(_SMTP_LINE.match(line) for line in raw_lines):
                step.fail("not_smtp", reply_text=b" ".join(raw_lines)[:1000])
            step.reply = self._reply(code, reply)
            step.detail = {"banner": self.attempt.text(reply)}
            if code == 220:
                return
            if 400 <= code < 500:
                step.fail("temporary_failure", reply_code=code, reply_text=reply)
            if 500 <= code < 600:
                step.fail("greeting_refused", reply_code=code, reply_text=reply)
            step.fail("not_smtp", reply_code=code, reply_text=reply)

    def _ehlo(self) -> None:
        client = self.client
        with self._step("ehlo") as step:
            self._set_timeout()
            code, reply = client.ehlo()
            if code != 250:
                if 400 <= code < 500:
                    step.fail("temporary_failure", reply_code=code, reply_text=reply)
                # An old server that knows only HELO: no extensions then.
                code, reply = client.helo()
                if 400 <= code < 500:
                    step.fail("temporary_failure", reply_code=code, reply_text=reply)
                if 500 <= code < 600:
                    step.fail("greeting_refused", reply_code=code, reply_text=reply)
                if code != 250:
                    step.fail("not_smtp", reply_code=code, reply_text=reply)
            self.max_size = _advertised_size(client.esmtp_features.get("size"))
            step.reply = self._reply(code, reply)
            step.detail = {
                "name": client.local_hostname,
                "extensions": sorted(keyword.upper() for keyword in client.esmtp_features),
            }
            if self.max_size:
                step.detail["max_size"] = self.max_size

    def _starttls(self) -> None:
        client = self.client
        if not client.has_extn("starttls"):
            if self.dest.security == "starttls":
                # Never fall back to plain text: the password would follow.
                with self._step("starttls") as step:
                    step.fail("starttls_not_offered")
            return  # opportunistic: carry on in plain text
        with self._step("starttls") as step:
            self._set_timeout()
            code, reply = client.docmd("STARTTLS")
            step.reply = self._reply(code, reply)
            if code != 220:
                if self.dest.security == "starttls":
                    step.fail("starttls_refused", reply_code=code, reply_text=reply)
                step.ok = False  # opportunistic: recorded, then carry on in plain text
                return
            if self._plain_text_waiting():
                # Bytes after the 220 were sent before encryption: a man in the
                # middle planting answers for after the handshake (the STARTTLS
                # injection attacks). Discarding them would do; stopping says so.
                step.fail("starttls_injection")
        with self._step("tls") as step:
            context = tls.tls_context(verify=self.dest.verify_tls, cafile=self.cafile)
            self.sock = context.wrap_socket(client.sock, server_hostname=self.dest.host,
                                            do_handshake_on_connect=False)
            # smtplib's reader belongs to the plain socket; whatever the server
            # sent before TLS is discarded with it (RFC 3207 §4.2).
            client.sock, client.file = self.sock, None
            self._set_timeout()
            try:
                self.sock.do_handshake()
            except ssl.SSLCertVerificationError as exc:
                self._fail_certificate(step, exc)
            self.encrypted = True
            step.detail = tls.tls_detail(self.sock, self.dest.verify_tls)
            client.helo_resp = client.ehlo_resp = None
            client.esmtp_features = {}
            client.does_esmtp = False
        self._ehlo()

    def _plain_text_waiting(self) -> bool:
        """Whether the server sent anything after its reply to STARTTLS."""
        reader, sock = self.client.file, self.client.sock
        if reader is None:
            return False
        timeout = sock.gettimeout()
        sock.settimeout(0)  # look without waiting: peek reads only what has arrived
        try:
            return bool(reader.peek(1))
        except (BlockingIOError, InterruptedError):
            return False
        finally:
            sock.settimeout(timeout)

    def _login(self) -> None:
        client = self.client
        with self._step("login") as step:
            if not client.has_extn("auth"):
                step.fail("auth_not_offered", facts={"encrypted": self.encrypted})
            advertised = client.esmtp_features["auth"].upper().split()
            # Over TLS the password is protected either way; in plain text,
            # CRAM-MD5 at least does not send it.
            preference = (("PLAIN", "LOGIN", "CRAM-MD5") if self.encrypted
                          else ("CRAM-MD5", "PLAIN", "LOGIN"))
            mechanism = next((name for name in preference if name in advertised), None)
            if mechanism is None:
                step.fail("auth_not_offered", facts={"encrypted": self.encrypted,
                                                     "mechanisms": advertised[:10]})
            step.detail = {"mechanism": mechanism, "username": self.dest.username}
            self._set_timeout()
            # One mechanism only: smtplib.login would retry each advertised
            # one, tripling failed logins against the account's lockout count.
            client.user, client.password = self.dest.username, self.dest.password or ""
            try:
                authenticate = getattr(client, "auth_" + mechanism.lower().replace("-", "_"))
                code, reply = client.auth(mechanism, authenticate)
            except smtplib.SMTPAuthenticationError as exc:
                code, reply = exc.smtp_code, exc.smtp_error
                step.reply = self._reply(code, reply)
                text = self.attempt.text(reply) or ""
                if "5.7.139" in text:
                    step.fail("smtp_auth_disabled", reply_code=code, reply_text=reply)
                if 400 <= code < 500:
                    step.fail("temporary_failure", reply_code=code, reply_text=reply)
                facts = {"app_password_required": True} if _APP_PASSWORD.search(text) else {}
                step.fail("login_refused", reply_code=code, reply_text=reply, facts=facts)
            finally:
                client.user = client.password = None
            step.reply = self._reply(code, reply)

    def _mail_from(self, envelope_from: str, envelope_to: list[str], data: bytes) -> None:
        client = self.client
        with self._step("sender") as step:
            step.detail = {"address": envelope_from}
            if self.max_size and len(data) > self.max_size:
                step.fail("message_too_large", facts={"max_size": self.max_size, "size": len(data)})
            options = []
            if client.has_extn("size"):
                options.append(f"SIZE={len(data)}")
            if not all(address.isascii() for address in [envelope_from, *envelope_to]):
                if not client.has_extn("smtputf8"):
                    step.fail("sender_refused", facts={"smtputf8_required": True})
                options.append("SMTPUTF8")
            if not data.isascii() and client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            self._set_timeout()
            code, reply = client.mail(envelope_from, options)
            step.reply = self._reply(code, reply)
            if code == 250:
                return
            text = self.attempt.text(reply) or ""
            self._fail_common(step, code, reply)
            if code == 530 or _AUTH_REQUIRED.search(text):
                step.fail("auth_required", reply_code=code, reply_text=reply)
            if code == 552 or "5.3.4" in text:
                step.fail("message_too_large", reply_code=code, reply_text=reply,
                          facts=self._size_facts(data))
            step.fail("sender_refused", reply_code=code, reply_text=reply)

    def _rcpt_to(self, recipient: str) -> None:
        with self._step("recipient") as step:
            step.detail = {"address": recipient}
            self._set_timeout()
            code, reply = self.client.rcpt(recipient)
            step.reply = self._reply(code, reply)
            if code in (250, 251):
                return
            text = self.attempt.text(reply) or ""
            facts = {"address": recipient}
            self._fail_common(step, code, reply, facts)
            if re.search(r"\brelay", text, re.IGNORECASE):
                step.fail("relay_denied", reply_code=code, reply_text=reply, facts=facts)
            if code == 530 or _AUTH_REQUIRED.search(text):
                step.fail("auth_required", reply_code=code, reply_text=reply, facts=facts)
            step.fail("recipient_refused", reply_code=code, reply_text=reply, facts=facts)

    def _data(self, data: bytes) -> None:
        with self._step("message") as step:
            step.detail = {"queue_id": None, "size": len(data)}
            self._set_timeout()
            try:
                code, reply = self.client.data(data)
            except smtplib.SMTPDataError as exc:  # refused the DATA command itself
                code, reply = exc.smtp_code, exc.smtp_error
            step.reply = self._reply(code, reply)
            if code != 250:
                text = self.attempt.text(reply) or ""
                self._fail_common(step, code, reply)
                if code == 552 or "5.3.4" in text:
                    step.fail("message_too_large", reply_code=code, reply_text=reply,
                              facts=self._size_facts(data))
                step.fail("message_refused", reply_code=code, reply_text=reply)
            step.detail["queue_id"] = parse_queue_id(reply)

    def _quit(self) -> None:
        """Say goodbye politely; the message is accepted whatever happens now."""
        try:
            self.sock.settimeout(max(0.01, min(1.0, self.attempt.remaining())))
            self.client.quit()
        except Exception:  # the delivery already succeeded
            pass

    def _close(self) -> None:
        try:
            if self.client is not None:
                self.client.close()
            if self.sock is not None:
                self.sock.close()
        finally:
            self.attempt.close()

    # --- diagnosis helpers --------------------------------------------------

    def _fail_common(self, step: StepRecord, code: int, reply, facts: dict | None = None) -> None:
        """Replies that mean the same at every step after the greeting."""
        if code == -1:
            step.fail("not_smtp", reply_text=reply)
        if 400 <= code < 500:
            step.fail("temporary_failure", reply_code=code, reply_text=reply, facts=facts)

    def _size_facts(self, data: bytes) -> dict:
        facts = {"size": len(data)}
        if self.max_size:
            facts["max_size"] = self.max_size
        return facts

    def _diagnose(self, step: str, exc: BaseException) -> Diagnosis | None:
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return self.attempt.diagnosis("connection_dropped", step)
        if isinstance(exc, smtplib.SMTPResponseException):
            code, reply = exc.smtp_code, exc.smtp_error
            if 400 <= code < 500:
                return self.attempt.diagnosis("temporary_failure", step, code, reply)
            return self.attempt.diagnosis("not_smtp", step, code, reply)
        return None

    def _fail_certificate(self, step: StepRecord, exc: ssl.SSLCertVerificationError) -> None:
        code, facts = tls.tls_error_diagnosis(exc)
        if code == "certificate_wrong_host":
            prepare = None if self.dest.security == "tls" else self._prepare_starttls
            der = certificates.fetch_certificate(self.attempt, self.address, self.dest.host, prepare)
            names = certificates.certificate_names(der)
            if names:
                facts["cert_names"] = names
        step.fail(code, facts=facts)

    # --- second looks, to tell the user what the server really speaks -------

    def _plain_banner(self) -> str | None:
        """A fresh connection's first line, if it is an SMTP greeting."""
        if self.attempt.expired():
            return None
        try:
            # A plain SMTP server greets at once; do not spend the whole
            # deadline waiting on one that does not.
            wait = min(PLAIN_BANNER_WAIT_S, self.attempt.timeout(0.5))
            with self.attempt.probe_socket(self.address, wait) as sock:
                line = b""
                while b"\n" not in line and len(line) < 1024:
                    chunk = sock.recv(1024)
                    if not chunk:
                        break
                    line += chunk
        except OSError:
            return None
        first = line.split(b"\n", 1)[0]
        return first.decode("utf-8", "replace") if re.match(rb"^220[ -]", first) else None

    def _speaks_implicit_tls(self) -> bool:
        """Does a fresh connection complete a TLS handshake right away? Then
        the server waits for TLS from the first byte (port 465 style)."""
        try:
            with self.attempt.probe_socket(self.address) as sock, tls.probe_context().wrap_socket(
                    sock, server_hostname=self.dest.host, do_handshake_on_connect=False) as tls_sock:
                tls_sock.settimeout(self.attempt.timeout())
                tls_sock.do_handshake()
                return True
        except OSError:
            return False

    def _prepare_starttls(self, sock: socket.socket) -> None:
        """Bring a fresh plain connection up to the point of the TLS handshake."""
        client = _SmtpClient(sock, host=self.dest.host, local_hostname=self.client.local_hostname)
        sock.settimeout(self.attempt.timeout())
        code, _ = client.connect(self.dest.host, self.dest.port)
        if code != 220 or client.ehlo()[0] != 250 or client.docmd("STARTTLS")[0] != 220:
            raise OSError("STARTTLS not reached")


def _advertised_size(value: str | None) -> int | None:
    """The SIZE limit from EHLO; 0 or missing means no stated limit."""
    if value and value.strip().isdigit():
        return int(value.strip()) or None
    return None
