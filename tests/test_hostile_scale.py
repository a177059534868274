"""Hostile input at scale (issue 12): at least 10,000 hostile submissions
across every endpoint and every field, in all six languages, and not one
answer of 500.

Every (endpoint, field, hostile value) is tried once on top of a valid form,
then random mixes of several hostile fields fill the run up. The corpus is
fixed and the mixes are seeded, so a failure names a submission that can be
replayed. Nothing reaches the network: the one resolver call and the one
connect of the mail package are replaced (no mail server is needed to show
that input is handled; Detect asks a loopback DNS server that knows no
name), so the run takes seconds per thousand. It is spread
over one process per core (each with its own app and instance folder).
"""
import io
import multiprocessing
import os
import random
import re
import time
from collections import Counter
from urllib.parse import quote

LANGS = ["en", "sl", "sw", "it", "ja", "es"]
SUBMISSIONS = 10_000

HOSTILE = [
    "", " ", "\t\n", "a@example.com", "a@example.com, b@example.com",
    "a@example.com\r\nBcc: v@example.com", "a@example.com>\r\nRCPT TO:<v@example.com",
    "x\x00y", "x\u2028y", "x\u2029y", "x\x85y", "\r\n.\r\n", "\x1b[31mred", "\u202eevil",
    "Invoice \x9b", "\x80", "\x9f", "<script>alert(1)</script>", '" hx-get="/x" hx-trigger="load',
    "<svg onload=alert(1)>", "{{7*7}}", "{% raw %}", "%(username)s", "%s%s%n", "${jndi:ldap://x}",
    "' OR 1=1 --", "../../etc/passwd", "smtp.example.com:25", "[::1]", "[::1]:25", "127.0.0.1",
    "0x7f000001", "2130706433", "ｌｏｃａｌｈｏｓｔ", "0", "-1", "65536", "065535", "00025",
    "99999999999999999999", "1e9", "NaN", "²", "¹²", "５８７", "٥٨٧", "https://u:p@example.com/",
    "https://127.0.0.1:1/?api_key=QTOKEN&sig=x", "http://example.com/", "http://127.0.0.1:9/send",
    "javascript:alert(1)", "//evil.example", "/%09/evil.example", "ÿ" * 5000, "a" * 70_000,
    "🙂" * 200, "пошта@приклад.укр", "メール@例え.jp", "ñ@example.com", "ñoño@example.com",
    "=?utf-8?b?w7E=?=@example.com", "=?utf-8?q?a=0Db?=@example.com", "a..b@example.com", "@",
    "a@", "@b", "a@b@c", "\"quoted\"@example.com", "user@[127.0.0.1]", "user@localhost",
    "SMTP", "HTTP", "tls", "starttls", "opportunistic", "y", "test", "update", "refresh",
    "update-anyway",
    "test_status=x", "smtp=", "http", "\ufeff", "\u00ad", "\U000e0041",
]

SETTINGS_FIELDS = ["protocol", "http_url", "http_reply_to", "smtp_host", "smtp_port",
                   "smtp_security", "username", "from_address", "password", "copy_enabled",
                   "copy_address", "reply_to_enabled", "reply_to_address", "skip_tls_verify",
                   "test_recipient", "shown", "action", "test_token", "csrf_token",
                   "detect_address", "trusted_certificate", "trust_certificate", "stop_trusting"]
DOCUMENT_FIELDS = ["recipients", "subject", "message", "filename", "document", "csrf_token"]
SIGNIN_FIELDS = ["password", "next", "csrf_token"]

VALID_SETTINGS = {"protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": "2525",
                  "smtp_security": "opportunistic", "username": "sender@example.com",
                  "password": "a-password", "from_address": "office@example.com",
                  "http_url": "http://127.0.0.1:9/send", "http_reply_to": "office@example.com"}
PDF = b"%PDF-1.4\n" + b"0" * 200 + b"\n%%EOF\n"

# (endpoint, its fields, every how many hostile values it takes in the
# systematic part): each endpoint is a kind of submission. Those that render
# the whole page cost the most, so they take every third value for each
# field, and Detect (DNS, autoconfig, probes) every sixth; the fragments
# take them all, and only they make the mixes.
ENDPOINTS = [
    ("settings:update", SETTINGS_FIELDS, 3), ("settings:test", SETTINGS_FIELDS, 3),
    ("settings:refresh", SETTINGS_FIELDS, 3), ("settings/fields", SETTINGS_FIELDS, 1),
    ("settings/test", SETTINGS_FIELDS, 1), ("documents", DOCUMENT_FIELDS, 1),
    ("signin", SIGNIN_FIELDS, 1), ("get", ["query", "path"], 1),
    ("settings/detect", SETTINGS_FIELDS, 6),
]
MIXED = {"settings/fields", "settings/test", "signin", "get"}


