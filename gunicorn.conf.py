# How `make run` serves Sendwell: gunicorn with threads on loopback. A test
# email may wait on a slow server for up to its deadline, so there are
# plenty of threads and the other requests keep flowing.
import os

bind = f"{os.environ.get('SENDWELL_HOST', '127.0.0.1')}:{os.environ.get('SENDWELL_PORT', '5000')}"
worker_class = "gthread"
workers = int(os.environ.get("SENDWELL_WORKERS", "2"))
threads = int(os.environ.get("SENDWELL_THREADS", "16"))
timeout = 60
graceful_timeout = 10
accesslog = None
# Nothing here uses gunicorn's control socket; leaving it off keeps two
# instances (make run, make bench) from fighting over ~/.gunicorn.
control_socket_disable = True


def when_ready(server):
    """Print a one-time sign-in link, as Jupyter does, so a fresh start needs no extra step."""
    from webapp import create_app
    from webapp.auth import issue_signin_link

    host, port = bind.rsplit(":", 1)
    shown_host = f"[{host}]" if ":" in host else host
    link = issue_signin_link(create_app(), f"http://{shown_host}:{port}")
    server.log.info("Sendwell is running. Open this one-time sign-in link:\n\n    %s\n", link)
    server.log.info("To sign in with a password instead, run: make set-password")
