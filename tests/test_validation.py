"""Checks of what users type, as plain Python."""
import pytest

from webapp import validation
from webapp.mail import web
from webapp.mail.http import HttpDestination
from webapp.validation import Invalid


def code_of(check, value):
    with pytest.raises(Invalid) as caught:
        check(value)
    return caught.value.code


@pytest.mark.parametrize("value, expected", [
    ("smtp.example.com", "smtp.example.com"),
    ("  SMTP.Example.COM. ", "smtp.example.com"),
    ("pošta.example.si", "xn--pota-h6a.example.si"),
    ("メール.example.jp", "xn--4dkua4c.example.jp"),
    ("192.0.2.10", "192.0.2.10"),
    ("2001:db8::25", "2001:db8::25"),
    ("[2001:db8::25]", "2001:db8::25"),
    ("localhost", "localhost"),
])
def test_host_accepts_names_idn_and_literals(value, expected):
    assert validation.host(value) == expected


@pytest.mark.parametrize("value, code", [
    ("", "required"),
    ("smtp.example.com:587", "host_has_port"),
    ("smtp://smtp.example.com", "host_has_scheme"),
    ("bad host.com", "host_invalid"),
    ("-bad.example.com", "host_invalid"),
    ("a..b", "host_invalid"),
    ("300.1.1.1", "host_invalid"),
    ("smtp.example.com\r\nRCPT TO:<x@y>", "header_unsafe"),
    ("x" * 64 + ".com", "host_invalid"),
])
def test_host_refuses(value, code):
    assert code_of(validation.host, value) == code


@pytest.mark.parametrize("value", ["1", "25", "465", "587", "2525", "65535"])
def test_port_accepts(value):
    assert validation.port(value) == int(value)


@pytest.mark.parametrize("value, code", [
    ("", "required"), ("0", "port_invalid"), ("65536", "port_invalid"),
    ("-1", "port_invalid"), ("58 7", "port_invalid"), ("abc", "port_invalid"),
])
def test_port_refuses(value, code):
    assert code_of(validation.port, value) == code


@pytest.mark.parametrize("value, expected", [
    ("name@example.com", "name@example.com"),
    (" name@example.com ", "name@example.com"),
    ("joze@pošta.si", "joze@pošta.si"),
    # A business's own mail server on a private name.
    ("office@firma.local", "office@firma.local"),
    ("office@Firma.LOCAL", "office@firma.local"),
    ("office@firma.lan", "office@firma.lan"),
    ("office@mail.firma.internal", "office@mail.firma.internal"),
    ("office@nas.home.arpa", "office@nas.home.arpa"),
    ("office@firma.corp", "office@firma.corp"),
    ("office@intranet.example", "office@intranet.example"),
])
def test_address_accepts_one_address(value, expected):
    assert validation.address(value) == expected


@pytest.mark.parametrize("value, code", [
    ("", "required"),
    ("name", "address_no_at"),
    ("name.example.com", "address_no_at"),
    ("name @example.com", "address_space"),
    ("first last@example.com", "address_space"),
    ("a@b@example.com", "address_two_at"),
    ("a@@example.com", "address_two_at"),
    ("@example.com", "address_local_empty"),
    ("x" * 65 + "@example.com", "address_local_too_long"),
    ("a.@example.com", "address_local_invalid"),
    ("a..b@example.com", "address_local_invalid"),
    ('"a"@example.com', "address_local_invalid"),
    ("name@", "address_domain"),
    ("name@firma", "address_domain"),  # a single label is not a mail domain
    ("name@localhost", "address_domain"),
    ("name@example.invalid", "address_domain"),
    ("name@example.onion", "address_domain"),
    ("name@192.168.1.10", "address_domain"),
    ("name@[192.168.1.10]", "address_domain"),
    ("name@-firma.com", "address_domain"),
    ("name@firma..com", "address_domain"),
    ("name@firma_net.com", "address_domain"),
    ("a@" + "x" * 250 + ".com", "too_long"),
    ("Name <a@example.com>", "address_with_name"),
    ("<a@example.com>", "address_with_name"),
    ("a@example.com, b@example.com", "address_multiple"),
    ("a@example.com;b@example.com", "address_multiple"),
    ("a@example.com b@example.com", "address_multiple"),
    ("a@example.com>\r\nBcc: victim@example.com", "header_unsafe"),
    ("a@example.com\nRCPT TO:<b@example.com>", "header_unsafe"),
    ("a@example.com\x00", "header_unsafe"),
    ("a@example.com\u2028b@example.com", "header_unsafe"),
    ("a@example.com> RCPT TO:<b@example.com", "address_multiple"),
    # What the message builder refuses (issue 12, item 7).
    ("ñ@example.com", "address_not_ascii"),
    ("jože@pošta.si", "address_not_ascii"),
    ("=?utf-8?b?w7E=?=@example.com", "address_local_invalid"),
    ("=?utf-8?q?a=0Db?=@example.com", "address_local_invalid"),
])
def test_address_refuses(value, code):
    assert code_of(validation.address, value) == code