def corpus() -> list[tuple[str, dict, str, bool]]:
    """(endpoint, hostile values by field, language, as htmx) for each submission."""
    chosen = random.Random(12)
    submissions = []
    turn = 0
    for endpoint, fields, every in ENDPOINTS:
        for field in fields:
            for value in HOSTILE[turn % every::every]:
                submissions.append((endpoint, {field: value}, LANGS[turn % 6], turn % 2 == 0))
                turn += 1
    # Then mixes of several hostile fields, on the endpoints that take them all.
    mixed = [(endpoint, fields) for endpoint, fields, every in ENDPOINTS if endpoint in MIXED]
    while len(submissions) < SUBMISSIONS:
        endpoint, fields = chosen.choice(mixed)
        picked = chosen.sample(fields, chosen.randint(1, min(4, len(fields))))
        values = {field: chosen.choice(HOSTILE) for field in picked}
        submissions.append((endpoint, values, chosen.choice(LANGS), chosen.random() < 0.5))
    return submissions


def no_network():
    """Names do not resolve and nothing accepts a connection: the answers a
    test gets when the network says no, without a packet sent."""
    import ipaddress
    import socket

    from webapp.mail import net

    literal_only = net.lookup

    def lookup(host, port, timeout):
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "no network in this test") from None
        return literal_only(host, port, timeout)

    def open_connection(addresses, timeout):
        raise net.ConnectFailed([ConnectionRefusedError(111, "no network in this test")])

    net.lookup = lookup
    net.open_connection = open_connection


def run_shard(instance: str, dns_server: str, shard: list) -> dict:
    cpu_started = time.process_time()
    no_network()
    from webapp import create_app

    app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "scale", "MAIL_DEADLINE": 1.0,
                      "RATELIMIT_MAIL": "1000000 per minute",
                      "RATELIMIT_SIGNIN": "1000000 per minute",
                      # Detect asks a loopback DNS server that knows no name.
                      "DNS_SERVER": dns_server, "DETECT_DEADLINE": 2.0})
    client = app.test_client()
    client.get("/signin/" + app.extensions["store"].issue_signin_token(60))
    html = client.get("/en/settings").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    saved = client.post("/en/settings", data={"csrf_token": token, **VALID_SETTINGS,
                                              "action": "update-anyway"})
    assert saved.status_code == 302
    codes, failures = Counter(), []
    for endpoint, values, lang, htmx in shard:
        headers = {"HX-Request": "true"} if htmx else {}
        try:
            response = submit(client, token, endpoint, values, lang, headers)
            code = response.status_code
            if code < 500 and "Something went wrong in Sendwell" in response.get_data(as_text=True):
                code = "internal_error"
        except Exception as error:  # the app's own error, raised through the test client
            code = f"raised {type(error).__name__}: {error}"[:200]
        codes[code] += 1
        if code == "internal_error" or not isinstance(code, int) or code >= 500:
            failures.append((endpoint, {k: v[:80] for k, v in values.items()}, lang, code))
    return {"codes": codes, "failures": failures[:20], "cpu_s": time.process_time() - cpu_started}


def submit(client, token, endpoint, values, lang, headers):
    values = dict(values)
    if endpoint == "get":
        path = values.get("path", "")
        query = quote(values.get("query", ""), safe="")
        page = ["settings", "documents", "documents/history", "guide"][len(path) % 4]
        if path:
            return client.get(f"/signin/{quote(path, safe='')}", headers=headers)
        return client.get(f"/{lang}/{page}?next={query}&x={query}", headers=headers)
    if endpoint == "signin":
        query = quote(values.pop("next", "/en/settings"), safe="")
        return client.post(f"/{lang}/signin?next={query}", headers=headers,
                           data={"csrf_token": token, **values})
    if endpoint == "documents":
        data = {"csrf_token": token, "recipients": "client@example.com", "subject": "Invoice",
                "message": "Attached.", **values}
        filename = data.pop("filename", "invoice.pdf")
        document = data.pop("document", None)
        pdf = PDF if document is None else document.encode("utf-8", "surrogatepass")
        data["document"] = (io.BytesIO(pdf), filename or "x")
        return client.post(f"/{lang}/documents", data=data, headers=headers,
                           content_type="multipart/form-data")
    data = {"csrf_token": token, **VALID_SETTINGS}
    path = f"/{lang}/settings"
    if endpoint.startswith("settings:"):
        data["action"] = endpoint.partition(":")[2]
    elif endpoint != "settings":
        path = f"/{lang}/{endpoint}"
    data.update(values)
    return client.post(path, data=data, headers=headers)


def test_ten_thousand_hostile_submissions_never_get_a_500(tmp_path, dns_server):
    nobody = dns_server("")
    submissions = corpus()
    assert len(submissions) >= SUBMISSIONS
    assert {lang for _, _, lang, _ in submissions} == set(LANGS)
    workers = max(1, min(2, os.cpu_count() or 1))
    shards = [submissions[index::workers] for index in range(workers)]
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        outcomes = pool.starmap(run_shard, [(str(tmp_path / f"worker-{index}"), nobody.address,
                                             shard) for index, shard in enumerate(shards)])
    seconds = time.monotonic() - started
    codes = sum((outcome["codes"] for outcome in outcomes), Counter())
    failures = [failure for outcome in outcomes for failure in outcome["failures"]]
    cpu = [round(outcome["cpu_s"], 1) for outcome in outcomes]
    print(f"\n{sum(codes.values())} hostile submissions in {seconds:.1f} s on {workers} "
          f"processes (CPU time each: {cpu} s): {dict(codes)}")
    assert sum(codes.values()) == len(submissions)
    assert failures == []
    assert all(isinstance(code, int) and code < 500 for code in codes)
