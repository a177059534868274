"""What the Detect settings fragment says, in the page's language.

``webapp.detect`` reports candidates and what it tried as codes and facts;
this module holds the texts for them (tables, one catalog entry each) and
``report(detection, filled)`` picks and fills them in. Field names come from
the fields' labels (``fields.fill``), so they always match the form.
"""
from dataclasses import dataclass, field

from flask_babel import format_decimal

from .diagnoses import EXPLANATIONS
from .detect.findings import Candidate, Detection, Tried
from .fields import LABELS, SECURITY_LABELS, fill
from .i18n import lazy_gettext as _l
from .mail.providers import provider_named

# Where a chosen candidate came from, by its source.
SOURCE_TEXTS = {
    "provider_table": _l("Sendwell's list of providers: %(provider)s"),
    "dns_srv": _l("The DNS records of %(domain)s (%(record)s)"),
    "dns_mx": _l("The DNS records of %(domain)s: its email is handled by %(provider)s, whose "
                 "settings are in Sendwell's list of providers"),
    "autoconfig": _l("The settings file that %(domain)s publishes"),
}
# A probe's candidate: what the server did, by how it answered.
PROBE_ANSWERS = {
    "tls": _l("answered on port %(port)s with TLS from the first byte"),
    "starttls": _l("answered on port %(port)s with STARTTLS"),
    "plain": _l("answered on port %(port)s without encryption"),
}
# The same, in the list of what was tried (the line already names the port).
PROBE_OUTCOMES = {
    "tls": _l("answered with TLS from the first byte"),
    "starttls": _l("answered with STARTTLS"),
    "plain": _l("answered without encryption"),
}
TRIED_PREFIX = _l("Tried: %(answer)s")
ADDRESS_ITSELF = _l("Your email address")
USERNAME_UNKNOWN = _l("Not filled in: ask your email provider which username to use.")

# What each line of "what was tried" is about, by source.
SUBJECTS = {
    "provider_table": _l("Sendwell's list of providers"),
    "dns_srv": _l("DNS record %(name)s"),
    "dns_mx": _l("Mail servers (MX) of %(domain)s"),
    "autoconfig": _l("Settings file %(url)s"),
    "probe": _l("%(host)s, port %(port)s"),
}

# Outcomes: (source, code) first, then the code for any source.
OUTCOMES = {
    ("provider_table", "not_listed"): _l("%(domain)s is not in it"),
    ("provider_table", "found"): _l("%(domain)s belongs to %(provider)s"),
    ("provider_table", "no_server"): _l("%(domain)s belongs to %(provider)s"),
    ("dns_mx", "found"): _l("%(host)s, which belongs to %(provider)s"),
    ("dns_mx", "no_service"): _l("the domain says it receives no email"),
    ("probe", "timed_out"): _l("no answer within %(seconds)s seconds"),
    ("probe", "connection_refused"): _l("nothing accepts connections on this port"),
    "found": _l("found"),
    "nxdomain": _l("none"),
    "no_answer": _l("none"),
    "no_service": _l("the domain says it offers no such service"),
    "timeout": _l("no answer from the DNS server in time"),
    "servfail": _l("the DNS server could not answer"),
    "error": _l("the DNS server could not answer"),
    "no_resolver": _l("the DNS server could not answer"),
    "invalid_name": _l("not a name that DNS can look up"),
    "no_provider": _l("%(hosts)s, not a provider in Sendwell's list"),
    "not_found": _l("not found (HTTP status %(status)s)"),
    "redirect_off_host": _l("sends Sendwell on to another server (%(location)s): not followed"),
    "too_large": _l("larger than %(size)s KB: not read"),
    "forbidden_xml": _l("refused: it contains XML declarations that can be used for an attack"),
    "not_xml": _l("not a settings file"),
    "not_autoconfig": _l("not a settings file"),
    "no_outgoing_server": _l("names no outgoing server that Sendwell can use"),
    "outside_domain": _l("not contacted: it is outside %(domain)s"),
    "port_security": _l("answered, but not in the way Sendwell expects on this port"),
    "name_not_found": _l("no server has this name"),
    "timed_out": _l("no answer within %(seconds)s seconds"),
    "destination_forbidden": _l("not contacted: a private address, and this installation does "
                                "not connect to those"),
    "unfinished": _l("stopped: more trusted settings had already been found"),
}
UNFINISHED_AT_DEADLINE = _l("no answer within %(seconds)s seconds")
# A certificate that fails: reported, never trusted.
CERTIFICATE_FAILED = _l("its certificate failed the check (%(problem)s): not used")

