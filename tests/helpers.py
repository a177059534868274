"""Small helpers the view tests share."""
import html as htmlmod
import re

HX = {"HX-Request": "true"}


def post(client, path, data, headers=HX):
    """POST a form as the page would, CSRF token included (as htmx unless headers={})."""
    return client.post(path, data={"csrf_token": client.csrf_token, **data}, headers=headers)


def smtp_form(server, credentials, **extra):
    """Settings for a loopback SMTP test server that wants STARTTLS and a login."""
    return {"protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": str(server.port),
            "smtp_security": "starttls", "username": credentials.user,
            "password": credentials.password, **extra}


def text_of(html: str) -> str:
    """What a reader sees: the text without tags, whitespace collapsed."""
    return htmlmod.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def assert_failed(result, code, step_name):
    """A delivery that failed at `step_name` with diagnosis `code`, the last step listed."""
    assert not result.ok
    assert result.diagnosis is not None, result
    assert (result.diagnosis.code, result.diagnosis.step) == (code, step_name), result.diagnosis
    assert result.steps[-1].name == step_name and not result.steps[-1].ok
    return result.diagnosis
