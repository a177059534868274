"""The floor of figure 1: the least a signed-in fields fragment can cost in Sendwell.

Issue 17 states its targets from "a minimal signed-in fragment (session, CSRF
check, one SQLite read, a tiny cached template)". This is that fragment, built
on Sendwell itself so that every request hook the tool has runs for it as for
the real one: the host check, the language, the server-side session record,
the CSRF check, the rate limiter's filter and the security headers. Its view
then does only the minimum. bench/run.py serves it with Sendwell's own
gunicorn settings and instance folder (so the same session cookie signs in),
and measures it in the same rounds as the fields fragment. Not part of the tool.
"""
from flask import request

from webapp import create_app
from webapp.current import store

app = create_app()
_TINY = app.jinja_env.from_string(
    '<div id="slot-username" hx-swap-oob="true">{{ value }}</div>')


@app.post("/<lang>/bench/floor")
def floor():
    store().saved()  # the one SQLite read
    return _TINY.render(value=request.form.get("username", ""))
