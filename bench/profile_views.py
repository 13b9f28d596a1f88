"""Where a request's time goes: one case of the web benchmark, in one process, under cProfile.

    .venv/bin/python bench/profile_views.py page|sign|trivial|insert [--requests 500] [--sql]

Runs against the database the last ``bench/campaign_web.py`` run left (``crm_bench``), through
the Django test client with the same production settings (DEBUG off), so it needs that run
first. Prints the queries of one request (``--sql`` shows them) and the functions that took the
most time over ``--requests`` requests.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.campaign_web import DATABASE, sign_fields  # noqa: E402

FORM = "application/x-www-form-urlencoded"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["page", "sign", "trivial", "insert"])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--slug", default="awareness-month")
    parser.add_argument("--sql", action="store_true", help="print the queries of one request")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args()

    stack = harness.Stack(name="profile", database=DATABASE)
    stack.activate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from members.models import Organization

    call_command("collectstatic", interactive=False, verbosity=0)  # production's manifest
    client = Client(HTTP_HOST="127.0.0.1")
    page = f"/campaigns/{args.slug}/"
    member = Organization.objects.order_by("pk").values_list("name", flat=True).first()
    counter = iter(range(10**9))

    def request():
        if args.case == "page":
            return client.get(page)
        if args.case == "trivial":
            return client.get("/bench/trivial")
        if args.case == "insert":
            return client.post("/bench/insert", "note=p", content_type=FORM)
        n = next(counter)
        data = {
            "name": f"Profile Signer {n}",
            "email": f"profile-{time.time_ns()}-{n}@benchprofile.example.org",
            "affiliation": [member, "Lanturn Houze", "Concerned parent", ""][n % 4],
            **sign_fields(),
        }
        # As a browser (and wrk) sends it, not as the test client's default multipart.
        return client.post(page, urlencode(data), content_type=FORM)

    try:
        request()  # warm: templates, connections, caches
        with CaptureQueriesContext(connection) as queries:
            response = request()
        print(f"{args.case}: status {response.status_code}, {len(queries)} queries")
        if args.sql:
            for query in queries:
                print(f"  {query['time']}s  {query['sql'][:300]}")
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            request()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"{args.requests} requests in {seconds:.2f} s: {seconds / args.requests * 1000:.2f} "
            f"ms each ({args.requests / seconds:,.0f}/s in one process), of which "
            f"{cpu / args.requests * 1000:.2f} ms CPU in this process (the rest is waiting, "
            "mostly for the database)"
        )
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(args.requests):
            request()
        profiler.disable()
        seconds = time.perf_counter() - started
        print(
            f"{args.requests} requests in {seconds:.2f} s under the profiler: "
            f"{seconds / args.requests * 1000:.2f} ms each"
        )
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    finally:
        stack.cleanup()


if __name__ == "__main__":
    main()
