"""Email a document for everyone: refused fields marked and summed up at the top
(with and without JavaScript), a subject from the file's name, and a form that
cannot send the same document twice by one more press."""
import email
import email.policy
import io

from helpers import HX, PDF, element, elements, text_of


def save_relay(client, server):
    response = client.post("/en/settings", data={
        "csrf_token": client.csrf_token, "protocol": "SMTP", "smtp_host": "127.0.0.1",
        "smtp_port": str(server.port), "smtp_security": "opportunistic",
        "from_address": "office@example.com", "action": "update-anyway"})
    assert response.status_code == 302


def send(client, headers=HX, filename="invoice-2026-001.pdf", **fields):
    data = {"csrf_token": client.csrf_token, "recipients": "client@example.com",
            "subject": "", "message": "Hello", **fields}
    if filename is not None:
        data["document"] = (io.BytesIO(PDF), filename)
    return client.post("/en/documents", data=data, headers=headers,
                       content_type="multipart/form-data")


def test_refused_fields_are_marked_and_summed_up_without_javascript(auth_client, smtp_server):
    server = smtp_server()
    save_relay(auth_client, server)
    response = send(auth_client, headers={}, filename=None, recipients="not-an-address")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert element(html, "title").text == "Error: Email a document · Sendwell"
    for name in ("recipients", "document"):
        field = element(html, id=name)
        assert field.attrs["aria-invalid"] == "true", name
        assert f"errors-{name}" in field.attrs["aria-describedby"].split()
    heading = element(html, id="error-summary")
    assert "autofocus" in heading.attrs
    assert [a.attrs["href"] for a in elements(html, "a") if a.attrs["href"].startswith("#")] == \
        ["#recipients", "#subject", "#document"]
    assert server.received == []


def test_refused_fields_are_summed_up_at_the_top_in_place(auth_client, smtp_server):
    server = smtp_server()
    save_relay(auth_client, server)
    html = send(auth_client, filename=None).get_data(as_text=True)
    summary = element(html, id="send-errors")
    assert summary.attrs["hx-swap-oob"] == "true"
    assert summary.text.startswith("Correct the marked fields, then try again.")
    assert "autofocus" in element(html, id="error-summary").attrs
    assert element(html, id="errors-document").text == "Choose the PDF document to send."
    assert html.index('id="send-errors"') > 0 and "result-failed" not in html


def test_an_empty_subject_is_the_file_name(auth_client, smtp_server, store):
    server = smtp_server()
    save_relay(auth_client, server)
    html = send(auth_client, subject="  ").get_data(as_text=True)
    assert "invoice-2026-001.pdf was sent to client@example.com." in text_of(html)
    message = email.message_from_bytes(server.received[0].content, policy=email.policy.default)
    assert message["Subject"] == "invoice-2026-001"
    assert store.sends()[0].subject == "invoice-2026-001"


def test_after_a_send_the_subject_and_the_file_are_emptied(auth_client, smtp_server):
    server = smtp_server()
    save_relay(auth_client, server)
    html = send(auth_client, subject="Invoice 1").get_data(as_text=True)
    for name in ("subject", "document"):
        field = element(html, id=f"field-{name}")
        assert field.attrs["hx-swap-oob"] == "true", name
    assert element(html, id="subject").attrs.get("value", "") == ""
    assert element(html, id="document").attrs["type"] == "file"
    # Recipients and message stay as typed: only their messages are sent.
    assert element(html, id="recipients") is None and element(html, id="errors-recipients")
    # Without JavaScript, the page comes back the same way.
    page = send(auth_client, headers={}, subject="Invoice 2").get_data(as_text=True)
    assert element(page, id="subject").attrs.get("value", "") == ""
    assert element(page, id="recipients").text == "client@example.com"


def test_one_more_press_cannot_send_the_same_document_twice(auth_client, smtp_server, store):
    """What the browser sends after a send: the same recipients and message, no file."""
    server = smtp_server()
    save_relay(auth_client, server)
    assert "was sent to" in text_of(send(auth_client, subject="Invoice 1").get_data(as_text=True))
    again = send(auth_client, filename=None, subject="").get_data(as_text=True)
    assert element(again, id="errors-document").text == "Choose the PDF document to send."
    assert len(server.received) == 1 and len(store.sends()) == 1