LINE = _l("%(subject)s: %(outcome)s")
LINE_WITH_VERDICT = _l("%(subject)s: %(outcome)s (%(verdict)s)")
USED = _l("used")
NOT_USED_TRUST = _l("not used: more trusted settings were found")
NOT_USED_RANK = _l("not used: another answer is better secured")

FOUND_TITLE = _l("Settings found for %(domain)s")
FOUND_LEAD = _l("Sendwell filled them in below; nothing is saved yet. Test them, then save them.")
NOTHING_TITLE = _l("No settings found for %(domain)s")
NOTHING_TEXT = _l(
    "Sendwell could not find the settings for this address. Ask your email provider for the "
    "name of its outgoing (SMTP) server, the port, whether the connection uses TLS from the "
    "first byte or STARTTLS, and the username to sign in with.")
ELAPSED = _l("Sendwell looked for %(seconds)s seconds.")
APP_PASSWORD = _l("%(provider)s needs an app password in %(password)s, not your usual password.")
NOTES = {
    "proton_bridge": _l(
        "Proton Mail works with programs like Sendwell only through Proton Mail Bridge, an app "
        "for paid plans that runs on the same computer as Sendwell and shows the server, port, "
        "username and password to use. Some business plans with a domain of their own can "
        "instead create an SMTP token in Proton Mail's settings, for smtp.protonmail.ch on port "
        "587."),
}


@dataclass
class FilledRow:
    label: str
    value: str
    source: str


@dataclass
class TriedLine:
    subject: str
    outcome: str
    verdict: str | None = None   # "used" or "not used: why", for lines that gave a candidate

    @property
    def text(self) -> str:
        if self.verdict:
            return fill(LINE_WITH_VERDICT, subject=self.subject, outcome=self.outcome,
                        verdict=self.verdict)
        return fill(LINE, subject=self.subject, outcome=self.outcome)


