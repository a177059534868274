"""What the result fragment says: every diagnosis code has its texts, in every
language, and they fill in from field labels and the facts the mail layer reports."""
import re
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext as _

from helpers import WORDS_FOR_TEST, element, post, text_of
from webapp import explain
from webapp.diagnoses import (EXPLANATIONS, PROVIDER_STEPS, STEP_DETAIL, STEP_TITLES,
                              TROUBLESHOOTING)
from webapp.fields import LABELS, fill
from webapp.mail.providers import PROVIDERS
from webapp.mail.result import CODES, DeliveryResult, Diagnosis, Step

LANGS = ["en", "sl", "sw", "it", "ja", "es"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
MAIL_SOURCE = "\n".join(path.read_text(encoding="utf-8") for path in
                        sorted((Path(explain.__file__).parent / "mail").rglob("*.py")))
# Facts as the mail layer reports them, so that every placeholder has a value.
SAMPLE_FACTS = {"address": "someone@example.com", "location": "https://elsewhere.example/",
                "suggested_port": 587, "deadline_s": 15.0, "cert_names": ["other.example"],
                "status": 503}
# The value that selects a variant; True for the facts that are flags.
VARIANT_FACTS = {"provider": "Gmail", "oauth": "microsoft"}


def every_explanation():
    """(code, the fact that selects it or None, explanation), variants included."""
    for code, explanation in EXPLANATIONS.items():
        yield code, None, explanation
        for fact, variant in explanation.variants.items():
            yield code, fact, variant


def explanation_ids():
    return [f"{code}+{fact}" if fact else code for code, fact, _ in every_explanation()]


def texts_of(explanation):
    return [text for text in (explanation.title, explanation.meaning, explanation.advice,
                              explanation.http_advice) if text is not None]


def every_text():
    for _code, _fact, explanation in every_explanation():
        yield from texts_of(explanation)
    yield from TROUBLESHOOTING
    yield from STEP_TITLES.values()
    for steps in PROVIDER_STEPS.values():
        yield from steps.steps
        if steps.intro is not None:
            yield steps.intro


def failed(code, step="login", *, reply_code=None, reply_text=None, **facts):
    return DeliveryResult(ok=False, steps=[], total_ms=5, diagnosis=Diagnosis(
        code=code, step=step, reply_code=reply_code, reply_text=reply_text, facts=facts))


def explained(app, result, lang="en", protocol="SMTP"):
    with app.test_request_context(), force_locale(lang):
        return explain.explain_failure(result, protocol=protocol, host="smtp.example.com", port=587)


def test_every_diagnosis_code_has_an_explanation_and_every_explanation_a_code():
    assert sorted(EXPLANATIONS) == sorted(CODES)


def test_every_placeholder_is_a_label_a_mail_fact_or_a_derived_fact(app):
    with app.test_request_context(), force_locale("en"):
        sources = [str(text) for text in every_text()]
    unknown = set()
    for source in sources:
        for name in PLACEHOLDER.findall(source):
            supplied_by_mail = re.search(rf"""(["']){name}\1\s*[:,\]]""", MAIL_SOURCE)
            if name not in LABELS and name not in explain.DERIVED_FACTS and not supplied_by_mail:
                unknown.add(name)
    assert unknown == set()


def test_the_derived_facts_are_derived():
    diagnosis = Diagnosis("timed_out", "greeting", reply_code=421,
                          facts={"deadline_s": 15.0, "cert_names": ["a.example"], "oauth": "google"})
    facts = explain.failure_facts(diagnosis, host="smtp.example.com", port=587)
    assert set(explain.DERIVED_FACTS) <= set(facts)


@pytest.mark.parametrize("lang", LANGS[1:])
def test_every_text_is_translated(app, lang):
    with app.test_request_context():
        with force_locale("en"):
            english = [str(text) for text in every_text()]
        with force_locale(lang):
            translated = [str(text) for text in every_text()]
    untranslated = [source for source, text in zip(english, translated) if text == source]
    assert untranslated == []


@pytest.mark.parametrize("protocol", ["SMTP", "HTTP"])
@pytest.mark.parametrize("code, fact, explanation", list(every_explanation()),
                         ids=explanation_ids())
def test_every_explanation_renders_in_every_language(app, code, fact, explanation, protocol):
    facts = dict(SAMPLE_FACTS)
    if fact:
        facts[fact] = VARIANT_FACTS.get(fact, True)
    result = failed(code, **facts)
    with app.test_request_context():
        assert explain.explanation_for(result.diagnosis) is explanation
    shown = {lang: explained(app, result, lang, protocol) for lang in LANGS}
    for lang, failure in shown.items():
        for text in (failure.title, failure.meaning, failure.advice):
            assert text.strip() and "%(" not in text, (lang, text)
        if lang != "en":
            english = shown["en"]
            assert failure.title != english.title, lang
            assert failure.meaning != english.meaning, lang
            assert failure.advice != english.advice, lang


def test_a_fact_a_diagnosis_lacks_reads_as_empty(app):
    with app.test_request_context(), force_locale("en"):
        assert fill("Moved to %(location)s. Check %(http_url)s.") == "Moved to . Check HTTP server."
    # A redirect reported without its target still explains itself.
    failure = explained(app, failed("http_redirect", "response"), protocol="HTTP")
    assert failure.meaning.startswith("The server answered with a redirect to . ")


def test_the_deadline_is_the_fact_the_mail_layer_reports(app):
    for lang, seconds in [("en", "2.5"), ("es", "2,5"), ("ja", "2.5")]:
        failure = explained(app, failed("timed_out", "greeting", deadline_s=2.5), lang)
        assert seconds in failure.meaning


def test_a_silent_server_times_out_after_the_configured_deadline(
        auth_client, fault_server, fault_scripts):
    server = fault_server(fault_scripts.silent)
    html = post(auth_client, "/en/settings/test", {
        "protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": str(server.port),
        "smtp_security": "tls", "from_address": "office@example.com"}).get_data(as_text=True)
    # MAIL_DEADLINE is 3 in the tests' configuration.
    assert "so Sendwell gave up after 3 seconds." in text_of(html)


def test_gmail_login_refused_shows_the_app_password_steps(app):
    result = failed("login_refused", reply_code=535,
                    reply_text="5.7.8 Username and Password not accepted", provider="Gmail")
    failure = explained(app, result)
    assert failure.provider_intro.startswith("Gmail accepts only an app password")
    assert failure.provider_steps[0] == "Turn on 2-Step Verification in your Google Account."
    assert failure.provider_steps[-1] == "Set SMTP server to smtp.gmail.com and Port to 587 (or 465)."
    assert failure.reply == "535 5.7.8 Username and Password not accepted"


@pytest.mark.parametrize("lang", LANGS)
def test_yahoo_japan_gets_its_own_steps_not_yahoo_mails(app, lang):
    result = failed("login_refused", reply_code=535, reply_text="5.7.8 Error: authentication failed",
                    provider="Yahoo! JAPAN")
    failure = explained(app, result, lang)
    steps = " ".join(failure.provider_steps)
    assert "Yahoo! JAPAN" in failure.provider_intro and "yahoo.co.jp" in failure.provider_intro
    assert "smtp.mail.yahoo.co.jp" in steps and "465" in steps
    assert "support.yahoo-net.jp" in steps
    assert "login.yahoo.com" not in steps and "smtp.mail.yahoo.com" not in steps
    if lang == "ja":
        assert "Yahoo!メールの設定で" in steps


def test_an_intercepted_connection_to_yahoo_japan_says_not_to_skip_the_check(app):
    failure = explained(app, failed("certificate_untrusted", "tls", self_signed=True,
                                    provider="Yahoo! JAPAN"))
    assert failure.advice.startswith(
        "Do not tick Do not verify TLS certificate for Yahoo! JAPAN.")


@pytest.mark.parametrize("provider", ["Microsoft 365", "iCloud", "Some Provider", None])
def test_login_refused_elsewhere_shows_no_provider_steps(app, provider):
    failure = explained(app, failed("login_refused", provider=provider))
    assert failure.provider_steps == [] and failure.provider_intro is None
    assert failure.title == "The server refused the username or password"


@pytest.mark.parametrize("code", sorted(set(CODES) - {"certificate_untrusted", "login_refused"}))
def test_the_provider_fact_changes_nothing_where_it_does_not_apply(app, code):
    with_provider = explained(app, failed(code, **SAMPLE_FACTS, provider="Gmail"))
    without = explained(app, failed(code, **SAMPLE_FACTS))
    assert with_provider == without


def test_an_untrusted_certificate_is_explained_by_its_facts(app):
    plain = explained(app, failed("certificate_untrusted", "tls"))
    self_signed = explained(app, failed("certificate_untrusted", "tls", self_signed=True))
    provider = explained(app, failed("certificate_untrusted", "tls", self_signed=True,
                                     provider="Gmail"))
    assert plain.title == provider.title == "The server's certificate is not trusted"
    assert self_signed.title == "The server's certificate is self-signed"
    assert self_signed.meaning.endswith("really is smtp.example.com.")
    assert provider.advice.startswith("Do not tick Do not verify TLS certificate for Gmail.")
    assert provider.troubleshooting and not self_signed.troubleshooting


def test_over_http_the_advice_names_the_http_field_and_the_smtp_checklist_is_left_out(app):
    smtp = explained(app, failed("timed_out", "connect", deadline_s=3.0))
    http = explained(app, failed("timed_out", "connect", deadline_s=3.0), protocol="HTTP")
    assert smtp.meaning == http.meaning
    assert "HTTP server" in http.advice and "SMTP server" in smtp.advice
    assert smtp.troubleshooting[0] == "Check SMTP server, Port, Username and Password once more."
    assert http.troubleshooting == []
    # Without an HTTP advice of its own, the explanation's advice stands.
    status = explained(app, failed("http_status", "response", status=401), protocol="HTTP")
    assert status.advice.startswith("Status 401 or 403 usually means wrong credentials in HTTP server")


def test_every_step_the_mail_layer_records_has_a_title_and_details_only_titled_steps():
    recorded = set(re.findall(r"""step\(\s*["']([a-z_]+)["']""", MAIL_SOURCE))
    assert recorded and recorded <= set(STEP_TITLES)
    assert set(STEP_DETAIL) <= set(STEP_TITLES)


@pytest.mark.parametrize("step, detail", [
    (Step("resolve", True, 1.0, {"addresses": ["192.0.2.1", "2001:db8::1"]}),
     "192.0.2.1, 2001:db8::1"),
    (Step("connect", True, 1.0, {"address": "192.0.2.1", "port": 587}), "192.0.2.1, port 587"),
    (Step("tls", True, 1.0, {"version": "TLSv1.3", "verified": False}),
     "TLSv1.3, certificate not checked"),
    (Step("tls", True, 1.0, {"version": "TLSv1.3", "verified": True}),
     "TLSv1.3, certificate checked"),
    (Step("message", True, 1.0, {"queue_id": "Q1"}), "accepted, queue ID Q1"),
    (Step("message", True, 1.0, {}), "accepted"),
    (Step("message", False, 1.0, {}), ""),
    (Step("response", False, 1.0, {"status": 502}), "HTTP status 502"),
    (Step("greeting", True, 1.0, {}), ""),
])
def test_step_details(app, step, detail):
    with app.test_request_context(), force_locale("en"):
        assert explain.step_detail(step) == detail


def test_every_provider_with_steps_has_them_and_no_steps_are_orphaned():
    keys = [provider.steps_key for provider in PROVIDERS if provider.steps_key]
    assert sorted(keys) == sorted(PROVIDER_STEPS)
    # A provider that wants an app password explains it under a refused sign-in,
    # which needs the steps' lead-in.
    assert all(PROVIDER_STEPS[provider.steps_key].intro for provider in PROVIDERS
               if provider.steps_key and provider.login == "app_password")


def texts_a_failure_shows():
    """Every text of the result fragment after a failure: the explanations (variants
    included), the checklist, and the provider steps a refused sign-in shows."""
    for _code, _fact, explanation in every_explanation():
        yield from texts_of(explanation)
    yield from TROUBLESHOOTING
    yield from STEP_TITLES.values()
    for steps in PROVIDER_STEPS.values():
        if steps.intro is not None:
            yield steps.intro
            yield from steps.steps


@pytest.mark.parametrize("lang", LANGS)
def test_no_failure_text_calls_the_attempt_a_test(app, lang):
    """The same texts explain a failed test and a failed document send."""
    with app.test_request_context(), force_locale(lang):
        texts = [fill(text) for text in texts_a_failure_shows()]
        texts.append(str(_("Failed at this step: %(step)s", step="")))
    found = [text for text in texts if re.search(WORDS_FOR_TEST[lang], text, re.IGNORECASE)]
    assert found == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_guide_shows_the_steps_a_refused_sign_in_shows(app, client, lang):
    html = client.get(f"/{lang}/guide").get_data(as_text=True)
    for provider, section in [("Gmail", "gmail"), ("Yahoo Mail", "yahoo"),
                              ("Yahoo! JAPAN", "yahoo-japan")]:
        failure = explained(app, failed("login_refused", provider=provider), lang)
        shown = element(html, "section", id=section).text
        assert failure.provider_intro in shown, (lang, provider)
        assert all(step in shown for step in failure.provider_steps), (lang, provider)
