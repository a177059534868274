"""The settings form's field types: WTForms' own, whose inputs render the same
HTML for less.

WTForms writes each attribute of an input through `Markup.format`, some
10 µs an attribute, so one input cost about 0.1 ms and the inputs were the
largest part of a fields fragment (issue 17). These widgets take WTForms'
rendering whole and only build the attributes with plain string operations.
"""
from functools import cache

import wtforms
from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.widgets.core import clean_key


def html_params(**attributes) -> Markup:
    """What `wtforms.widgets.html_params` returns, byte for byte: sorted by
    name, True as a bare attribute, False left out, values escaped."""
    params = []
    for name, value in sorted(attributes.items()):
        name = _attribute_name(name)
        if value is True:
            params.append(name)
        elif value is not False:
            params.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))


@cache
def _attribute_name(key: str) -> str:
    # The few names our templates use (data_keep -> data-keep), escaped.
    return escape(clean_key(key))


class TextInput(widgets.TextInput):
    html_params = staticmethod(html_params)


class PasswordInput(widgets.PasswordInput):
    html_params = staticmethod(html_params)


class HiddenInput(widgets.HiddenInput):
    html_params = staticmethod(html_params)


class CheckboxInput(widgets.CheckboxInput):
    html_params = staticmethod(html_params)


class RadioInput(widgets.RadioInput):
    html_params = staticmethod(html_params)


class StringField(wtforms.StringField):
    widget = TextInput()


class PasswordField(wtforms.PasswordField):
    widget = PasswordInput()


class HiddenField(wtforms.HiddenField):
    widget = HiddenInput()


class BooleanField(wtforms.BooleanField):
    widget = CheckboxInput()


class RadioField(wtforms.RadioField):
    option_widget = RadioInput()
