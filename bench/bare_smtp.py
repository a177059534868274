"""The baseline of figure 2: the same test email sent by a bare smtplib script.

STARTTLS (verifying the server against the given CA), AUTH, one small
message, QUIT: what Sendwell's Test button does, minus the tool. Runs in its
own process, as Sendwell does, so it never competes with the bench's SMTP
server for the interpreter. Each send is timed from the connection to the
answer to QUIT; the interpreter's start-up is not counted.

    python bench/bare_smtp.py HOST PORT CAFILE RECIPIENT WARMUP RUNS
    (user and password in BENCH_SMTP_USER and BENCH_SMTP_PASSWORD)

Prints a JSON list of the timed runs, in milliseconds.
"""
import json
import os
import smtplib
import ssl
import sys
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


def send_once(host: str, port: int, cafile: str, user: str, password: str, recipient: str) -> None:
    message = EmailMessage()
    message["From"] = user
    message["To"] = recipient
    message["Subject"] = "Bare smtplib test email"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content("Hello,\n\nThis is a test email sent by a bare smtplib script.\n")
    context = ssl.create_default_context(cafile=cafile)
    # An explicit EHLO name, as Sendwell uses: smtplib would otherwise look
    # up socket.getfqdn(), which is not what is being compared here.
    with smtplib.SMTP(host, port, local_hostname="[127.0.0.1]", timeout=10) as smtp:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        smtp.login(user, password)
        smtp.send_message(message)
    # Leaving the with block sends QUIT and waits for its answer.


def main() -> None:
    host, port, cafile, recipient, warmup, runs = sys.argv[1:7]
    user, password = os.environ["BENCH_SMTP_USER"], os.environ["BENCH_SMTP_PASSWORD"]
    times = []
    for index in range(int(warmup) + int(runs)):
        started = time.perf_counter()
        send_once(host, int(port), cafile, user, password, recipient)
        if index >= int(warmup):
            times.append((time.perf_counter() - started) * 1000)
    print(json.dumps(times))


if __name__ == "__main__":
    main()
