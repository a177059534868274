"""Send one message over SMTP and report every step, or why it failed.

``send`` never raises for network or server trouble: it returns a
DeliveryResult whose Diagnosis names what went wrong. The password never
appears in a step, a reply, a diagnosis, a log line or an exception we raise;
the AUTH exchange is never recorded (no smtplib debug output either).

What replies mean is in smtp_replies.py, AUTH in smtp_auth.py, the TLS
handshake in tls.py, the destination in smtp_destination.py. With an OAuth
sign-in (``SmtpDestination.oauth``), the access token is got first, under the
same deadline (a "token" step when the provider must be asked), and the login
is XOAUTH2; the token is scrubbed like a password.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

from . import net, smtp_probes, smtp_replies, tls, xoauth2
from .attempt import Attempt, Stop, StepRecord
from .causes import is_timeout
from .certificates import presented_facts
from .message import message_bytes
from .result import DeliveryResult, Diagnosis, secret_encodings
from .smtp_auth import choose_mechanism
from .smtp_client import SmtpClient, default_local_hostname, excerpt
from .smtp_destination import SmtpDestination

# When we speak first in plain text, a silent server may be one that waits
# for a TLS handshake; wait this share of the time left for its greeting, so
# there is time to try TLS and say so.
GREETING_SHARE_WHEN_PLAIN = 0.6


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


class _Session:
    def __init__(self, dest: SmtpDestination, *, deadline_s: float, allow_private: bool,
                 cafile: str | None, local_hostname: str | None,
                 resolver: net.Resolver | None = None):
        self.dest = dest
        self.resolver = resolver
        self.allow_private = allow_private
        self.cafile = cafile
        self.local_hostname = local_hostname
        self.attempt: Attempt | None = None
        self.deadline_s = deadline_s
        self.sock: socket.socket | None = None
        self.address: net.Address | None = None
        self.client: SmtpClient | None = None
        self.encrypted = False
        self.max_size: int | None = None
        self.access_token: str | None = None

    # --- the conversation ---------------------------------------------------

    def run(self, data: bytes, envelope_from: str, envelope_to: list[str]) -> DeliveryResult:
        self.attempt = Attempt(self.deadline_s, host=self.dest.host,
                               secrets=secret_encodings(self.dest.password))
        try:
            if self.dest.oauth is not None:
                self.access_token = self.dest.oauth.access_token(self.attempt)
                self.attempt.add_secrets(secret_encodings(self.access_token))
            self._open()
            self._deliver(data, envelope_from, envelope_to)
            return self.attempt.finish()
        except Stop as stop:
            return self.attempt.finish(stop.diagnosis)
        finally:
            self._close()

    def _open(self) -> None:
        """Up to the server's offer on the connection the message would take
        (EHLO, again after STARTTLS), without logging in or sending any of
        the message: a probe of the settings can stop here and QUIT."""
        dest = self.dest
        addresses = net.resolve(self.attempt, dest.host, dest.port, allow_private=self.allow_private,
                                resolver=self.resolver)
        self.sock, self.address = net.connect(self.attempt, addresses, dest.port)
        if dest.security == "tls":
            self._implicit_tls()
        self._greeting()
        self._ehlo()
        if dest.security in ("starttls", "opportunistic"):
            self._starttls()

    def _deliver(self, data: bytes, envelope_from: str, envelope_to: list[str]) -> None:
        if self.dest.username:
            self._login()
        self._mail_from(envelope_from, envelope_to, data)
        for recipient in envelope_to:
            self._rcpt_to(recipient)
        self._data(data)
        self._quit()

    def _step(self, name: str):
        return self.attempt.step(name, self._diagnose)

    def _set_timeout(self, fraction: float = 1.0) -> float:
        timeout = self.attempt.timeout(fraction)
        self.sock.settimeout(timeout)
        return timeout

    def _reply(self, code: int, reply: bytes | str | None) -> str | None:
        text = self.attempt.text(reply)
        if not code or code < 0:
            return text
        return f"{code} {text}" if text else str(code)

    def _implicit_tls(self) -> None:
        with self._step("tls") as step:
            try:
                self._handshake(step)
            except (ssl.SSLError, ConnectionError) as exc:
                # A server speaking plain SMTP sends "220 ..." where we expect
                # a TLS record. Unless it answered in TLS (an alert), ask it
                # again, in plain text, to be sure.
                reason = getattr(exc, "reason", None) or ""
                if "ALERT" not in reason:
                    banner = smtp_probes.plain_banner(self.attempt, self.address)
                    if banner is not None:
                        step.fail("plain_on_tls_port", reply_code=220, reply_text=banner,
                                  facts={"suggested_port": 587})
                raise

    def _greeting(self) -> None:
        plain_first = self.dest.security != "tls"
        with self._step("greeting") as step:
            local_hostname = self.local_hostname or default_local_hostname(self.sock)
            self.client = SmtpClient(self.sock, host=self.dest.host, local_hostname=local_hostname,
                                     expired=self.attempt.expired)
            self._set_timeout(GREETING_SHARE_WHEN_PLAIN if plain_first else 1.0)
            try:
                code, reply = self.client.connect(self.dest.host, self.dest.port)
            except smtplib.SMTPServerDisconnected as exc:
                raw_lines = self.client.raw_reply_lines
                if (raw_lines and not self.attempt.expired()
                        and not smtp_replies.is_smtp_line(raw_lines[0])):
                    step.fail("not_smtp", reply_text=excerpt(raw_lines))
                if (plain_first and is_timeout(exc) and not self.attempt.expired()
                        and smtp_probes.speaks_implicit_tls(self.attempt, self.address,
                                                            self.dest.host)):
                    step.fail("tls_expected_on_connect", facts={"suggested_port": 465})
                raise
            except smtplib.SMTPResponseException:  # a line or a reply too long to be SMTP
                step.fail("not_smtp", reply_text=excerpt(self.client.raw_reply_lines))
            raw_lines = self.client.raw_reply_lines
            if not raw_lines or not all(smtp_replies.is_smtp_line(line) for line in raw_lines):
                step.fail("not_smtp", reply_text=excerpt(raw_lines))
            step.reply = self._reply(code, reply)
            step.detail = {"banner": self.attempt.text(reply)}
            self._expect(step, code, reply)

    def _ehlo(self) -> None:
        client = self.client
        with self._step("ehlo") as step:
            self._set_timeout()
            code, reply = client.ehlo()
            if code != 250:
                if smtp_replies.temporary(code):
                    self._expect(step, code, reply)
                # An old server that knows only HELO: no extensions then.
                code, reply = client.helo()
                self._expect(step, code, reply)
            self.max_size = smtp_replies.advertised_size(client.esmtp_features.get("size"))
            step.reply = self._reply(code, reply)
            step.detail = {
                "name": client.local_hostname,
                "extensions": sorted(keyword.upper() for keyword in client.esmtp_features),
            }
            if self.max_size:
                step.detail["max_size"] = self.max_size

    def _starttls(self) -> None:
        client = self.client
        # A trusted certificate is pointless on a connection without TLS.
        required = self.dest.security == "starttls" or bool(self.dest.pinned_sha256)
        if not client.has_extn("starttls"):
            if required:
                # Never fall back to plain text: the password would follow.
                with self._step("starttls") as step:
                    step.fail("starttls_not_offered")
            return  # opportunistic: carry on in plain text
        with self._step("starttls") as step:
            self._set_timeout()
            code, reply = client.docmd("STARTTLS")
            step.reply = self._reply(code, reply)
            if code != 220:
                if required:
                    self._expect(step, code, reply)
                step.ok = False  # opportunistic: recorded, then carry on in plain text
                return
            if self._plain_text_waiting():
                # Bytes after the 220 were sent before encryption: a man in the
                # middle planting answers for after the handshake (the STARTTLS
                # injection attacks). Discarding them would do; stopping says so.
                step.fail("starttls_injection")
        with self._step("tls") as step:
            self._handshake(step)
            # smtplib's reader belongs to the plain socket; whatever the server
            # sent before TLS is discarded with it (RFC 3207 §4.2).
            client.sock, client.file = self.sock, None
            client.helo_resp = client.ehlo_resp = None
            client.esmtp_features = {}
            client.does_esmtp = False
        self._ehlo()

    def _handshake(self, step: StepRecord) -> None:
        """TLS on the connection, for implicit TLS and STARTTLS alike, so the
        certificate check in tls.handshake (verified, unchecked or pinned)
        covers both."""
        dest = self.dest
        prepare = None if dest.security == "tls" else smtp_probes.up_to_starttls(
            self.attempt, dest.host, dest.port, self.client.local_hostname)
        self.sock = tls.handshake(
            self.attempt, step, self.sock, host=dest.host, verify=dest.verify_tls, cafile=self.cafile,
            pin=dest.pinned_sha256,
            second_look=lambda: presented_facts(self.attempt, self.address, dest.host, prepare))
        self.encrypted = True

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
            if not self.encrypted and not net.is_local_network_address(self.address[1][0]):
                # STARTTLS not offered, refused or stripped by someone on the
                # way: the password (or a token) would cross strangers'
                # networks readable. CRAM-MD5 too can be stripped.
                step.fail("unencrypted_login", facts={"starttls_offered": client.has_extn("starttls")})
            if not client.has_extn("auth"):
                step.fail("auth_not_offered", facts={"encrypted": self.encrypted})
            advertised = client.esmtp_features["auth"].upper().split()
            oauth = self.dest.oauth
            mechanism = choose_mechanism(advertised, encrypted=self.encrypted, oauth=oauth is not None)
            if mechanism is None:
                facts = {"encrypted": self.encrypted, "mechanisms": advertised[:10]}
                step.fail("auth_not_offered", facts={**facts, "oauth": oauth.provider} if oauth else facts)
            step.detail = {"mechanism": mechanism, "username": self.dest.username}
            self._set_timeout()
            secret = self.access_token if oauth is not None else self.dest.password
            try:
                code, reply = client.authenticate(mechanism, self.dest.username, secret)
                refused = False
            except smtplib.SMTPAuthenticationError as exc:
                code, reply, refused = exc.smtp_code, exc.smtp_error, True
            # The server's words after AUTH are the likeliest to echo the
            # password in some disguise: only the codes are kept.
            step.reply = self._reply(code, smtp_replies.enhanced_status(self.attempt.text(reply)))
            if refused:
                if oauth is not None:
                    self._token_refused(step, mechanism, code, reply)
                self._expect(step, code, reply, words_kept=False)

    def _token_refused(self, step: StepRecord, mechanism: str, code: int, reply) -> None:
        oauth = self.dest.oauth
        text = self.attempt.text(reply)
        verdict = xoauth2.auth_failure(oauth.provider, mechanism, code, text,
                                       challenge=self.client.xoauth2_challenge,
                                       account=oauth.account, username=self.dest.username)
        if verdict is not None:
            step.fail(verdict[0], reply_code=code, reply_text=smtp_replies.enhanced_status(text),
                      facts=verdict[1])

    def _mail_from(self, envelope_from: str, envelope_to: list[str], data: bytes) -> None:
        client = self.client
        with self._step("sender") as step:
            step.detail = {"address": envelope_from}
            if self.max_size and len(data) > self.max_size:
                step.fail("message_too_large", facts=self._size_facts(len(data)))
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
            self._expect(step, code, reply, size=len(data))

    def _rcpt_to(self, recipient: str) -> None:
        with self._step("recipient") as step:
            step.detail = {"address": recipient}
            self._set_timeout()
            code, reply = self.client.rcpt(recipient)
            step.reply = self._reply(code, reply)
            self._expect(step, code, reply, facts={"address": recipient})

    def _data(self, data: bytes) -> None:
        with self._step("message") as step:
            step.detail = {"queue_id": None, "size": len(data)}
            self._set_timeout()
            try:
                code, reply = self.client.data(data)
            except smtplib.SMTPDataError as exc:  # refused the DATA command itself
                code, reply = exc.smtp_code, exc.smtp_error
            step.reply = self._reply(code, reply)
            self._expect(step, code, reply, size=len(data))
            step.detail["queue_id"] = smtp_replies.parse_queue_id(reply)

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

    def _expect(self, step: StepRecord, code: int, reply, facts: dict | None = None,
                size: int | None = None, words_kept: bool = True) -> None:
        """Fail ``step`` unless the reply is one it hopes for; ``facts`` go
        with the diagnosis, ``size`` (of the message) when it is too large;
        without ``words_kept`` only the enhanced status code of the reply
        goes with it."""
        text = self.attempt.text(reply) or ""
        verdict = smtp_replies.classify(step.name, code, text)
        if verdict is None:
            return
        if not words_kept:
            reply = smtp_replies.enhanced_status(text)
        diagnosis, reply_facts = verdict
        if diagnosis == "not_smtp" and code < 0:
            # smtplib read no reply code: the words alone, no facts of the command.
            step.fail(diagnosis, reply_text=reply)
        if diagnosis == "message_too_large" and size is not None:
            facts = self._size_facts(size)
        step.fail(diagnosis, reply_code=code, reply_text=reply, facts={**(facts or {}), **reply_facts})

    def _size_facts(self, size: int) -> dict:
        facts = {"size": size}
        if self.max_size:
            facts["max_size"] = self.max_size
        return facts

    def _diagnose(self, step: str, exc: BaseException) -> Diagnosis | None:
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return self.attempt.diagnosis("connection_dropped", step)
        if isinstance(exc, smtplib.SMTPResponseException):
            code, reply = exc.smtp_code, exc.smtp_error
            diagnosis = "temporary_failure" if smtp_replies.temporary(code) else "not_smtp"
            return self.attempt.diagnosis(diagnosis, step, code, reply)
        return None