@pytest.mark.parametrize("value, url, credentials", [
    ("https://mail.example.com/send", "https://mail.example.com/send", ""),
    ("https://api:s3cret@mail.example.com/v1/send?x=1", "https://mail.example.com/v1/send?x=1", "api:s3cret"),
    ("https://MAIL.example.com", "https://mail.example.com/", ""),
    ("http://127.0.0.1:8025/send", "http://127.0.0.1:8025/send", ""),
    ("http://localhost:8025/send", "http://localhost:8025/send", ""),
    ("http://[::1]:8025/send", "http://[::1]:8025/send", ""),
])
def test_http_url_accepts_and_splits_credentials(value, url, credentials):
    assert validation.http_url(value) == (url, credentials)


@pytest.mark.parametrize("value, code", [
    ("", "required"),
    ("mail.example.com/send", "url_invalid"),
    ("ftp://mail.example.com/", "url_invalid"),
    ("http://mail.example.com/send", "url_not_https"),
    ("http://10.0.0.5/send", "url_not_https"),
    ("https://", "url_invalid"),
    ("https://mail.example.com:99999/", "url_invalid"),
    ("https://mail.example.com/\r\nX: y", "header_unsafe"),
    ("https://mail.example.com/a b", "url_invalid"),
])
def test_http_url_refuses(value, code):
    assert code_of(validation.http_url, value) == code


@pytest.mark.parametrize("value, code", [
    ("pa\r\nss", "header_unsafe"), ("pa\x00ss", "header_unsafe"), ("x" * 1025, "too_long"),
])
def test_password_refuses_what_would_end_a_command(value, code):
    assert code_of(validation.password, value) == code


def test_password_keeps_everything_else():
    assert validation.password(" pä ss Ω\t ") == " pä ss Ω\t "


def test_http_url_refuses_a_host_the_sender_could_not_encode():
    assert code_of(validation.http_url, "https://☃.example/send") == "url_invalid"


@pytest.mark.parametrize("value", [
    "https://bücher.example/send", "http://LOCALHOST:8025/x",
    "https://user:pa%C3%9F:w@example.com:443/a?b=c",
])
def test_the_saved_url_and_secret_go_where_the_typed_url_points(value):
    url, secret = validation.http_url(value)
    assert web.parse_url(url).request_url == web.parse_url(value).request_url
    assert HttpDestination.from_secret(url, secret) == HttpDestination.from_url(value)


@pytest.mark.parametrize("url, kept, secret", [
    ("https://u:p@mail.example.com/send?api_key=Q1&region=eu", "https://mail.example.com/send?region=eu",
     "u:p?api_key=Q1"),
    ("https://mail.example.com/send?token=T&sig=S&X-Amz-Signature=A&apiKey=K&design=d",
     "https://mail.example.com/send?design=d", "?token=T&sig=S&X-Amz-Signature=A&apiKey=K"),
    ("https://mail.example.com/send?client_secret=C&password=P&page=2",
     "https://mail.example.com/send?page=2", "?client_secret=C&password=P"),
    ("https://mail.example.com/send", "https://mail.example.com/send", ""),
])
def test_http_url_keeps_credential_parameters_apart(url, kept, secret):
    assert validation.http_url(url) == (kept, secret)


@pytest.mark.parametrize("value", ["Invoice \x9b", "\x80", "a\x85b", "Rechnung \x9f 7"])
def test_header_safe_refuses_c1_controls_as_the_message_builder_does(value):
    from webapp.mail.message import build_message

    with pytest.raises(ValueError):
        build_message(from_address="a@example.com", to=["b@example.com"], subject=value, body="x")
    with pytest.raises(Invalid) as refused:
        validation.header_safe(value)
    assert refused.value.code == "header_unsafe"


def test_what_address_accepts_the_message_builder_accepts():
    from webapp.mail.message import build_message

    for value in ["name@example.com", "joze@pošta.si", "o'brien+tag@example.com", "a.b-c_d@xn--bcher-kva.example"]:
        address = validation.address(value)
        build_message(from_address=address, to=[address], reply_to=address, subject="s", body="b")


@pytest.mark.parametrize("value", ["²", "¹²", "５８７", "٥٨٧", "58７", "+587", "587.0"])
def test_port_takes_ascii_digits_only(value):
    with pytest.raises(Invalid) as refused:
        validation.port(value)
    assert refused.value.code == "port_invalid"


@pytest.mark.parametrize("path", ["/en/settings/fields", "/en/settings/test", "/en/settings"])
@pytest.mark.parametrize("port", ["²", "¹²", "５８７"])
def test_a_port_in_unicode_digits_is_a_field_error(auth_client, path, port):
    from helpers import post

    response = post(auth_client, path, {"protocol": "SMTP", "smtp_host": "127.0.0.1",
                                        "smtp_port": port, "from_address": "a@example.com",
                                        "action": "update"})
    assert response.status_code in (200, 422)
