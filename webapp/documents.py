"""Email a PDF document with the saved settings, and the history of sends."""
import re
from datetime import datetime, timezone

from flask import (Blueprint, current_app, get_template_attribute, render_template, request)
from flask_babel import format_decimal
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField

from . import explain, oauth_tokens, outbox, validation
from .current import delivery_options, send_credential, store
from .fields import fill
from .forms import message as field_message
from .i18n import gettext as _, lazy_gettext as _l, ngettext
from .limits import mail_limit
from .mail.message import Unusable, safe_filename
from .storage import SendRecord

bp = Blueprint("documents", __name__, url_prefix="/<lang>/documents")

MAX_RECIPIENTS = 50
MAX_SUBJECT = 200
MAX_MESSAGE = 20000

DOCUMENT_LABELS = {
    "recipients": _l("Recipients"),
    "subject": _l("Subject"),
    "message": _l("Message"),
    "document": _l("PDF document"),
}
DOCUMENT_HELP = {
    "recipients": _l("One or more email addresses, separated by commas, semicolons or line "
                      "breaks."),
    "subject": _l("The subject line of the email. Left empty, it is the document's file name."),
    "message": _l("The text of the email, with the document attached. If you leave the "
                  "suggested text as it is, or the field empty, the email names the attached "
                  "file."),
    "document": _l("A PDF file of at most %(size)s."),
}
DOCUMENT_MESSAGES = {
    "not_pdf": _l("This file is not a PDF document. Choose a PDF file."),
    "too_large": _l("This file is larger than %(size)s. Choose a smaller file."),
    "empty_file": _l("Choose the PDF document to send."),
    "control": _l("Control characters are not allowed here."),
    "settings_unusable": _l("The sender or reply address in the saved email settings cannot be "
                            "used in an email. Correct it in the email settings and save them."),
    "secret_lost": _l("The saved password can no longer be used. Enter it again in the email "
                      "settings and save them."),
    "sign_in_lost": _l("The sign-in with Microsoft or Google is no longer stored. Sign in again in "
                       "the email settings and save them."),
}


# The Message field's suggested text. The file is chosen in the browser, so the
# page cannot name it: left as suggested (or empty), the email goes out as
# SENT_MESSAGE, which names the file.
# TRANSLATORS: Suggested text of the Message field of "Email a document"; the user
# can change it. Keep the line breaks.
PREFILLED_MESSAGE = _l("Hello,\n\nPlease find the attached document.\n\nKind regards")
# TRANSLATORS: The suggested text of the Message field as it is sent: the same
# words, with the name of the attached file (%(file)s, such as "Invoice 42.pdf").
SENT_MESSAGE = _l("Hello,\n\nPlease find attached the document %(file)s.\n\nKind regards")


def _lines(text: str) -> str:
    """Text compared as a reader sees it: browsers send CRLF, and trailing space is invisible."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def message_to_send(typed: str, filename: str) -> str:
    """The email's text: as typed, unless left as suggested or empty."""
    if not typed.strip() or _lines(typed) == _lines(str(PREFILLED_MESSAGE)):
        return fill(SENT_MESSAGE, file=filename)
    return typed


def document_message(code: str, **facts) -> str:
    if code == "too_many":
        return ngettext("Enter at most %(num)d address.", "Enter at most %(num)d addresses.",
                        facts["max"])
    if code in DOCUMENT_MESSAGES:
        return fill(DOCUMENT_MESSAGES[code], **facts)
    return field_message(code, **facts)


def max_pdf_bytes() -> int:
    return int(current_app.config["MAX_PDF_BYTES"])


def too_large_text() -> str:
    return document_message("too_large", size=file_size(max_pdf_bytes()))


def file_size(size: int) -> str:
    megabytes = size / (1024 * 1024)
    if megabytes >= 1:
        return _("%(size)s MB", size=format_decimal(megabytes, format="#,##0.#"))
    return _("%(size)s KB", size=format_decimal(max(1, round(size / 1024)), format="#,##0"))


class DocumentForm(FlaskForm):
    recipients = TextAreaField(DOCUMENT_LABELS["recipients"])
    subject = StringField(DOCUMENT_LABELS["subject"])
    message = TextAreaField(DOCUMENT_LABELS["message"], default=lambda: str(PREFILLED_MESSAGE))
    document = FileField(DOCUMENT_LABELS["document"])

    # Filled by validate().
    recipient_list: list[str]
    pdf: bytes
    filename: str

    def add_error(self, field, code: str, about: str = "", **facts) -> None:
        """The message for `code` under `field`; `about`: the part of the input it concerns."""
        text = document_message(code, **facts)
        field.errors.append(f"{about}: {text}" if about else text)

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        self.recipient_list = []
        raw = [part.strip() for part in re.split(r"[,;\n]+", self.recipients.data or "")]
        raw = [part for part in raw if part]
        if not raw:
            self.add_error(self.recipients, "required")
        elif len(raw) > MAX_RECIPIENTS:
            self.add_error(self.recipients, "too_many", max=MAX_RECIPIENTS)
        for part in raw:
            try:
                address = validation.address(part)
            except validation.Invalid as invalid:
                self.add_error(self.recipients, invalid.code, about=part, **invalid.facts)
                continue
            if address not in self.recipient_list:
                self.recipient_list.append(address)

        subject = (self.subject.data or "").strip()
        if subject:
            try:
                validation.header_safe(subject, MAX_SUBJECT)
            except validation.Invalid as invalid:
                self.add_error(self.subject, invalid.code, **invalid.facts)
        self.subject.data = subject

        body = self.message.data or ""  # empty is fine: see message_to_send
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", body):
            self.add_error(self.message, "control")
        elif len(body) > MAX_MESSAGE:
            self.add_error(self.message, "too_long", max=MAX_MESSAGE)

        self.pdf, self.filename = b"", ""
        upload = self.document.data
        limit = max_pdf_bytes()
        if upload is None or not getattr(upload, "filename", ""):
            self.add_error(self.document, "empty_file")
        else:
            data = upload.read(limit + 1)
            if len(data) > limit:
                self.add_error(self.document, "too_large", size=file_size(limit))
            elif not looks_like_pdf(data):
                self.add_error(self.document, "not_pdf")
            else:
                self.pdf = data
                name = safe_filename(upload.filename, fallback="document.pdf")
                self.filename = name if name.lower().endswith(".pdf") else f"{name}.pdf"
        # An empty subject is the file's name (app.js fills it in as the file is chosen).
        if not self.subject.data:
            if self.filename:
                self.subject.data = default_subject(self.filename)
            else:
                self.add_error(self.subject, "required")
        return not self.errors


