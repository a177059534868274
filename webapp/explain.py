"""What a delivery result means, in the page's language.

`mail` reports steps and diagnosis codes with facts, `diagnoses` holds the
texts for them; this module picks the texts that fit a result and fills them
in: field names with the fields' labels (see fields.fill), facts with the
diagnosis's facts.
"""
from dataclasses import dataclass, field

from flask_babel import format_decimal

from .certificate_texts import (TRUST_BUTTON, CertificateSection, certificate_section,
                                expiry_warning)
from .diagnoses import (EXPLANATIONS, PROVIDER_STEPS, STEP_DETAIL, STEP_TITLES,
                        TROUBLESHOOTING, Explanation, ProviderSteps)
from .fields import fill
from .mail.providers import Provider, provider_named
from .mail.result import DeliveryResult, Diagnosis, Step
from .model import MailSettings
from .diagnoses import OAUTH_PROVIDER_NAMES, SIGN_IN_AGAIN, SIGN_IN_BUTTONS

# The facts a failure's texts can use besides the diagnosis's own.
DERIVED_FACTS = ("host", "port", "status", "seconds", "names", "trust_button", "oauth_provider",
                 "sign_in_button")


def diagnosis_title(code: str | None) -> str:
    """A diagnosis in a few words, for the send history."""
    if not code:
        return ""
    # The history keeps codes of earlier versions, which may since have gone.
    return str(EXPLANATIONS.get(code, EXPLANATIONS["internal_error"]).title)


def explanation_for(diagnosis: Diagnosis) -> Explanation:
    """The code's explanation, or the variant that the diagnosis's facts call for."""
    explanation = EXPLANATIONS[diagnosis.code]
    return next((variant for fact, variant in explanation.variants.items()
                 if diagnosis.facts.get(fact)), explanation)


def provider_steps(provider: Provider | None) -> ProviderSteps | None:
    """The provider's sign-in steps, if Sendwell has written some."""
    if provider is None or provider.steps_key is None:
        return None
    return PROVIDER_STEPS[provider.steps_key]


def failure_facts(diagnosis: Diagnosis, *, host: str, port: int) -> dict[str, str | int | float]:
    """What a failure's texts may name: the diagnosis's facts and DERIVED_FACTS."""
    facts: dict[str, str | int | float] = {
        "host": host, "port": port, "status": diagnosis.reply_code or "",
        "trust_button": str(TRUST_BUTTON)}
    if "deadline_s" in diagnosis.facts:
        facts["seconds"] = format_decimal(diagnosis.facts["deadline_s"])
    # Lists and other structured facts are for templates, not for sentences.
    facts.update({name: value for name, value in diagnosis.facts.items()
                  if isinstance(value, (str, int, float))})
    if diagnosis.facts.get("cert_names"):
        facts["names"] = ", ".join(diagnosis.facts["cert_names"])
    oauth = diagnosis.facts.get("oauth")
    if oauth in OAUTH_PROVIDER_NAMES:
        facts["oauth_provider"] = OAUTH_PROVIDER_NAMES[oauth]
        facts["sign_in_button"] = str(SIGN_IN_BUTTONS[oauth])
    return facts


@dataclass
class ExplainedStep:
    name: str
    title: str
    ok: bool
    detail: str
    milliseconds: str
    reply: str | None


@dataclass
class ExplainedFailure:
    step_title: str
    title: str
    meaning: str
    advice: str
    reply: str | None
    provider_steps: list[str]
    provider_intro: str | None
    troubleshooting: list[str]
    # A new sign-in mends it: the label of the button that starts one.
    sign_in_button: str | None = None


@dataclass
class Report:
    """What the result fragment shows: the outcome of a test or a send."""
    invalid: bool = False
    result: DeliveryResult | None = None
    steps: list[ExplainedStep] = field(default_factory=list)
    failure: ExplainedFailure | None = None
    success_text: str = ""
    certificate: CertificateSection | None = None  # a failure on the certificate: what it says
    warnings: list[str] = field(default_factory=list)  # in a passing result


def report(result: DeliveryResult, settings: MailSettings, *, success_text: str) -> Report:
    host, port = settings.server
    return Report(
        result=result,
        steps=explain_steps(result),
        failure=explain_failure(result, protocol=settings.protocol, host=host, port=port),
        success_text=success_text,
        certificate=certificate_section(result.diagnosis, protocol=settings.protocol),
        warnings=[warning for warning in [expiry_warning(result)] if warning],
    )


def step_detail(step: Step) -> str:
    describe = STEP_DETAIL.get(step.name)
    return describe(step.detail or {}, step.ok) if describe else ""


def explain_steps(result: DeliveryResult) -> list[ExplainedStep]:
    return [ExplainedStep(
        name=step.name,
        title=str(STEP_TITLES.get(step.name, step.name)),
        ok=step.ok,
        detail=step_detail(step),
        milliseconds=format_decimal(round(step.elapsed_ms)),
        reply=step.reply,
    ) for step in result.steps]


def explain_failure(result: DeliveryResult, *, protocol: str, host: str,
                    port: int) -> ExplainedFailure | None:
    diagnosis = result.diagnosis
    if diagnosis is None:
        return None
    explanation = explanation_for(diagnosis)
    over_http = protocol == "HTTP"
    advice = explanation.advice
    if over_http and explanation.http_advice is not None:
        advice = explanation.http_advice
    facts = failure_facts(diagnosis, host=host, port=port)
    sign_in = None
    if explanation.provider_steps:
        steps = provider_steps(provider_named(diagnosis.facts.get("provider")))
        # Only steps written to follow a refused sign-in (with an intro) go here.
        if steps is not None and steps.intro is not None:
            sign_in = steps
    reply = None
    if diagnosis.reply_text or diagnosis.reply_code:
        reply = " ".join(str(part) for part in (diagnosis.reply_code, diagnosis.reply_text) if part)
    return ExplainedFailure(
        step_title=str(STEP_TITLES.get(diagnosis.step, diagnosis.step)),
        title=fill(explanation.title, **facts),
        meaning=fill(explanation.meaning, **facts),
        advice=fill(advice, **facts),
        reply=reply,
        provider_steps=[fill(text) for text in sign_in.steps] if sign_in else [],
        provider_intro=fill(sign_in.intro) if sign_in and sign_in.intro else None,
        troubleshooting=([fill(text) for text in TROUBLESHOOTING]
                         if explanation.troubleshooting and not over_http else []),
        sign_in_button=(facts.get("sign_in_button") or None) if diagnosis.code in SIGN_IN_AGAIN else None,
    )
