"""What every page shares, whichever blueprint renders it: the navigation's
context, the helpers of the shared macros (templates/macros/) and the
app-wide error pages."""
import re

from flask import g, get_template_attribute, render_template, request, url_for
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from wtforms import HiddenField, RadioField

from .auth import signed_in
from .current import store
from .documents import too_large_text
from .fields import help_parts, help_text
from .i18n import gettext as _


def init_app(app):
    app.context_processor(navigation)
    # Globals, not a context processor: the fragment endpoints render imported
    # macros, which see globals but no request context.
    app.jinja_env.globals.update({"help_text": help_text, "help_parts": help_parts,
                                  "help_block": help_block, "guide_address": guide_address,
                                  "input_attrs": input_attrs, "field_anchor": field_anchor})
    app.jinja_env.filters["link_addresses"] = link_addresses
    app.register_error_handler(CSRFError, csrf_refused)
    app.register_error_handler(404, not_found)
    app.register_error_handler(413, upload_too_large)
    app.register_error_handler(429, too_many_attempts)


def navigation() -> dict:
    is_signed_in = signed_in()
    # The Email action appears once settings are saved; asked on every page,
    # so without opening the secret.
    return {"signed_in": is_signed_in,
            "has_saved_settings": is_signed_in and store().has_settings()}


def input_attrs(field, extra: dict) -> dict:
    attrs = {"aria-describedby": f"errors-{field.id} help-{field.name}"}
    if field.errors:
        attrs["aria-invalid"] = "true"
    attrs.update(extra)
    return attrs


# A field's help is made of texts of the catalog and the guide's address, and
# the settings page shows one under each of its fields: rendered once per
# language, it costs a look-up instead of a sixth of the page (issue 17).
_help_blocks: dict[tuple, Markup] = {}


def help_block(name: str, label) -> Markup:
    """The macro `help` of macros/fields.html for this field and label, as
    it renders in the request's language with the guide at its address."""
    label = escape(label)
    key = (str(get_locale()), guide_address(), name, label)
    block = _help_blocks.get(key)
    if block is None:
        block = _help_blocks[key] = get_template_attribute("macros/fields.html", "help")(name, label)
    return block


def guide_address() -> str:
    """The guide's address, built once a request."""
    if "guide_address" not in g:
        g.guide_address = url_for("guide.page")
    return g.guide_address


def field_anchor(field) -> str:
    """The id a link to this field points at: its input, a group's first choice,
    or for a field nobody types in (a hidden one) its messages."""
    if isinstance(field, RadioField):
        return f"{field.id}-0"
    return f"errors-{field.id}" if isinstance(field, HiddenField) else field.id


# A web address in one of our own texts: ASCII only, so it stops at the
# surrounding words in every language; a closing full stop stays outside.
_ADDRESS = re.compile(r"https://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+(?<![.,:;])")


def link_addresses(text) -> Markup:
    """One of our texts, escaped, with each https:// address in it a link.
    Never for text from elsewhere (a server's reply): only our own sentences."""
    escaped = str(escape(text))
    return Markup(_ADDRESS.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


def csrf_refused(error):
    return render_template("error.html", reason="csrf"), 400


def not_found(error):
    return render_template("error.html", reason="not_found"), 404


def upload_too_large(error):
    """An upload far over the limit is cut off before it is read: say so in place.
    The only upload is the document on the send page."""
    text = too_large_text()
    if request.headers.get("HX-Request"):
        fragment = render_template("_message.html", text=text)
        return fragment, 200, {"HX-Retarget": "#send-result", "HX-Reswap": "innerHTML"}
    return render_template("error.html", reason="too_large", text=text), 413


def too_many_attempts(error):
    text = _("Too many attempts in a short time. Wait a minute, then try again.")
    headers = {"Retry-After": "60"}
    if request.headers.get("HX-Request"):
        # htmx is configured to swap a 429 into the result area in place.
        return render_template("_message.html", text=text), 429, headers
    return render_template("error.html", reason="rate_limited", text=text), 429, headers
