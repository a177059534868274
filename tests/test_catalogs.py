"""The five catalogs: complete, faithful to the source texts and to the glossary
(translations/GLOSSARY.md), up to date with the code."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LANGS = ["sl", "sw", "it", "ja", "es"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")
MARKUP = re.compile(r"</?[a-zA-Z][^>]*>")

# Texts that are the same in every language: names and units.
SAME_EVERYWHERE = {"%(ms)s ms", "%(size)s KB", "%(size)s MB", "SMTP", "HTTP"}
# A line of Detect's list of what was tried: only punctuation, which Japanese
# writes full-width.
TRIED_LINES = {"%(subject)s: %(outcome)s", "%(subject)s: %(outcome)s (%(verdict)s)"}
# Words a language has borrowed from English and uses as they are.
SAME_IN = {
    # "Directory (tenant)": how the Microsoft Entra admin center writes it in Italian.
    "it": {"Password", "Email", "Port", "Directory (tenant)", *TRIED_LINES},
    "sw": {"Port", "%(address)s, port %(port)s", "%(host)s, port %(port)s", *TRIED_LINES},
    "es": {"Error: %(page)s", *TRIED_LINES},  # "Error": the same word in Spanish
    "sl": TRIED_LINES,
    "ja": set(),
}
GLOSSARY = ROOT / "translations" / "GLOSSARY.md"
CODE = re.compile(r"`([^`]+)`")
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
# Errors the glossary must keep catching: the source guides' machine translations
# and the wrong terms the native reviews found.
KNOWN_ERRORS = {
    "ja": ["Googleの勘定設定", "<コード>パスワードコード>", "サーバーからのメッセージ：", "未送信：理由"],
    "it": ["nelle impostazioni del tuo conto Google"],
    "sl": ["pod 'Varnost konta'", "Kontrolni znaki"],
    "sw": ["Chagua nambari ya Utambulisho maalum_Port"],
    "es": ["El servidor se niega a reenviar el correo"],
}


def read_glossary():
    """Each section of GLOSSARY.md ("all" or a language) as a list of table rows."""
    sections, rows, header = {}, None, None
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## (\w+) ", line)
        if heading:
            rows, header = sections.setdefault(heading.group(1), []), None
        elif rows is not None and line.startswith("|"):
            cells = [cell.strip().replace("\\|", "|")
                     for cell in CELL_SEPARATOR.split(line.strip())[1:-1]]
            if header is None:
                header = cells
            elif not set("".join(cells)) <= set("-: "):
                rows.append(dict(zip(header, cells)))
    return sections


GLOSSARY_ROWS = read_glossary()


def forbidden(lang):
    rows = GLOSSARY_ROWS["all"] + GLOSSARY_ROWS[lang]
    return [re.compile(pattern, re.IGNORECASE)
            for row in rows for pattern in CODE.findall(row["Must not appear"])]


def checked_terms(lang):
    """(English term, the pattern its translation must match) for the checked rows."""
    return [(row["English"], re.compile(pattern, re.IGNORECASE))
            for row in GLOSSARY_ROWS[lang] for pattern in CODE.findall(row["Checked"])]


def without_placeholders(text):
    return PLACEHOLDER.sub(" ", text)


def catalog(lang):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def entries(lang):
    for message in catalog(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        yield message, ids, strings


def translations(lang):
    """Each translated entry (the untranslated ones fail their own test)."""
    for message, ids, strings in entries(lang):
        if all(strings):
            yield message, ids, strings


@pytest.mark.parametrize("lang", LANGS)
def test_every_entry_is_translated_and_none_is_fuzzy(lang):
    missing = [ids[0] for message, ids, strings in entries(lang) if not all(strings)]
    fuzzy = [ids[0] for message, ids, strings in entries(lang) if message.fuzzy]
    assert missing == [] and fuzzy == []


def test_slovenian_has_four_plural_forms():
    cat = catalog("sl")
    assert cat.num_plurals == 4
    plurals = [m for m in cat if m.id and isinstance(m.id, (list, tuple))]
    assert plurals and all(len(m.string) == 4 and all(m.string) for m in plurals)


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_and_markup_are_kept(lang):
    problems = []
    for message, ids, strings in translations(lang):
        for text in strings:
            if sorted(PLACEHOLDER.findall(text)) not in (sorted(PLACEHOLDER.findall(ids[0])),
                                                        sorted(PLACEHOLDER.findall(ids[-1]))):
                problems.append(("placeholders", ids[0], text))
            if sorted(MARKUP.findall(text)) != sorted(MARKUP.findall(ids[0])):
                problems.append(("markup", ids[0], text))
    assert problems == []


@pytest.mark.parametrize("lang", LANGS)
def test_nothing_is_left_in_english(lang):
    allowed = SAME_EVERYWHERE | SAME_IN[lang]
    untranslated = [ids[0] for message, ids, strings in translations(lang)
                    if strings[0] == ids[0] and ids[0] not in allowed]
    assert untranslated == []


def test_the_glossary_has_rules_for_every_language():
    assert set(GLOSSARY_ROWS) == {"all", *LANGS}
    for lang in LANGS:
        assert forbidden(lang) and checked_terms(lang), lang
        # A checked row names one English term, so that the check knows what to look for.
        assert all(re.fullmatch(r"[a-z' -]+", term) for term, pattern in checked_terms(lang)), lang


@pytest.mark.parametrize("lang", LANGS)
def test_the_glossary_catches_the_known_errors(lang):
    missed = [text for text in KNOWN_ERRORS[lang]
              if not any(pattern.search(text) for pattern in forbidden(lang))]
    assert missed == []


@pytest.mark.parametrize("lang", LANGS)
def test_no_term_the_glossary_forbids_appears(lang):
    found = [(pattern.pattern, text) for message, ids, strings in translations(lang)
             for text in strings for pattern in forbidden(lang)
             if pattern.search(without_placeholders(text))]
    assert found == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_glossary_terms_are_used(lang):
    """Where the English says "account", the translation says the glossary's word for it."""
    missing = []
    for term, pattern in checked_terms(lang):
        english = re.compile(r"\b" + re.escape(term) + r"s?\b", re.IGNORECASE)
        for message, ids, strings in translations(lang):
            if any(english.search(without_placeholders(text)) for text in ids):
                missing += [(term, text) for text in strings if not pattern.search(text)]
    assert missing == []


