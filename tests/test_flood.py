"""A hostile server that answers fast and without end (issue 12, M1).

A silent or dripping server is held to the deadline by the watchdog; a fast
one used to hold a worker far past it and push it to gigabytes, because every
line of an endless reply was kept and cleaned. Each case below runs one test
through the app in a process of its own, which measures its own peak memory
(VmHWM) around the hostile test, after a warm-up test against a well-behaved
server.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

DEADLINE = 3.0
# Enough to push a worker that keeps what it reads well past the 50 MB bound.
FLOOD_BYTES = 400 * 1024 * 1024
MAX_GROWTH_KB = 50 * 1024

WORKER = textwrap.dedent("""
    import json, re, sys, time
    from webapp import create_app

    instance, deadline, warm_up, hostile = sys.argv[1], float(sys.argv[2]), *map(json.loads, sys.argv[3:5])

    def peak_kb():
        with open("/proc/self/status") as status:
            return int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))

    app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "flood", "MAIL_DEADLINE": deadline,
                      "RATELIMIT_MAIL": "1000 per minute"})
    client = app.test_client()
    client.get("/signin/" + app.extensions["store"].issue_signin_token(60))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/en/settings").get_data(as_text=True)).group(1)

    def test(form):
        response = client.post("/en/settings/test", data={"csrf_token": token, **form},
                               headers={"HX-Request": "true"})
        return response.status_code, response.get_data(as_text=True)

    code, html = test(warm_up)
    assert code == 200 and "The test email was sent" in html, html
    before = peak_kb()
    started = time.monotonic()
    code, html = test(hostile)
    elapsed = time.monotonic() - started
    text = re.sub(r"\\s+", " ", re.sub(r"<[^>]+>", " ", html))
    print(json.dumps({"status": code, "seconds": elapsed, "grew_kb": peak_kb() - before,
                      "text": text[:3000]}))
""")


def run_worker(tmp_path, warm_up: dict, hostile: dict) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path / "instance"), str(DEADLINE),
         json.dumps(warm_up), json.dumps(hostile)],
        cwd=root, env={**os.environ, "PYTHONPATH": root}, capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def smtp_settings(port: int) -> dict:
    return {"protocol": "SMTP", "smtp_host": "127.0.0.1", "smtp_port": str(port),
            "smtp_security": "opportunistic", "from_address": "office@example.com"}


def flood(conn, head: bytes, line: bytes, tail: bytes = b"") -> None:
    """Send `head`, then `line` over and over as fast as the client reads,
    up to FLOOD_BYTES, then `tail`; stop when the client leaves."""
    conn.sock.settimeout(10)
    block = line * max(1, (256 * 1024) // len(line))
    try:
        conn.sock.sendall(head)
        sent = 0
        while sent < FLOOD_BYTES and not conn.server.stopping.is_set():
            conn.sock.sendall(block)
            sent += len(block)
        conn.sock.sendall(tail)
    except OSError:
        return
    conn.sock.settimeout(0.1)
    conn.wait_closed()


def greeting_flood(conn):
    flood(conn, b"", b"220-" + b"F" * 8000 + b"\r\n", b"220 done\r\n")


def ehlo_flood(conn):
    conn.send("220 flood.test ESMTP")
    conn.read_line()
    flood(conn, b"", b"250-" + b"E" * 8000 + b"\r\n", b"250 done\r\n")


def short_line_flood(conn):
    # Many short lines: the cost is per line, not per byte.
    flood(conn, b"", b"220-x\r\n", b"220 done\r\n")


def data_reply_flood(conn):
    conn.send("220 flood.test ESMTP")
    while (line := conn.read_line()) is not None:
        verb = line.split(" ", 1)[0].upper()
        if verb == "EHLO":
            conn.send("250 flood.test")
        elif verb == "DATA":
            conn.send("354 go on")
            conn.read_data()
            flood(conn, b"", b"250-" + b"D" * 8000 + b"\r\n", b"250 done\r\n")
            return
        else:
            conn.send("250 ok")


def http_request_head(conn) -> None:
    while conn.read_line() not in (None, ""):
        pass


def http_header_flood(conn):
    http_request_head(conn)
    flood(conn, b"HTTP/1.1 200 OK\r\n", b"X-Flood: " + b"H" * 8000 + b"\r\n", b"\r\n")


def http_body_flood(conn):
    http_request_head(conn)
    flood(conn, b"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\n\r\n", b"B" * 8000 + b"\r\n")


def http_continue_flood(conn):
    http_request_head(conn)
    flood(conn, b"", b"HTTP/1.1 100 Continue\r\n\r\n")


SMTP_FLOODS = [greeting_flood, ehlo_flood, short_line_flood, data_reply_flood]
HTTP_FLOODS = [http_header_flood, http_body_flood, http_continue_flood]


@pytest.mark.parametrize("script", SMTP_FLOODS + HTTP_FLOODS, ids=lambda script: script.__name__)
def test_a_flooding_server_is_stopped_within_the_deadline_and_memory_bound(
        tmp_path, fault_server, fault_scripts, script):
    well_behaved = fault_server(fault_scripts.smtp())
    hostile = fault_server(script)
    if script in HTTP_FLOODS:
        form = {"protocol": "HTTP", "http_url": f"http://127.0.0.1:{hostile.port}/send",
                "http_reply_to": "office@example.com"}
    else:
        form = smtp_settings(hostile.port)
    outcome = run_worker(tmp_path, smtp_settings(well_behaved.port), form)
    assert outcome["status"] == 200
    assert outcome["seconds"] < DEADLINE + 1, outcome
    assert outcome["grew_kb"] < MAX_GROWTH_KB, outcome
    # The test ended with a diagnosis, not as sent and not as our own error.
    assert "The test email was sent" not in outcome["text"]
    assert "Something went wrong in Sendwell" not in outcome["text"]
    assert hostile.connections >= 1


def test_a_flooding_smtp_reply_is_diagnosed_as_not_smtp(tmp_path, fault_server, fault_scripts):
    outcome = run_worker(tmp_path, smtp_settings(fault_server(fault_scripts.smtp()).port),
                         smtp_settings(fault_server(greeting_flood).port))
    assert "This is not a mail server" in outcome["text"], outcome
    # What is shown of the flood is a short excerpt.
    assert "F" * 400 not in outcome["text"]
