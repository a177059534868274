"""Addresses people really use: every address field takes a business's own mail
domain (firma.local and the like), and a refused address is explained beside
its field, in the page's language, with the reason rather than only an example."""
import email
import email.policy
import io

import pytest

from helpers import HX, assert_oob_error, element, post, relay_form
from webapp import rules

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 100 + b"\n%%EOF\n"

# Internal names a small business's own mail server goes by.
PRIVATE_DOMAINS = ["firma.local", "firma.lan", "mail.firma.internal", "nas.home.arpa",
                   "firma.corp"]


def received_message(mail):
    return email.message_from_bytes(mail.content, policy=email.policy.default)


def smtp_settings(server, **extra):
    """Plain SMTP to a loopback server without sign-in; the From address is typed."""
    return relay_form(server, username="", **extra)


@pytest.mark.parametrize("domain", PRIVATE_DOMAINS)
def test_every_smtp_address_field_takes_a_private_domain(auth_client, smtp_server, store,
                                                         domain):
    server = smtp_server()
    fields = smtp_settings(
        server, from_address=f"office@{domain}",
        copy_enabled="y", copy_address=f"archive@{domain}",
        reply_to_enabled="y", reply_to_address=f"replies@{domain}")
    post(auth_client, "/en/settings/test", {**fields, "test_recipient": f"inbox@{domain}"})
    [mail] = server.received
    assert mail.mail_from == f"office@{domain}"
    assert mail.rcpt_tos == [f"inbox@{domain}", f"archive@{domain}"]
    assert received_message(mail).get_all("Reply-To") == [f"replies@{domain}"]
    # The same settings save.
    assert post(auth_client, "/en/settings", {**fields, "action": "update-anyway"}).status_code == 302
    saved = store.saved().settings
    assert (saved.from_address, saved.copy_address, saved.reply_to_address) == (
        f"office@{domain}", f"archive@{domain}", f"replies@{domain}")


@pytest.mark.parametrize("domain", PRIVATE_DOMAINS)
def test_the_http_reply_address_takes_a_private_domain(auth_client, http_server, store, domain):
    server = http_server()
    fields = {"protocol": "HTTP", "http_url": server.url("/send"),
              "http_reply_to": f"office@{domain}"}
    post(auth_client, "/en/settings/test", {**fields, "test_recipient": f"inbox@{domain}"})
    [request] = server.requests
    assert request.json()["reply_to"] == f"office@{domain}"
    assert request.json()["to"] == [f"inbox@{domain}"]
    assert post(auth_client, "/en/settings", {**fields, "action": "update-anyway"}).status_code == 302
    assert store.saved().settings.http_reply_to == f"office@{domain}"


@pytest.mark.parametrize("domain", PRIVATE_DOMAINS)
def test_documents_go_to_private_domains(auth_client, smtp_server, domain):
    server = smtp_server()
    post(auth_client, "/en/settings", {**smtp_settings(server, from_address="office@example.com"),
                                       "action": "update-anyway"})
    auth_client.post("/en/documents", headers=HX, content_type="multipart/form-data", data={
        "csrf_token": auth_client.csrf_token,
        "recipients": f"accounts@{domain}; boss@example.com", "subject": "Invoice 7",
        "message": "Attached.", "document": (io.BytesIO(PDF), "invoice-7.pdf")})
    [mail] = server.received
    assert mail.rcpt_tos == [f"accounts@{domain}", "boss@example.com"]


