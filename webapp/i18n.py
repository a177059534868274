"""The six languages, how one is chosen, the /<lang>/ URL prefix, and the
texts in the request's language."""
from flask import abort, g, request, session, url_for
from flask_babel import Babel, LazyString, get_locale, get_translations
from markupsafe import Markup

# Each language's name written in that language, for the switcher.
LANGUAGES = {
    "en": "English",
    "sl": "Slovenščina",
    "sw": "Kiswahili",
    "it": "Italiano",
    "ja": "日本語",
    "es": "Español",
}
DEFAULT_LANGUAGE = "en"

babel = Babel()


def best_language() -> str:
    """URL prefix, then the saved choice, then Accept-Language, then English."""
    lang = g.get("lang")
    if lang in LANGUAGES:
        return lang
    saved = session.get("lang")
    if saved in LANGUAGES:
        return saved
    return from_accept_language(request.accept_languages) or DEFAULT_LANGUAGE


def from_accept_language(accepted) -> str | None:
    """The most preferred language we have, matching "it-CH" to "it" in its own place.

    (Werkzeug's best_match tries exact tags first, so "it-CH, en;q=0.1"
    would give English.)
    """
    for tag, _quality in accepted:  # highest quality first
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return None


def catalog():
    """The catalog of the request's language, as Flask-Babel chooses it
    (force_locale included).

    Flask-Babel looks the catalog up again for every text: three look-ups of
    its context and the locale's name, some 10 µs a text, which made texts a
    fifth of the settings page's time (issue 17). Here it is looked up once a
    request, and again only when the locale changes.
    """
    locale = get_locale()
    if locale is None:  # outside an app context: the texts as written
        return get_translations()
    found = g.get("_catalog")
    if found is None or found[0] is not locale:
        found = g._catalog = (locale, get_translations())
    return found[1]


# Flask-Babel's gettext, ngettext and lazy_gettext, through catalog(): the
# same texts, the same placeholders.
def gettext(string: str, **variables) -> str:
    text = catalog().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return catalog().ungettext(singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


def template_gettext(string: str, **variables) -> Markup:
    """The templates' _(), as Jinja's i18n extension makes it (newstyle, every
    template autoescaped): the text is markup, its placeholders are escaped,
    and it is always formatted, so "%%" reads "%". Jinja's own passes the call
    through three context.call()s, which cost more than finding the text; the
    settings page has some fifty of them (issue 17)."""
    return Markup(catalog().ugettext(string)) % variables


def init_app(app):
    babel.init_app(app, locale_selector=best_language)
    app.jinja_env.install_gettext_callables(
        gettext=lambda string: catalog().ugettext(string),
        ngettext=lambda singular, plural, num: catalog().ungettext(singular, plural, num),
        pgettext=lambda context, string: catalog().upgettext(context, string),
        npgettext=lambda context, singular, plural, num: catalog().unpgettext(
            context, singular, plural, num),
        newstyle=True)
    app.jinja_env.globals["_"] = template_gettext

    @app.url_defaults
    def add_language_prefix(endpoint, values):
        if "lang" in values or not app.url_map.is_endpoint_expecting(endpoint, "lang"):
            return
        values["lang"] = best_language()

    @app.url_value_preprocessor
    def take_language_prefix(endpoint, values):
        if values and "lang" in values:
            lang = values.pop("lang")
            g.lang = lang
            if lang in LANGUAGES and session.get("lang") != lang:
                session["lang"] = lang

    @app.before_request
    def unknown_language_is_not_found():
        if g.get("lang") is not None and g.lang not in LANGUAGES:
            abort(404)

    @app.context_processor
    def language_switcher():
        def url_in(lang: str) -> str:
            args = dict(request.view_args or {})
            args["lang"] = lang
            return url_for(request.endpoint, **args)

        return {
            "languages": LANGUAGES,
            "current_language": best_language(),
            "url_in": url_in,
        }
