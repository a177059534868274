"""The SMTP reply table, without sockets."""
import pytest

from webapp.mail.result import CODES
from webapp.mail.smtp_replies import advertised_size, classify


@pytest.mark.parametrize("step, code, text, expected", [
    # The replies each step hopes for.
    ("greeting", 220, "ready", None),
    ("ehlo", 250, "hello", None),
    ("starttls", 220, "go ahead", None),
    ("login", 235, "ok", None),
    ("login", 503, "already authenticated", None),
    ("sender", 250, "ok", None),
    ("recipient", 251, "will forward", None),
    ("message", 250, "queued", None),
    # 4xx is temporary at every step but STARTTLS.
    ("greeting", 421, "busy", ("temporary_failure", {})),
    ("ehlo", 451, "later", ("temporary_failure", {})),
    ("login", 454, "4.7.0 try later", ("temporary_failure", {})),
    ("sender", 451, "later", ("temporary_failure", {})),
    ("recipient", 450, "mailbox busy", ("temporary_failure", {})),
    ("message", 452, "no space", ("temporary_failure", {})),
    ("starttls", 454, "TLS not available", ("starttls_refused", {})),
    # Greeting and EHLO (HELO).
    ("greeting", 554, "go away", ("greeting_refused", {})),
    ("ehlo", 550, "no", ("greeting_refused", {})),
    ("greeting", 250, "not a greeting", ("not_smtp", {})),
    ("ehlo", -1, "garbage", ("not_smtp", {})),
    # Login.
    ("login", 535, "5.7.139 SmtpClientAuthentication is disabled", ("smtp_auth_disabled", {})),
    ("login", 451, "5.7.139 checked before the 4xx rule", ("smtp_auth_disabled", {})),
    ("login", 535, "5.7.8 Username and Password not accepted", ("login_refused", {})),
    ("login", 534, "5.7.9 Application-specific password required",
     ("login_refused", {"app_password_required": True})),
    ("login", 535, "Please use an app password", ("login_refused", {"app_password_required": True})),
    # After the greeting: a line that is no reply at all.
    ("sender", -1, "garbage", ("not_smtp", {})),
    ("recipient", -1, "garbage", ("not_smtp", {})),
    ("message", -1, "garbage", ("not_smtp", {})),
    # MAIL FROM: a login first beats the size.
    ("sender", 530, "5.7.0 Authentication required", ("auth_required", {})),
    ("sender", 550, "must be authenticated", ("auth_required", {})),
    ("sender", 530, "5.3.4 too big", ("auth_required", {})),
    ("sender", 552, "too big", ("message_too_large", {})),
    ("sender", 554, "5.3.4 message size exceeds limit", ("message_too_large", {})),
    ("sender", 550, "relay not permitted", ("sender_refused", {})),
    # RCPT TO: relay beats a login first.
    ("recipient", 550, "5.7.1 Relaying denied", ("relay_denied", {})),
    ("recipient", 550, "relay requires authentication", ("relay_denied", {})),
    ("recipient", 530, "5.7.0 not now", ("auth_required", {})),
    ("recipient", 552, "mailbox full", ("recipient_refused", {})),
    ("recipient", 550, "no such user", ("recipient_refused", {})),
    # DATA.
    ("message", 552, "too big", ("message_too_large", {})),
    ("message", 554, "5.3.4 too big", ("message_too_large", {})),
    ("message", 530, "authentication required", ("message_refused", {})),
    ("message", 554, "spam", ("message_refused", {})),
    # Steps without replies.
    ("resolve", 500, "", None),
])
def test_classify(step, code, text, expected):
    assert classify(step, code, text) == expected


def test_every_classification_is_a_known_code():
    steps = ("greeting", "ehlo", "starttls", "login", "sender", "recipient", "message")
    texts = ("", "relay", "authentication required", "5.3.4", "5.7.139", "app password")
    for step in steps:
        for code in (-1, 220, 250, 421, 452, 530, 550, 552, 554):
            for text in texts:
                verdict = classify(step, code, text)
                assert verdict is None or verdict[0] in CODES


@pytest.mark.parametrize("value, size", [
    ("10485760", 10485760), (" 200 ", 200), ("0", None), ("", None), (None, None), ("big", None),
    ("²", None), ("¹²", None), ("٣٤", None), ("１２", None),
])
def test_advertised_size(value, size):
    assert advertised_size(value) == size
