"""A partner's full sync through the REST API: every contact and every signature by cursor pages.

    .venv/bin/python bench/api_sync.py [--contacts 10000] [--signatures 100000] [--page-size 500]

Against its own PostgreSQL database ``crm_bench_api`` (dropped and created) and Redis databases 9
(cache, where the per-key rate counts live) and 10 (broker; no worker runs), with production
settings (DEBUG off), it seeds the contacts (each affiliated with one of 224 member organisations)
and the signatures (ten open statements, each signed by every contact) in bulk, starts gunicorn
(sync workers, as the Procfile runs it) and pulls ``/api/v1/contacts/`` then
``/api/v1/signatures/`` with ``requests``, one page after another by their ``next`` links, as a
partner's script would: records per second (target of issue 6: at least 5,000/s).

Measured in the same run, for comparison:
- the floor of the work itself: the same rows read in the same keyset pages by a plain SELECT
  in this process and serialised with ``json.dumps`` (no HTTP, no Django, no access rules);
- what HTTP alone costs: as many requests to the trivial view of ``bench.settings`` as the sync
  sent, one after another on one connection.

It also counts the database queries of every list endpoint the router serves, at 1 and at 100
rows, in this process (the test client, CaptureQueriesContext): the same number both times.

It rewrites its section of docs/benchmarks.md (``--no-docs`` leaves it alone) and prints MET or
MISSED. Processes it started are stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DATABASE = "crm_bench_api"
SECTION = "api_sync"
CACHE_DB, BROKER_DB = 9, 10
CAMPAIGNS = 10
RATE_TARGET = 5000.0  # records per second, issue 6

GIVEN = ["Ana", "Ben", "Chidi", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo"]
FAMILY = ["Abara", "Bell", "Cruz", "Diallo", "Evans", "Fox", "Garza", "Holt", "Ito", "Kim"]


# --- Data ----------------------------------------------------------------------------------


def seed(*, contacts: int, signatures: int) -> dict:
    """Organisations, contacts with their affiliations, statements and signatures, in bulk; a
    hundred rows or more of every other listed resource (for the query counts); and a partner
    key with the read scopes. Returns what was made."""
    from django.db import connection
    from django.utils import timezone

    from api.keys import api_key_create, partner_create
    from api.models import WebhookDelivery, WebhookEndpoint
    from bench.campaign_web import coalition_seed
    from campaigns.models import Campaign, Signature
    from mailings.models import Delivery, Mailing
    from members.models import Affiliation, Contact, Interaction, Organization, Tag
    from toolkits.demo import toolkit_demo_seed
    from toolkits.models import TalkingPoint, Toolkit

    first = coalition_seed("sync-statement-1")
    campaigns = [first]
    for n in range(2, CAMPAIGNS + 1):
        campaigns.append(
            Campaign.objects.create(
                title=f"Statement {n}", slug=f"sync-statement-{n}", statement="We stand.",
                status=Campaign.Status.OPEN,
            )
        )  # fmt: skip
    organizations = list(Organization.objects.order_by("pk"))
    batch = 2000
    made = []
    for start in range(0, contacts, batch):
        made += Contact.objects.bulk_create(
            Contact(
                given_name=GIVEN[n % len(GIVEN)],
                family_name=FAMILY[n // len(GIVEN) % len(FAMILY)],
                email=f"member-{n:06d}@members.example.org",
                phone=f"+1404555{n % 10000:04d}" if n % 10 < 3 else "",
                language="es" if n % 5 == 0 else "en",
            )
            for n in range(start, min(start + batch, contacts))
        )
    Affiliation.objects.bulk_create(
        (
            Affiliation(
                contact=contact,
                organization=organizations[index % len(organizations)],
                role=Affiliation.Role.PRIMARY if index < len(organizations) else "staff",
            )
            for index, contact in enumerate(made)
        ),
        batch_size=batch,
    )
    now = timezone.now()
    per_campaign = -(-signatures // len(campaigns))
    rows = []
    for campaign in campaigns:
        for index, contact in enumerate(made[:per_campaign]):
            if len(rows) >= signatures:
                break
            organization = organizations[index % len(organizations)]
            rows.append(
                Signature(
                    campaign=campaign, contact=contact, organization=organization,
                    name=f"{contact.given_name} {contact.family_name}",
                    affiliation=organization.name, email=contact.email,
                    canonical_email=contact.email, phone=contact.phone,
                    confirmed_at=now, email_domain="members.example.org",
                )
            )  # fmt: skip
    Signature.objects.bulk_create(rows, batch_size=5000)

    # Enough of every other resource for a page of 100 in the query counts.
    tags = Tag.objects.bulk_create(Tag(name=f"Tag {n}", slug=f"tag-{n}") for n in range(120))
    for organization in organizations[:120]:
        organization.tags.add(tags[organization.pk % len(tags)])
    Interaction.objects.bulk_create(
        Interaction(organization=organizations[n % len(organizations)], contact=made[n],
                    subject=f"Call {n}", text="Talked about the toolkit.")
        for n in range(min(150, len(made)))
    )  # fmt: skip
    mailing = Mailing.objects.create(name="Sync mailing", subject="News", body="Dear friend")
    Delivery.objects.bulk_create(
        Delivery(mailing=mailing, contact=contact, organization=organizations[0],
                 email=contact.email)
        for contact in made[:150]
    )  # fmt: skip
    for n in range(2, 121):
        Mailing.objects.create(name=f"Mailing {n}", subject="News", body="Dear friend")
    Campaign.objects.bulk_create(
        Campaign(title=f"Past statement {n}", slug=f"past-statement-{n}", statement="We stood.",
                 status=Campaign.Status.CLOSED)
        for n in range(110)
    )  # fmt: skip
    toolkit_demo_seed()  # one whole toolkit, and more with a talking point each
    toolkits = Toolkit.objects.bulk_create(
        Toolkit(title=f"Toolkit {n}", slug=f"toolkit-{n}", status=Toolkit.Status.PUBLISHED,
                campaign=first)
        for n in range(120)
    )  # fmt: skip
    TalkingPoint.objects.bulk_create(
        TalkingPoint(toolkit=toolkit, heading="Facts first", text="Share the hotline.")
        for toolkit in toolkits
    )
    partner = partner_create(name="Bench partner")
    endpoints = WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(partner=partner, url=f"https://hooks.example.org/{n}",
                        events=["signature.created"], secret="s" * 40)
        for n in range(120)
    )  # fmt: skip
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoints[n % len(endpoints)], event="signature.created",
                        payload={"n": n})
        for n in range(150)
    )  # fmt: skip
    with connection.cursor() as cursor:
        for table in ("members_contact", "members_affiliation", "campaigns_signature"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    from api.scopes import SCOPES

    _, key = api_key_create(partner=partner, scopes=list(SCOPES))
    return {"key": key, "contacts": len(made), "signatures": len(rows)}


# --- The sync ------------------------------------------------------------------------------


def sync(base: str, path: str, *, key: str, page_size: int) -> dict:
    """Pulls every page of ``path`` by its ``next`` links; the records, pages, seconds."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    url = f"{base}{path}?page_size={page_size}"
    records = pages = 0
    ids: set = set()
    started = time.perf_counter()
    while url:
        response = session.get(url, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
        body = response.json()
        records += len(body["results"])
        ids.update(row["id"] for row in body["results"])
        pages += 1
        url = body.get("next")
    seconds = time.perf_counter() - started
    return {
        "path": path,
        "records": records,
        "distinct": len(ids),
        "pages": pages,
        "seconds": seconds,
        "rate": records / seconds if seconds else 0.0,
    }


def plain_select(table: str, *, page_size: int) -> dict:
    """The floor: every row of ``table`` in keyset pages of ``page_size``, every column, each
    page as a list of dicts through ``json.dumps``; in this process, on this connection."""
    from django.db import connection

    started = time.perf_counter()
    records = pages = 0
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                f"SELECT * FROM {table} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                [last, page_size],
            )
            columns = [c.name for c in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            if not rows:
                break
            json.dumps({"results": rows}, default=str)
            records += len(rows)
            pages += 1
            last = rows[-1]["id"]
    seconds = time.perf_counter() - started
    return {"table": table, "records": records, "pages": pages, "seconds": seconds,
            "rate": records / seconds if seconds else 0.0}  # fmt: skip


def trivial_round_trips(base: str, count: int) -> float:
    """Seconds for ``count`` sequential GETs of the trivial view on one connection."""
    import requests

    session = requests.Session()
    started = time.perf_counter()
    for _ in range(count):
        session.get(f"{base}/bench/trivial", timeout=30).raise_for_status()
    return time.perf_counter() - started


# --- Query counts --------------------------------------------------------------------------


def query_counts(key: str) -> list[dict]:
    """Queries of every list endpoint the router serves, at page_size 1 and 100, through the
    test client in this process (a warm-up request first, so no first-request caching counts)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from api.urls import router

    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    out = []
    for pattern in router.urls:
        actions = getattr(pattern.callback, "actions", {})
        if pattern.pattern.regex.groupindex or actions.get("get") != "list":
            continue
        path = reverse(f"api:{pattern.name}")
        client.get(f"{path}?page_size=1")
        row = {"path": path}
        for size in (1, 100):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(f"{path}?page_size={size}")
            body = response.json() if response.status_code == 200 else {}
            row[size] = len(captured)
            row[f"rows{size}"] = len(body.get("results", []))
            row["status"] = response.status_code
        out.append(row)
    return out


def profile_page(key: str, path: str, page_size: int) -> str:
    """cProfile of one page of ``path`` in this process (the test client), sorted by
    cumulative time: where an API page spends its time."""
    import cProfile
    import io
    import pstats

    from django.test import Client

    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get(f"{path}?page_size={page_size}")
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(f"{path}?page_size={page_size}")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


# --- The run -------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--signatures", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--repeat", type=int, default=3, help="syncs of each (median reported)")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of one page of each list"
    )
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the scratch CRM_VAR_DIR")
    args = parser.parse_args()
    harness.install_cleanup()
    stack = harness.Stack(
        name="api-sync", database=DATABASE, cache_db=CACHE_DB, broker_db=BROKER_DB
    )
    try:
        run(stack, args)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping gunicorn", file=sys.stderr)
        sys.exit(130)
    finally:
        harness.stop_all()
        stack.cleanup(keep=args.keep)


def _median(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]


def run(stack, args):  # noqa: PLR0915 - one run, told in order
    import statistics

    command = " ".join([".venv/bin/python bench/api_sync.py", *sys.argv[1:]])
    print(f"database {DATABASE}; redis db {CACHE_DB} (cache), {BROKER_DB} (broker)")
    stack.reset()
    stack.activate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seeded = seed(contacts=args.contacts, signatures=args.signatures)
    connections.close_all()
    seed_seconds = time.perf_counter() - started
    print(
        f"migrated and seeded {seeded['contacts']:,} contacts and {seeded['signatures']:,} "
        f"signatures in {seed_seconds:.1f} s"
    )
    counts = query_counts(seeded["key"])
    if args.profile:
        for name in ("contacts", "signatures"):
            print(profile_page(seeded["key"], f"/api/v1/{name}/", args.page_size))
    connections.close_all()
    for row in counts:
        print(f"  {row['path']:32} queries at 1 row: {row[1]:3}  at 100 rows: {row[100]:3} "
              f"({row['rows100']} rows, {row['status']})")  # fmt: skip

    results: dict[str, list[dict]] = {"contacts": [], "signatures": []}
    floors: dict[str, list[dict]] = {"contacts": [], "signatures": []}
    trivial: list[float] = []
    busy = []
    cpu_parts = []
    with harness.Gunicorn(stack, workers=args.workers) as server:
        sync(server.url, "/api/v1/contacts/", key=seeded["key"], page_size=args.page_size)
        for attempt in range(args.repeat):
            busy.append(harness.wait_quiet(timeout=30))
            pids = harness.database_pids(stack)
            before = harness.cpu_by_process({server.process.pid}, pids)
            mine = os.times()
            wall = time.perf_counter()
            for name in ("contacts", "signatures"):
                result = sync(
                    server.url, f"/api/v1/{name}/", key=seeded["key"], page_size=args.page_size
                )
                results[name].append(result)
                print(f"  sync {attempt + 1}: {name:10} {result['records']:7,} records in "
                      f"{result['pages']:3} pages, {result['seconds']:6.2f} s = "
                      f"{result['rate']:8,.0f}/s")  # fmt: skip
            wall = time.perf_counter() - wall
            after = harness.cpu_by_process({server.process.pid}, harness.database_pids(stack))
            spent = os.times()
            gunicorn_pids = set(harness.cpu_by_process({server.process.pid}))
            app = sum(
                after[p] - before.get(p, 0.0) for p in after if p in gunicorn_pids
            )  # fmt: skip
            total = harness.cpu_spent(before, after)
            client = (spent.user + spent.system) - (mine.user + mine.system)
            cpu_parts.append({"app": app, "db": total - app, "client": client, "wall": wall})
            pages = sum(r["pages"] for r in (results["contacts"][-1], results["signatures"][-1]))
            trivial.append(trivial_round_trips(server.url, pages) / pages)
        server_log = server.log_tail()
    for _ in range(args.repeat):
        for name, table in (("contacts", "members_contact"), ("signatures", "campaigns_signature")):
            floors[name].append(plain_select(table, page_size=args.page_size))

    contacts, signatures = _median(results["contacts"]), _median(results["signatures"])
    records = contacts["records"] + signatures["records"]
    seconds = contacts["seconds"] + signatures["seconds"]
    rate = records / seconds
    floor_c, floor_s = _median(floors["contacts"]), _median(floors["signatures"])
    floor_rate = (floor_c["records"] + floor_s["records"]) / (
        floor_c["seconds"] + floor_s["seconds"]
    )
    trivial_ms = statistics.median(trivial) * 1000
    cpu = {k: statistics.median(p[k] for p in cpu_parts) for k in ("app", "db", "client", "wall")}
    pages = contacts["pages"] + signatures["pages"]
    complete = (
        contacts["distinct"] == seeded["contacts"]
        and signatures["distinct"] == seeded["signatures"]
    )
    met = rate >= RATE_TARGET and complete
    print()
    print(f"full sync: {records:,} records in {seconds:.2f} s = {rate:,.0f} records/s")
    print(f"plain SELECT + json.dumps in-process: {floor_rate:,.0f} records/s "
          f"(API at {rate / floor_rate:.0%} of it)")  # fmt: skip
    print(
        f"trivial view round trip: {trivial_ms:.2f} ms; API page: {1000 * seconds / pages:.1f} ms"
    )
    print(f"CPU during a sync: gunicorn {cpu['app']:.2f} s, database {cpu['db']:.2f} s, "
          f"client {cpu['client']:.1f} s, in {cpu['wall']:.1f} s")  # fmt: skip
    verdict = (
        f"full sync of {seeded['contacts']:,} contacts and {seeded['signatures']:,} signatures by "
        f"cursor pages of {args.page_size} at {RATE_TARGET:,.0f} records/s or more: "
        f"{rate:,.0f} records/s"
        + ("" if complete else " (**incomplete**: not every row came back exactly once)")
    )
    print(f"{'MET   ' if met else 'MISSED'} {verdict}")
    if not complete:
        print(f"  contacts {contacts['distinct']:,}/{seeded['contacts']:,}, signatures "
              f"{signatures['distinct']:,}/{seeded['signatures']:,}")  # fmt: skip
        print(f"gunicorn log:\n{server_log}")
    if args.no_docs:
        return

    m = harness.machine()
    v = harness.versions(stack)
    v.pop("wrk", None)
    import requests

    v["requests"] = requests.__version__
    rows = [
        f"| `{r['path']}` | {r['records']:,} | {r['pages']} | {r['seconds']:.2f} s | "
        f"{r['rate']:,.0f} |"
        for r in (contacts, signatures)
    ]
    rows.append(f"| **full sync** | {records:,} | {pages} | {seconds:.2f} s | **{rate:,.0f}** |")
    floor_rows = [
        f"| `{f['table']}` | {f['records']:,} | {f['pages']} | {f['seconds']:.2f} s | "
        f"{f['rate']:,.0f} |"
        for f in (floor_c, floor_s)
    ]
    count_rows = [
        f"| `{r['path']}` | {r[1]} | {r[100]} | {r['rows100']} |"
        + (" |" if r[1] == r[100] else " **differs** |")
        for r in counts
    ]
    lines = [
        "## A partner's full sync through the API (`api_sync`)",
        "",
        f"{seeded['contacts']:,} contacts (each affiliated with one of 224 member organisations, "
        f"30% with a phone number) and {seeded['signatures']:,} signatures ({CAMPAIGNS} open "
        "statements, each signed by every contact), inserted with `bulk_create`, then "
        "`VACUUM ANALYZE`. gunicorn "
        f"({args.workers} sync workers) on PostgreSQL (its own database `{DATABASE}`) and Redis "
        f"(database {CACHE_DB}: the cache, where the per-key rate counts live) with "
        "production settings (DEBUG off, the default rate limit per key). The client is a "
        "`requests` session in the benchmark's process with a partner key holding every scope "
        f"(coalition-wide): `GET /api/v1/contacts/?page_size={args.page_size}`, then each `next` "
        "link until there is none, then the same for `/api/v1/signatures/`, one request at a "
        f"time, as a partner's script would. {args.repeat} syncs after one warm-up sync of the "
        "contacts; the median sync of each is reported.",
        "",
        "| list | records | pages | seconds | records/s |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"Every row came back exactly once: {'yes' if complete else '**no**'}.",
        "",
        "For comparison, measured in the same run:",
        "",
        f"- The floor of the work: the same rows in the same keyset pages of {args.page_size} "
        "by a plain `SELECT * ... WHERE id > %s ORDER BY id LIMIT n` in the benchmark's "
        "process, each page serialised with `json.dumps` (no HTTP, no Django, no access rules): "
        f"{floor_rate:,.0f} records/s; the API sync runs at {rate / floor_rate:.0%} of it.",
        "",
        "  | table | records | pages | seconds | records/s |",
        "  | --- | ---: | ---: | ---: | ---: |",
        *[f"  {row}" for row in floor_rows],
        "",
        f"- HTTP alone: a GET of the trivial view of `bench.settings` (same middleware) takes "
        f"{trivial_ms:.2f} ms on the same connection; an API page of {args.page_size} takes "
        f"{1000 * seconds / pages:.1f} ms.",
        f"- CPU during a full sync (median): gunicorn's workers {cpu['app']:.1f} s, PostgreSQL "
        f"{cpu['db']:.1f} s, the client {cpu['client']:.1f} s, in {cpu['wall']:.1f} s of wall "
        "time.",
        "",
        "Target of issue 6:",
        "",
        f"- {'met' if met else '**missed**'}: {verdict}.",
        "",
        "Database queries of each list endpoint the router serves, counted in one process "
        "through the Django test client with the same key (after a warm-up request), at "
        "`page_size=1` and `page_size=100`; rows is what the second request returned (fewer "
        "than 100 where fewer exist or the key may not see them):",
        "",
        "| list | queries at 1 row | queries at 100 rows | rows | |",
        "| --- | ---: | ---: | ---: | --- |",
        *count_rows,
        "",
        f"Other work on the machine just before a sync took at most {max(busy):.0%} of the "
        f"cores ({os.cpu_count()}).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}. "
        + ", ".join(f"{name} {version}" for name, version in v.items())
        + f"; measured {time.strftime('%Y-%m-%d')}.",
        f"Command: `{command}`",
    ]
    harness.docs_section_write(SECTION, lines)


if __name__ == "__main__":
    main()