def default_subject(filename: str) -> str:
    """The subject an email gets from its document's file name: the name without .pdf."""
    stem = filename[:-4] if filename.lower().endswith(".pdf") else filename
    return stem[:MAX_SUBJECT] or filename


def looks_like_pdf(data: bytes) -> bool:
    """A PDF by its content: the %PDF- header near the start and %%EOF near the end."""
    return b"%PDF-" in data[:1024] and b"%%EOF" in data[-2048:]


RECENT_SENDS = 10


def page_context(form, report=None):
    saved = store().saved()
    return {
        "form": form,
        "saved": saved,
        "report": report,
        "sends": store().sends(limit=RECENT_SENDS),
    }


@bp.get("")
def page():
    return render_template("documents/page.html", **page_context(DocumentForm()))


def send_document(form: DocumentForm):
    """Validate, send with the saved settings, record the outcome. Returns the report."""
    saved = store().saved()
    if not form.validate():
        return explain.Report(invalid=True)
    settings = saved.settings
    secret = store().secret_for(settings.destination)
    if settings.credential_kind == "password" and not secret:
        form.add_error(form.document, "secret_lost")
        return explain.Report(invalid=True)
    if settings.credential_kind == "oauth":
        secret = oauth_tokens.credential_for(store(), settings, "")
        if secret is None:
            form.add_error(form.document, "sign_in_lost")
            return explain.Report(invalid=True)
    try:
        message = outbox.compose(settings, to=form.recipient_list, subject=form.subject.data,
                                 body=message_to_send(form.message.data or "", form.filename),
                                 attachments=[(form.filename, form.pdf, "application/pdf")])
    except Unusable as refused:
        # Settings saved by an earlier version may hold what the builder refuses.
        field = {"to": form.recipients, "subject": form.subject}.get(refused.part)
        if field is not None:
            form.add_error(field, "not_sendable")
        else:
            form.add_error(form.document, "settings_unusable")
        return explain.Report(invalid=True)
    options = delivery_options()
    result = outbox.send(settings, send_credential(settings, secret), message,
                         to=form.recipient_list, options=options)
    diagnosis = result.diagnosis
    store().record_send(SendRecord(
        at=datetime.now(timezone.utc), recipients=form.recipient_list,
        subject=form.subject.data, filename=form.filename, size=len(form.pdf),
        protocol=settings.protocol, ok=result.ok,
        diagnosis=diagnosis.code if diagnosis else None,
        reply=diagnosis.reply_text if diagnosis else None))
    sent_to = ", ".join(form.recipient_list)
    return explain.report(
        result, settings,
        success_text=_("%(file)s was sent to %(recipients)s.", file=form.filename,
                       recipients=sent_to))


@bp.post("")
@mail_limit
def send():
    form = DocumentForm()
    if store().saved() is None:
        return render_template("documents/page.html", **page_context(form)), 409
    report = send_document(form)
    sent = bool(report.result and report.result.ok)
    if sent:
        # What identifies this send goes, so one more press cannot send it again.
        form.subject.data = ""
    if request.headers.get("HX-Request"):
        outcome = get_template_attribute("macros/result.html", "outcome")
        parts = get_template_attribute("documents/_parts.html", "parts")
        # Refused input is summed up at the top of the form (parts), not here.
        result = "" if report.invalid else outcome(report, level=2)
        return result + parts(form, store().sends(limit=RECENT_SENDS), sent=sent)
    code = 422 if report.invalid else 200
    return render_template("documents/page.html", **page_context(form, report)), code


@bp.get("/history")
def history():
    return render_template("documents/history.html", sends=store().sends())


def document_help(name: str) -> str:
    return fill(DOCUMENT_HELP[name], size=file_size(max_pdf_bytes()))


@bp.record_once
def register_template_helpers(state):
    # Globals: the send fragment renders imported macros (documents/_parts.html).
    state.app.jinja_env.globals.update({"file_size": file_size,
                                        "document_help": document_help,
                                        "diagnosis_title": explain.diagnosis_title})