# Each reason for refusing an address, in a field of its own, as the user reads it
# in English, Slovenian and Japanese.
REFUSALS = [
    ("from_address", "office", {
        "en": "An email address needs an @, as in name@example.com.",
        "sl": "E-poštni naslov mora vsebovati znak @, na primer ime@example.com.",
        "ja": "メールアドレスには@が必要です（例：name@example.com）。"}),
    ("copy_address", "archive @firma.local", {
        "en": "An email address cannot contain spaces.",
        "sl": "E-poštni naslov ne sme vsebovati presledkov.",
        "ja": "メールアドレスにスペースは使用できません。"}),
    ("reply_to_address", "replies@@firma.local", {
        "en": "An email address has only one @.",
        "sl": "E-poštni naslov ima lahko samo en znak @.",
        "ja": "メールアドレスに含められる@は1つだけです。"}),
    ("test_recipient", "inbox@firma", {
        "en": "After the @ must come a mail domain with at least one dot, such as example.com "
              "or firma.local.",
        "sl": "Za znakom @ mora biti poštna domena z vsaj eno piko, na primer example.com ali "
              "firma.local.",
        "ja": "@の後には、example.comやfirma.localのように、ドット（.）を1つ以上含むメールの"
              "ドメインが必要です。"}),
    ("http_reply_to", "Office <office@firma.local>", {
        "en": "Enter the address alone, without a name or angle brackets (< >).",
        "sl": "Vnesite samo naslov, brez imena in lomljenih oklepajev (< >).",
        "ja": "名前や山かっこ（< >）を付けずに、アドレスだけを入力してください。"}),
    ("recipients", "@firma.local", {
        "en": "@firma.local: Something must come before the @, as in name@example.com.",
        "sl": "@firma.local: Pred znakom @ mora nekaj biti, na primer ime@example.com.",
        "ja": "@firma.local: @の前にも入力が必要です（例：name@example.com）。"}),
    ("from_address", "office..accounts@firma.local", {
        "en": "The part before the @ has a character an email address cannot have, or a dot at "
              "its start, at its end or twice in a row.",
        "sl": "Del pred znakom @ vsebuje znak, ki ga e-poštni naslov ne sme imeti, ali pa piko "
              "na začetku, na koncu ali dve zaporedni piki.",
        "ja": "@より前の部分に、メールアドレスに使用できない文字が含まれているか、先頭や末尾に"
              "ドットがあるか、ドットが2つ続いています。"}),
    ("copy_address", "a" * 65 + "@firma.local", {
        "en": "The part before the @ is too long: at most 64 characters.",
        "sl": "Del pred znakom @ je predolg: največ 64 znakov.",
        "ja": "@より前の部分が長すぎます。64文字以内で入力してください。"}),
    ("reply_to_address", "a@firma.local, b@firma.local", {
        "en": "Enter only one email address here.",
        "sl": "Tukaj vnesite samo en e-poštni naslov.",
        "ja": "ここにはメールアドレスを1つだけ入力してください。"}),
    ("test_recipient", "a@" + "x" * 250 + ".local", {
        "en": "This is too long: at most 254 characters.",
        "sl": "Besedilo je predolgo: največ 254 znakov.",
        "ja": "長すぎます。254文字以内で入力してください。"}),
]


def refusal_cases():
    for field, value, messages in REFUSALS:
        for lang, message in messages.items():
            yield pytest.param(field, value, lang, message, id=f"{field}-{lang}-{value[:20]}")


@pytest.mark.parametrize("field, value, lang, message", list(refusal_cases()))
def test_a_refused_address_says_why_beside_its_field(auth_client, smtp_server, store, field,
                                                     value, lang, message):
    server = smtp_server()
    if field == "recipients":
        post(auth_client, "/en/settings", {
            **smtp_settings(server, from_address="office@example.com"), "action": "update-anyway"})
        html = auth_client.post(f"/{lang}/documents", headers=HX,
                                content_type="multipart/form-data", data={
                                    "csrf_token": auth_client.csrf_token, "recipients": value,
                                    "subject": "Invoice 7", "message": "Attached.",
                                    "document": (io.BytesIO(PDF), "invoice-7.pdf")}
                                ).get_data(as_text=True)
        assert_oob_error(html, field, message)
        assert store.sends() == []
    else:
        if field == "http_reply_to":
            fields = {"protocol": "HTTP", "http_url": "https://mail.example.com/send"}
        else:
            fields = smtp_settings(server, from_address="office@firma.local",
                                   copy_enabled="y", copy_address="archive@firma.local",
                                   reply_to_enabled="y", reply_to_address="replies@firma.local")
        response = post(auth_client, f"/{lang}/settings",
                        {**fields, field: value, "action": "update"}, headers={})
        assert response.status_code == 422
        assert element(response.get_data(as_text=True), id=f"errors-{field}").text == message
        assert store.saved() is None
    assert server.received == []


@pytest.mark.parametrize("domain", PRIVATE_DOMAINS)
def test_a_username_on_a_private_domain_is_the_sending_address(domain):
    # So the form asks for no separate Email address, as for any other address.
    assert rules.slot_states({"username": f"office@{domain}"})["from_address"] is None
    assert rules.slot_states({"username": "office"})["from_address"] == ""