@pytest.mark.parametrize("lang", LANGS)
def test_product_names_are_kept(lang):
    for message, ids, strings in translations(lang):
        # (A sentence may leave out "Sendwell" as its subject; these it must keep.)
        for name in ("Gmail", "Yahoo Mail", "Yahoo!メール", "Microsoft 365",
                     "smtp.gmail.com", "smtp.mail.yahoo.com", "smtp.mail.yahoo.co.jp",
                     "smtp.office365.com", "STARTTLS"):
            if name in ids[0]:
                assert all(name in text for text in strings), (lang, name, ids[0])


def test_catalogs_are_up_to_date_with_the_code(tmp_path):
    """`make i18n` has been run: every text in the code is in every catalog, and no more."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as f:
        source = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert len(source) > 100
    for lang in LANGS:
        translated = {ids[0] for message, ids, strings in entries(lang)}
        assert source - translated == set(), f"{lang}: run make i18n (missing entries)"
        assert translated - source == set(), f"{lang}: run make i18n (obsolete entries)"


@pytest.mark.parametrize("lang", LANGS)
def test_translator_notes_come_from_the_source(lang):
    """Context for translators is a TRANSLATORS: comment in the code (extracted as `#.`),
    one note for all five catalogs, never a `# ` note in one catalog only."""
    noted = [ids[0] for message, ids, strings in entries(lang) if message.user_comments]
    assert noted == []
    provider_pages = [ids[0] for message, ids, strings in entries(lang)
                      if "login.yahoo.com" in ids[0] or "admin center" in ids[0]]
    assert provider_pages and all(
        message.auto_comments for message, ids, strings in entries(lang)
        if ids[0] in provider_pages)
