"""The settings form's inputs (webapp/inputs.py) render exactly what WTForms'
own widgets render, only for less (issue 17)."""
import pytest
import wtforms
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form, validators
from wtforms.fields.choices import SelectChoice
from wtforms.widgets.core import html_params as wtforms_html_params

from webapp import inputs


def forms_of(kinds):
    class Checked(Form):
        text = kinds.StringField("Text", [validators.InputRequired(), validators.Length(max=5)])
        password = kinds.PasswordField("Password", [validators.Length(min=2)])
        hidden = kinds.HiddenField("Hidden")
        ticked = kinds.BooleanField("Ticked")
        choice = kinds.RadioField("Choice", choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])
    return Checked


OURS, THEIRS = forms_of(inputs), forms_of(wtforms)
SUBMITTED = [MultiDict(), MultiDict([("text", 'x"<y>&\''), ("password", "secret"),
                                     ("hidden", "z&"), ("ticked", "y"), ("choice", "b")])]
ATTRIBUTES = [{}, {"class_": "short", "data_keep": "secret", "aria-describedby": "errors-x help-x",
                   "required": False, "maxlength": 9, "placeholder": "Saved: leave \"it\""}]


@pytest.mark.parametrize("formdata", SUBMITTED)
@pytest.mark.parametrize("attributes", ATTRIBUTES)
def test_every_input_is_rendered_as_wtforms_renders_it(formdata, attributes):
    ours, theirs = OURS(formdata), THEIRS(formdata)
    for name in ("text", "password", "hidden", "ticked"):
        assert ours[name](**attributes) == theirs[name](**attributes), name
    assert ([choice(**attributes) for choice in ours.choice]
            == [choice(**attributes) for choice in theirs.choice])
    # The flags WTForms' validators set become attributes, as in WTForms.
    assert 'maxlength="5"' in ours.text() and " required " in ours.text()


def test_attributes_are_written_as_wtforms_writes_them():
    attributes = {"id": "a", "value": Markup('a"b<i>'), "checked": True, "disabled": False,
                  "data_keep": "x", "aria_label": "y", "for_": "z", "n<a>": '"&\''}
    assert inputs.html_params(**attributes) == wtforms_html_params(**attributes)
    assert isinstance(inputs.html_params(**attributes), Markup)
