"""The baseline of figure 1: a minimal Flask "hello world".

bench/run.py serves it with gunicorn under the tool's own settings
(bench/gunicorn_hello.conf.py), so it measures the ceiling of the stack:
gunicorn, its gthread worker, Werkzeug and Flask, with no work of our own.
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