@dataclass
class DetectReport:
    found: bool
    title: str
    lead: str
    rows: list[FilledRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tried: list[TriedLine] = field(default_factory=list)
    elapsed: str = ""


def seconds(value: float) -> str:
    return format_decimal(value, format="#,##0.#")


def source_text(candidate: Candidate, domain: str) -> str:
    evidence = candidate.evidence[0].facts if candidate.evidence else {}
    if candidate.source == "probe":
        answer = fill(PROBE_ANSWERS[evidence["answered"]], port=candidate.port)
        return fill(TRIED_PREFIX, answer=answer)
    return fill(SOURCE_TEXTS[candidate.source], domain=domain, provider=candidate.provider or "",
                record=evidence.get("name", ""), url=evidence.get("url", ""))


def rows_for(candidate: Candidate, filled: dict[str, str], domain: str) -> list[FilledRow]:
    """One row per filled value, each with where it came from."""
    source = source_text(candidate, domain)
    rows = [FilledRow(str(LABELS["smtp_host"]), candidate.host, source),
            FilledRow(str(LABELS["smtp_port"]), str(candidate.port), source),
            FilledRow(str(LABELS["smtp_security"]), str(SECURITY_LABELS[candidate.security]),
                      source)]
    if "username" in filled:
        username_source = str(ADDRESS_ITSELF) if candidate.username_rule == "address" \
            and candidate.source in ("dns_srv", "probe") else source
        rows.append(FilledRow(str(LABELS["username"]), filled["username"], username_source))
    else:
        rows.append(FilledRow(str(LABELS["username"]), "", str(USERNAME_UNKNOWN)))
    if "from_address" in filled:
        rows.append(FilledRow(str(LABELS["from_address"]), filled["from_address"],
                              str(ADDRESS_ITSELF)))
    return rows


def outcome_text(tried: Tried, detection: Detection) -> str:
    facts = dict(tried.facts)
    code = tried.code
    if code == "answered":
        return str(PROBE_OUTCOMES[facts["answered"]])
    if code.startswith("certificate_"):
        problem = EXPLANATIONS[code].title
        return fill(CERTIFICATE_FAILED, problem=problem)
    if code == "unfinished" and detection.elapsed_ms >= detection.deadline_s * 1000 - 50:
        return fill(UNFINISHED_AT_DEADLINE, seconds=seconds(detection.deadline_s))
    text = OUTCOMES.get((tried.source, code)) or OUTCOMES.get(code)
    if text is None:  # another failure of the mail layer: its diagnosis, in a few words
        return str(EXPLANATIONS.get(code, EXPLANATIONS["internal_error"]).title)
    if "hosts" in facts:
        facts["hosts"] = ", ".join(facts["hosts"])
    if "seconds" in facts:
        facts["seconds"] = seconds(facts["seconds"])
    if "limit_bytes" in facts:
        facts["size"] = format_decimal(facts["limit_bytes"] // 1024)
    facts.setdefault("domain", detection.domain)
    return fill(text, **{key: value for key, value in facts.items()
                         if isinstance(value, (str, int, float))})


def subject_text(tried: Tried, detection: Detection) -> str:
    facts = {"domain": detection.domain, **tried.facts}
    if tried.source == "probe" and "port" not in facts:
        return str(facts.get("host", ""))  # a name, the same in every language
    return fill(SUBJECTS[tried.source], **{key: value for key, value in facts.items()
                                           if isinstance(value, (str, int, float))})


def verdict(tried: Tried, detection: Detection) -> str | None:
    """For a line that gave a candidate: was it used, and if not, why."""
    if tried.code not in ("found", "answered") or detection.chosen is None:
        return None
    if tried.source == "probe":
        key = (tried.facts["host"], tried.facts["port"])
        if detection.chosen.source == "probe":
            return str(USED if (detection.chosen.host, detection.chosen.port) == key
                       else NOT_USED_RANK)
        return None if _serves(detection.chosen, key) else str(NOT_USED_TRUST)
    if tried.source == detection.chosen.source:
        return str(USED)
    if tried.source in ("dns_srv", "autoconfig", "dns_mx") and any(
            candidate.source == tried.source for candidate in detection.candidates):
        return str(NOT_USED_TRUST)
    return None


def _serves(candidate: Candidate, key: tuple[str, int]) -> bool:
    return (candidate.host, candidate.port) == key


def report(detection: Detection, filled: dict[str, str]) -> DetectReport:
    chosen = detection.chosen
    notes = []
    if detection.note_key:
        notes.append(fill(NOTES[detection.note_key]))
    provider = provider_named(chosen.provider if chosen else detection.provider)
    # With the provider's OAuth sign-in proposed, there is no password to type.
    if (chosen is not None and provider is not None and provider.login == "app_password"
            and "sign_in_method" not in filled):
        notes.append(fill(APP_PASSWORD, provider=provider.name))
    tried = [TriedLine(subject_text(t, detection), outcome_text(t, detection), verdict(t, detection))
             for t in detection.tried]
    elapsed = fill(ELAPSED, seconds=format_decimal(detection.elapsed_ms / 1000, format="#,##0.0"))
    if chosen is None:
        return DetectReport(False, fill(NOTHING_TITLE, domain=detection.domain), fill(NOTHING_TEXT),
                            notes=notes, tried=tried, elapsed=elapsed)
    return DetectReport(True, fill(FOUND_TITLE, domain=detection.domain), fill(FOUND_LEAD),
                        rows_for(chosen, filled, detection.domain), notes, tried, elapsed)
