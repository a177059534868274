"""The settings form's field types: WTForms' own, whose inputs render the same
HTML for less.

WTForms writes each attribute of an input through `Markup.format`, some
10 µs an attribute, and looks for validation flags among every name dir()
lists, so one input cost about 0.14 ms and the inputs were the largest part
of a fields fragment (issue 17). These widgets keep WTForms' rendering and
do those two parts with plain string and dict operations.
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


class _Input(widgets.Input):
    """WTForms' Input.__call__, the same output, except that the field's
    validation flags (required, maxlength...) are read from the flags set on
    it rather than by trying every name dir() lists; the settings form sets
    none, and the search cost a third of an input."""

    html_params = staticmethod(html_params)

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", self.input_type)
        if "value" not in kwargs:
            kwargs["value"] = field._value()
        datalist = getattr(field, "_datalist", None)
        if datalist is not None and "list" not in kwargs:
            kwargs["list"] = datalist if isinstance(datalist, str) else datalist.id
        flags = vars(field.flags)
        for name in self.validation_attrs:
            if name in flags and name not in kwargs:
                value = flags[name]
                kwargs[name] = value() if callable(value) else value
        return Markup(f"<input {self.html_params(name=field.name, **kwargs)}>")


# Each of WTForms' widgets, on _Input: their own __call__ (checked, the
# password left out) runs first, then _Input's.
class TextInput(widgets.TextInput, _Input):
    pass


class PasswordInput(widgets.PasswordInput, _Input):
    pass


class HiddenInput(widgets.HiddenInput, _Input):
    pass


class CheckboxInput(widgets.CheckboxInput, _Input):
    pass


class RadioInput(widgets.RadioInput, _Input):
    pass


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
