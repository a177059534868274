"""What Sendwell believes about where a request comes from and is meant for.

- The Host header must name this installation: the address `make run`
  listens on, localhost, 127.0.0.1, or a name in ALLOWED_HOSTS. Anything else
  is answered with 400: a page on another site that points its own name at
  127.0.0.1 (DNS rebinding) must not reach the sign-in from the admin's
  browser.
- Behind a reverse proxy, TRUSTED_PROXIES (the number of proxies in front)
  makes Werkzeug's ProxyFix take the client's address, scheme and host from
  the X-Forwarded-* headers those proxies set, so the sign-in limit counts
  each real client. Without it those headers are ignored, since any client
  could send them.
"""
from flask import abort, request
from werkzeug.middleware.proxy_fix import ProxyFix


def allowed_hosts(config) -> set[str]:
    """ALLOWED_HOSTS (a leading dot allows the names under it), and always
    the address `make run` listens on, localhost and 127.0.0.1: names that
    only this computer resolves to itself."""
    names = [config.get("HOST") or "127.0.0.1", "localhost", "127.0.0.1",
             *str(config.get("ALLOWED_HOSTS") or "").split(",")]
    return {normalized_host(name) for name in names if name.strip()}


def normalized_host(host: str) -> str:
    """A Host header's name: lower case, no port, no brackets, no final dot."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def init_app(app) -> None:
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                                x_port=proxies)
    hosts = allowed_hosts(app.config)

    @app.before_request
    def refuse_unknown_hosts():
        if not host_allowed(request.host, hosts):
            abort(400)


def host_allowed(host: str, allowed: set[str]) -> bool:
    """A name in `allowed`, or under one given with a leading dot (".example.org")."""
    name = normalized_host(host)
    return bool(name) and any(name == entry or (entry.startswith(".") and name.endswith(entry))
                              for entry in allowed)
