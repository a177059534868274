"""Where a fields fragment and a settings page spend their time (issue 17).

    .venv/bin/python bench/profile_fragment.py [--page] [--tested] [--requests N] [--top N]

Runs the app in this process (Flask's test client: no gunicorn, no network),
signed in as figure 1 of bench/run.py is, makes N requests of the same shape
as figure 1 under cProfile and prints the top entries by own time and by
cumulative time. `--tested` records one test run first, so the fragment takes
the path it takes once any test has been run. Point PYTHONPATH at another
checkout to profile that one.
"""
import argparse
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from urllib.parse import urlencode
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import FRAGMENT_EXPECT, FRAGMENT_FORM, PAGE_EXPECT  # noqa: E402

from webapp import create_app  # noqa: E402


def signed_in_client(app):
    client = app.test_client()
    token = app.extensions["store"].issue_signin_token(60)
    assert client.get(f"/signin/{token}").status_code == 302
    html = client.get("/en/settings").get_data(as_text=True)
    client.csrf_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", action="store_true", help="the settings page, not the fragment")
    parser.add_argument("--tested", action="store_true", help="with a test run on record")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance, "SECRET_KEY": "profile"})
        store = app.extensions["store"]
        if options.tested:
            store.record_test("a run before this one", False)
        client = signed_in_client(app)
        headers = {"HX-Request": "true", "X-CSRFToken": client.csrf_token,
                   "Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode(FRAGMENT_FORM)

        def one():
            if options.page:
                answer = client.get("/en/settings")
                expect = PAGE_EXPECT
            else:
                answer = client.post("/en/settings/fields", data=body, headers=headers)
                expect = FRAGMENT_EXPECT
            assert answer.status_code == 200 and expect in answer.get_data(as_text=True)

        for _ in range(50):  # warm: templates compiled, catalogs loaded
            one()
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for _ in range(options.requests):
            one()
        profile.disable()
        elapsed = time.perf_counter() - started
    what = "settings page" if options.page else "fields fragment"
    print(f"{options.requests} × {what}{' (a test on record)' if options.tested else ''}: "
          f"{elapsed / options.requests * 1000:.2f} ms a request under cProfile")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(options.top)
        print(f"\n--- by {order} ---")
        print(out.getvalue().split("\n\n", 2)[-1].strip())


if __name__ == "__main__":
    main()
