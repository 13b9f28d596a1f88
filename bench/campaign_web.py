"""Web benchmark of the campaign pages under gunicorn, PostgreSQL and Redis, against two ceilings.

    .venv/bin/python bench/campaign_web.py [--duration 10] [--signatures 1000,1000000]

In one run, against its own database ``crm_bench`` (dropped and created) and Redis databases 5
(cache) and 6 (Celery broker), both flushed, with production settings (DEBUG off): it seeds 224
member organisations and the demo statement, starts gunicorn with sync workers (trying a few
worker counts on the trivial view and keeping the fastest), then drives it with wrk on loopback,
``--repeat`` runs of ``--duration`` seconds per case, each case interleaved with its ceiling:
the two ceilings (a trivial view and a one-row ORM insert, from ``bench.settings``), the campaign
page GET with each number of signatures stored, and the sign POST with a new e-mail each request
(double opt-in: the confirmation is left to a Celery task, counted in Redis after).
It then rewrites its section of docs/benchmarks.md (``--no-docs`` leaves it alone) and says
whether each target of issue 4 is met. Processes it started are stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import itertools
import os
import secrets
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DATABASE = "crm_bench"
SECTION = "campaign_web"
CSRF_TOKEN_CHARS = string.ascii_letters + string.digits

# Targets of issue 4, as ratios of the ceiling measured in the same run.
SIGN_TARGET_RATIO = 0.5
SIGN_TARGET_P99_MS = 250.0
PAGE_TARGET_RATIO = 0.5


@dataclasses.dataclass
class Case:
    key: str
    label: str
    result: harness.Summary
    ceiling_rate: float | None = None  # the ceiling's median rate, measured alongside
    stored: int | None = None  # signatures stored when measured
    queries: int | None = None  # database queries per request, steady state
    note: str = ""


# --- Data ----------------------------------------------------------------------------------

GIVEN = ["Ana", "Ben", "Chidi", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kofi",
         "Lena", "Mateo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tova"]  # fmt: skip
FAMILY = ["Abara", "Bell", "Cruz", "Diallo", "Evans", "Fox", "Garza", "Holt", "Ito", "Juarez",
          "Kim", "Lund", "Mora", "Novak", "Ortiz", "Park", "Quist", "Reyes", "Silva",
          "Tran"]  # fmt: skip
PUBLIC_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "comcast.net"]
MESSAGES = [
    "Facts protect children. Rumours do not.",
    "Proud to stand with our neighbours on this.",
    "Share the hotline, not the hoax.",
    "Learn the facts before you share.",
]
FREE_AFFILIATIONS = ["Concerned parent", "Volunteer", "Retired teacher", "Student", "Nurse"]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


ORG_WORDS = ["Lantern", "Cedar", "Harbor", "Maple", "Northgate", "Riverbend", "Summit", "Willow",
             "Beacon", "Juniper", "Meadow", "Granite", "Orchard", "Aspen", "Falcon",
             "Prairie"]  # fmt: skip
ORG_KINDS = ["House", "Alliance", "Foundation", "Academy", "Church", "Partners", "Network",
             "Project", "Fund", "Center", "Outreach", "Collective", "Coalition",
             "Ministries"]  # fmt: skip
ORGANIZATIONS = 224  # as many member organisations as the demo coalition has


def coalition_seed(slug: str):
    """The coalition the pages are measured on: 224 member organisations across the sectors
    (the affiliation matcher compares against all of them), and the demo statement with its
    texts and resources, open now, with double opt-in and abuse limits no benchmark reaches
    (every request comes from 127.0.0.1, and every sign must be an ordinary one)."""
    from django.utils import timezone
    from django.utils.text import slugify

    from campaigns import demo
    from campaigns.models import Campaign, CampaignResource
    from members.models import Organization, Sector
    from members.normalize import organization_match_key

    sectors = list(Sector.objects.order_by("position"))
    names = [f"{w} {k}" for k in ORG_KINDS for w in ORG_WORDS][:ORGANIZATIONS]
    Organization.objects.bulk_create(
        Organization(
            name=name,
            slug=slugify(name),
            match_key=organization_match_key(name),
            sector=sectors[index % len(sectors)],
            status=Organization.Status.ACTIVE,
        )
        for index, name in enumerate(names)
    )
    fields = {f.name for f in Campaign._meta.get_fields()}
    campaign = Campaign(slug=slug, **{k: v for k, v in demo.AWARENESS_MONTH.items() if k in fields})
    campaign.status = Campaign.Status.OPEN
    campaign.opens_at = timezone.now() - datetime.timedelta(days=7)
    campaign.closes_at = timezone.now() + datetime.timedelta(days=30)
    campaign.double_opt_in = True
    campaign.public_list = True
    campaign.rate_limit_per_ip = 2_000_000_000
    campaign.rate_limit_per_domain = 2_000_000_000
    campaign.save()
    CampaignResource.objects.bulk_create(
        CampaignResource(campaign=campaign, position=index, **resource)
        for index, resource in enumerate(getattr(demo, "RESOURCES", []))
    )
    return campaign


def signatures_fill(campaign, total: int) -> int:
    """Tops the campaign up to ``total`` signatures in one INSERT ... SELECT generate_series
    statement, each with its own contact: realistic names, e-mails (some at public providers,
    canonical form as the product stores it), member affiliations, messages, 95% confirmed,
    spread over 30 days. Then VACUUM ANALYZE and the beat task that refreshes the counts.
    Returns how many signatures the campaign has."""
    from django.db import connection

    from campaigns.models import Signature
    from campaigns.services import campaign_signature_counts_refresh
    from members.models import Contact

    existing = Signature.objects.filter(campaign=campaign).count()
    missing = total - existing
    if missing <= 0:
        return existing
    start = Contact.objects.count() + 1  # e-mails stay unique across top-ups
    # Values for any column not set below (a field added later), from the model's defaults.
    set_here = {
        "id", "created", "modified", "campaign", "contact", "organization", "name",
        "affiliation", "email", "canonical_email", "phone", "message", "show_publicly",
        "confirmed_at", "source", "referral_code", "ip_address", "confirmation_sends",
        "confirmation_sent_at", "organization_match_score", "flagged", "flag_reason",
        "email_domain", "share_code", "message_status",
    }  # fmt: skip
    extra_columns, extra_sql_values, extra_values = [], [], []
    for field in Signature._meta.concrete_fields:
        if field.name in set_here:
            continue
        extra_columns.append(field.column)
        if field.name == "processed_at":
            # Stored signatures are old ones, done with, should the product keep an outbox.
            extra_sql_values.append("created")
        else:
            extra_sql_values.append("%s")
            extra_values.append(field.get_default() if field.has_default() else None)
    extra_sql = "".join(f", {column}" for column in extra_columns)
    extra_params = "".join(f", {value}" for value in extra_sql_values)
    # Only constants of this file are formatted into the statement; values are parameters.
    sql = f"""
    WITH orgs AS (
        SELECT array_agg(id ORDER BY id) AS ids, array_agg(name ORDER BY id) AS names,
               count(*) AS n
        FROM members_organization
    ), people AS (
        SELECT g AS n,
               ({_sql_array(GIVEN)})[1 + g % {len(GIVEN)}] AS given,
               ({_sql_array(FAMILY)})[1 + (g / {len(GIVEN)}) % {len(FAMILY)}] AS family,
               CASE WHEN g % 10 < 6
                    THEN ({_sql_array(PUBLIC_DOMAINS)})[1 + g % {len(PUBLIC_DOMAINS)}]
                    ELSE 'staff' || (g % 700) || '.example.org' END AS domain,
               now() - random() * interval '30 days' AS at
        FROM generate_series(%s, %s) AS g
    ), contacts AS (
        INSERT INTO members_contact (created, modified, given_name, family_name, email, phone,
                                     phone_raw, title, language, email_status, user_id)
        SELECT at, at, given, family,
               lower(given) || '.' || lower(family) || '.' || n || '@' || domain,
               CASE WHEN n % 10 < 3 THEN '+1404555' || lpad((n % 10000)::text, 4, '0')
                    ELSE '' END,
               '', '', CASE WHEN n % 5 = 0 THEN 'es' ELSE 'en' END, 'subscribed', NULL
        FROM people
        RETURNING id, created, given_name, family_name, email, phone
    ), rows AS (
        SELECT c.*, split_part(c.email, '@', 2) AS domain,
               CASE WHEN split_part(c.email, '@', 2) = 'gmail.com'
                    THEN replace(split_part(c.email, '@', 1), '.', '') || '@gmail.com'
                    ELSE c.email END AS canonical,
               CASE WHEN c.id % 10 < 4 THEN orgs.ids[1 + c.id % orgs.n] END AS org_id,
               CASE WHEN c.id % 10 < 4 THEN orgs.names[1 + c.id % orgs.n]
                    WHEN c.id % 10 < 6
                    THEN ({_sql_array(FREE_AFFILIATIONS)})[1 + c.id % {len(FREE_AFFILIATIONS)}]
                    ELSE '' END AS affiliation
        FROM contacts c CROSS JOIN orgs
    )
    INSERT INTO campaigns_signature (
        created, modified, campaign_id, contact_id, organization_id, name, affiliation, email,
        canonical_email, phone, message, show_publicly, confirmed_at, source, referral_code,
        ip_address, confirmation_sends, confirmation_sent_at, organization_match_score, flagged,
        flag_reason, email_domain, share_code, message_status{extra_sql})
    SELECT created, created, %s, id, org_id, given_name || ' ' || family_name, affiliation,
           email, canonical, phone,
           CASE WHEN id % 4 = 0
                THEN ({_sql_array(MESSAGES)})[1 + (id / 4) % {len(MESSAGES)}] ELSE '' END,
           id % 10 < 7,
           CASE WHEN id % 20 = 0 THEN NULL ELSE created + interval '4 minutes' END,
           CASE WHEN id % 10 = 0 THEN 'embed' ELSE 'web' END,
           '', ('198.51.100.' || (id % 250))::inet, 1, created,
           CASE WHEN org_id IS NOT NULL THEN 100.0 END,
           false, '', domain, 'b' || lpad(to_hex(id), 9, '0'), 'pending'{extra_params}
    FROM rows
    """.replace(" % ", " %% ")  # noqa: S608 - (the modulo operator, doubled for psycopg)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, start + missing - 1, campaign.pk, *extra_values])
        cursor.execute("VACUUM ANALYZE members_contact")
        cursor.execute("VACUUM ANALYZE campaigns_signature")
    campaign_signature_counts_refresh()
    stored = Signature.objects.filter(campaign=campaign).count()
    print(f"  stored {missing:,} more signatures in {time.perf_counter() - started:.1f} s")
    return stored


# --- Requests ------------------------------------------------------------------------------


def sign_lua(*, path: str, token: str, fields: dict[str, str], affiliations: list[str]) -> str:
    """A wrk script POSTing the sign form with a new e-mail each request
    (``bench-<run>-<thread>-<n>@bench<random>.example.org``), the CSRF cookie and the same
    32-character secret as ``csrfmiddlewaretoken``, cycling through realistic affiliations."""
    from urllib.parse import quote_plus

    static = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields.items())
    affiliation_list = ", ".join('"' + quote_plus(a) + '"' for a in affiliations)
    return (
        f"""
local path = "{path}"
local static = "csrfmiddlewaretoken={token}&{static}"
local affiliations = {{{affiliation_list}}}
local headers = {{
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = "csrftoken={token}",
}}
local run, tag, n = "0", "0", 0
function init(args)
  run = args[1] or "0"
  math.randomseed(os.time() + id * 7919)
  tag = tostring(math.random(100000, 999999))
end
function request()
  n = n + 1
  local body = static .. "&name=Bench+Signer+" .. n ..
    "&email=bench-" .. run .. "-" .. id .. "-" .. n .. "%40bench" .. tag .. ".example.org" ..
    "&affiliation=" .. affiliations[1 + n % #affiliations]
  return wrk.format("POST", path, headers, body)
end
"""
        + harness.LUA_COMMON
    )


def queries_per_request(method, path, data=None, *, expect=200) -> tuple[int, int]:
    """Queries a request makes in one process through the Django test client, against the same
    database: (first request, second request). The second is the steady state the load sees."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    counts = []
    for attempt in range(2):
        payload = dict(data or {})
        if "email" in payload:
            payload["email"] = payload["email"].replace("@", f"-q{attempt}@")
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method.lower())(path, payload)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path} answered {response.status_code} in-process")
        counts.append(len(queries))
    connection.close()
    return counts[0], counts[1]


def broker_queued(stack: harness.Stack) -> int:
    """Messages waiting in the Celery queues of the broker database (no worker runs)."""
    redis = stack.redis(stack.broker_db)
    total = 0
    for key in redis.scan_iter("celery*"):
        if redis.type(key) == b"list":
            total += redis.llen(key)
    return total


# --- The run -------------------------------------------------------------------------------


@dataclasses.dataclass
class Runner:
    """Runs wrk against one gunicorn with the run's settings; numbers each run so that the sign
    script's e-mails never repeat."""

    server: harness.Gunicorn
    args: argparse.Namespace
    counter: itertools.count = dataclasses.field(default_factory=lambda: itertools.count(1))

    def once(self, path, script, *, expected=(200,), warmup=False) -> harness.WrkResult:
        busy = 0.0
        if not warmup and self.args.quiet_wait > 0:
            busy = harness.wait_quiet(timeout=self.args.quiet_wait)
        roots, db_pids = {self.server.process.pid}, harness.database_pids(self.server.stack)
        app0, db0 = harness.cpu_by_process(roots), harness.cpu_by_process(set(), db_pids)
        result = harness.wrk(
            self.server.url + path,
            script,
            workdir=self.server.stack.var_dir,
            duration=self.args.warmup if warmup else self.args.duration,
            connections=self.args.connections,
            threads=self.args.threads,
            expected=expected,
            args=(str(next(self.counter)),),
            busy_before=busy,
        )
        if result.requests:
            db_pids |= harness.database_pids(self.server.stack)
            app1, db1 = harness.cpu_by_process(roots), harness.cpu_by_process(set(), db_pids)
            result.app_cpu_ms = harness.cpu_spent(app0, app1) * 1000 / result.requests
            result.db_cpu_ms = harness.cpu_spent(db0, db1) * 1000 / result.requests
        return result

    def rounds(self, plan: dict[str, tuple]) -> dict[str, harness.Summary]:
        """``--repeat`` rounds of every case in ``plan`` (key: (label, path, script, expected)),
        interleaved so that a ceiling and the case compared with it see the same conditions;
        each case is warmed up before its first round."""
        runs = {key: [] for key in plan}
        for round_ in range(self.args.repeat):
            for key, (label, path, script, expected) in plan.items():
                if round_ == 0 and self.args.warmup > 0:
                    self.once(path, script, expected=expected, warmup=True)
                result = self.once(path, script, expected=expected)
                runs[key].append(result)
                print(f"  {label:<36} {result.describe()}", flush=True)
                if any(status >= 500 for status in result.statuses):
                    print(f"  server errors; the end of {self.server.log}:")
                    print(self.server.log_tail(), flush=True)
        return {key: harness.Summary(results) for key, results in runs.items()}


def workers_choose(stack, candidates, args) -> tuple[int, dict[int, harness.Summary]]:
    """The trivial view under each worker count, all servers up at once and runs interleaved;
    the fastest median is used for every case."""
    if len(candidates) == 1:
        return candidates[0], {}
    with contextlib.ExitStack() as servers:
        runners = {
            workers: Runner(servers.enter_context(harness.Gunicorn(stack, workers=workers)), args)
            for workers in candidates
        }
        runs = {workers: [] for workers in candidates}
        trivial = harness.lua_static()
        for round_ in range(args.repeat):
            for workers, runner in runners.items():
                if round_ == 0 and args.warmup > 0:
                    runner.once("/bench/trivial", trivial, warmup=True)
                result = runner.once("/bench/trivial", trivial)
                runs[workers].append(result)
                print(f"  {'trivial view, ' + str(workers) + ' workers':<36} {result.describe()}")
    sweep = {workers: harness.Summary(results) for workers, results in runs.items()}
    best = max(sweep, key=lambda workers: sweep[workers].rate)
    print(f"  → {best} sync workers")
    return best, sweep


def sign_fields() -> dict[str, str]:
    """The sign form's fields other than name, e-mail and affiliation (set per request)."""
    return {
        "phone": "404-555-0101",
        "message": "Facts protect children. Rumours do not.",
        "show_publicly": "on",
    }


def main():
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds before a case's first run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each case, interleaved (median reported)"
    )
    parser.add_argument(
        "--signatures",
        default="1000,1000000",
        help="signatures stored for each campaign page case, comma-separated",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="before each run, wait up to this many seconds for other work on the machine to "
        "stop (0: don't)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers",
        default=f"{cores + 1},{2 * cores + 1},{4 * cores + 1}",
        help="gunicorn sync workers; several (comma-separated) are tried on the trivial view "
        "and the fastest kept (default: %(default)s)",
    )
    parser.add_argument("--slug", default="awareness-month", help="the campaign measured")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the scratch CRM_VAR_DIR")
    args = parser.parse_args()
    sizes = sorted({int(size.replace("_", "")) for size in args.signatures.split(",") if size})
    candidates = [int(w) for w in args.workers.split(",") if w]
    harness.wrk_path()  # says how to install wrk before anything starts
    harness.install_cleanup()

    stack = harness.Stack(name="campaign-web", database=DATABASE)
    try:
        run(stack, args=args, sizes=sizes, candidates=candidates)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping gunicorn", file=sys.stderr)
        sys.exit(130)
    finally:
        harness.stop_all()
        stack.cleanup(keep=args.keep)


def page_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def run(stack, *, args, sizes, candidates):
    command = " ".join([".venv/bin/python bench/campaign_web.py", *sys.argv[1:]])
    print(f"database {DATABASE}; redis db {stack.cache_db} (cache), {stack.broker_db} (broker)")
    stack.reset()
    stack.activate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from campaigns.models import Signature
    from members.models import Organization

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    campaign = coalition_seed(args.slug)
    connections.close_all()
    print(f"migrated and seeded in {time.perf_counter() - started:.1f} s")

    print("gunicorn workers:")
    workers, sweep = workers_choose(stack, candidates, args)
    page = f"/campaigns/{campaign.slug}/"
    with_campaign = page_exists(page)
    if not with_campaign:
        print(f"{page} does not exist yet: only the ceilings are measured")
        sizes = []
    trivial = ("trivial view GET", "/bench/trivial", harness.lua_static(), (200,))
    insert_script = harness.lua_static(
        method="POST",
        body="note=bench",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    insert = ("one-row insert view POST", "/bench/insert", insert_script, (200,))
    cases: dict[str, Case] = {}
    trivial_runs, insert_runs = [], []
    with harness.Gunicorn(stack, workers=workers) as server:
        runner = Runner(server, args)
        print(
            f"cases ({workers} workers, {args.connections} connections, {args.threads} threads, "
            f"{args.repeat} × {args.duration:g} s):"
        )
        for size in sizes:
            stored = signatures_fill(campaign, size)
            connections.close_all()
            first, steady = queries_per_request("GET", page)
            label = f"campaign page GET, {stored:,} stored"
            summaries = runner.rounds(
                {"trivial": trivial, "page": (label, page, harness.lua_static(), (200,))}
            )
            trivial_runs += summaries["trivial"].runs
            cases[f"page-{size}"] = Case(
                f"page-{size}",
                f"campaign page GET, {stored:,} signatures stored",
                summaries["page"],
                ceiling_rate=summaries["trivial"].rate,
                stored=stored,
                queries=steady,
                note=f"{first} queries on the first request" if first != steady else "",
            )
        plan = {"insert": insert}
        if with_campaign:
            token = "".join(secrets.choice(CSRF_TOKEN_CHARS) for _ in range(32))
            names = Organization.objects.order_by("pk").values_list("name", flat=True)[:3]
            affiliations = [*names, "Lanturn Houze", "Concerned parent", ""]
            script = sign_lua(
                path=page, token=token, fields=sign_fields(), affiliations=affiliations
            )
            plan["sign"] = ("sign POST", page, script, (302,))
            signatures_before = Signature.objects.filter(campaign=campaign).count()
            queued_before = broker_queued(stack)
            connections.close_all()
        else:
            plan["trivial"] = trivial
        summaries = runner.rounds(plan)
        insert_runs += summaries["insert"].runs
        trivial_runs += summaries["trivial"].runs if "trivial" in summaries else []
        if with_campaign:
            time.sleep(2)  # requests wrk left in flight when it stopped finish and dispatch
            queued = broker_queued(stack) - queued_before
            added = Signature.objects.filter(campaign=campaign).count() - signatures_before
            data = {"name": "Query Count", "email": "bench-queries@bench.example.org",
                    **sign_fields(), "affiliation": names[0]}  # fmt: skip
            sign_queries = queries_per_request("POST", page, data, expect=302)[1]
            cases["sign"] = Case(
                "sign",
                f"sign POST, {signatures_before:,} signatures stored",
                summaries["sign"],
                ceiling_rate=summaries["insert"].rate,
                stored=signatures_before,
                queries=sign_queries,
                note=f"{added:,} new signatures (warm-up included) left {queued:,} tasks "
                "queued in Redis for the worker",
            )
            print(f"  {cases['sign'].note}")
        connections.close_all()
    ceilings = {
        "trivial": Case(
            "trivial",
            "trivial view GET (ceiling)",
            harness.Summary(trivial_runs),
            queries=queries_per_request("GET", "/bench/trivial")[1],
        ),
        "insert": Case(
            "insert",
            "one-row insert view POST (ceiling)",
            harness.Summary(insert_runs),
            queries=queries_per_request("POST", "/bench/insert", {"note": "q"})[1],
        ),
    }
    for case in [*ceilings.values(), *cases.values()]:
        print(f"{case.label:<46} {case.result.describe()}")
    report(
        {**ceilings, **cases}, stack=stack, workers=workers, sweep=sweep, args=args,
        command=command,
    )  # fmt: skip


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def report(cases: dict[str, Case], *, stack, workers, sweep, args, command) -> None:
    """Prints the verdicts and rewrites this benchmark's section of docs/benchmarks.md."""
    rows, verdicts = [], []
    for case in cases.values():
        r = case.result
        ratio = f"{r.rate / case.ceiling_rate:.0%}" if case.ceiling_rate else ""
        queries = "" if case.queries is None else str(case.queries)
        cpu = ""
        if r.app_cpu_ms is not None:
            cpu = f"{r.app_cpu_ms:.2f} + {r.db_cpu_ms:.2f}"
        rows.append(
            f"| {case.label} | {r.rate:,.0f} | {ratio} | {_ms(r.p50_ms)} | {_ms(r.p99_ms)} "
            f"| {r.errors:,} | {queries} | {cpu} |"
        )

    def cpu(case: Case, ceiling: Case) -> str:
        r, c = case.result, ceiling.result
        if r.app_cpu_ms is None or c.app_cpu_ms is None:
            return ""
        return (
            f"; CPU per request {r.app_cpu_ms:.2f} + {r.db_cpu_ms:.2f} ms (app + db) against "
            f"the ceiling's {c.app_cpu_ms:.2f} + {c.db_cpu_ms:.2f} ms"
        )

    if "sign" in cases:
        sign = cases["sign"]
        ratio = sign.result.rate / sign.ceiling_rate
        met = (
            ratio >= SIGN_TARGET_RATIO
            and sign.result.p99_ms < SIGN_TARGET_P99_MS
            and sign.result.errors == 0
        )
        verdicts.append(
            (
                met,
                f"sign POST at least {SIGN_TARGET_RATIO:.0%} of the insert view, p99 under "
                f"{SIGN_TARGET_P99_MS:.0f} ms, no errors: {ratio:.0%} "
                f"({sign.result.rate:,.0f} against {sign.ceiling_rate:,.0f}/s), p99 "
                f"{_ms(sign.result.p99_ms)}, {sign.result.errors} errors"
                + cpu(sign, cases["insert"]),
            )
        )
    for case in cases.values():
        if case.key.startswith("page-"):
            ratio = case.result.rate / case.ceiling_rate
            met = ratio >= PAGE_TARGET_RATIO and case.result.errors == 0
            verdicts.append(
                (
                    met,
                    f"campaign page GET at least {PAGE_TARGET_RATIO:.0%} of the trivial view "
                    f"with {case.stored:,} signatures stored: {ratio:.0%} "
                    f"({case.result.rate:,.0f} against {case.ceiling_rate:,.0f}/s)"
                    + cpu(case, cases["trivial"]),
                )
            )
    print()
    for met, text in verdicts:
        print(f"{'MET   ' if met else 'MISSED'} {text}")
    if args.no_docs:
        return

    m = harness.machine()
    v = harness.versions(stack)
    lines = [
        "## Campaign pages under load (`campaign_web`)",
        "",
        "gunicorn (sync workers) on PostgreSQL and Redis with production settings (DEBUG off, "
        "persistent connections as the project's default `CONN_MAX_AGE` 60 keeps them), its own "
        "database `crm_bench` and Redis databases 5 (cache) and 6 (Celery broker; no worker "
        "runs). Load from wrk on loopback, on the same "
        f"{m['cores']} cores as the server: {args.connections} connections, {args.threads} "
        f"threads, {args.repeat} runs of {args.duration:g} s per case, each case interleaved "
        "with its ceiling and warmed up first. The ceilings are views that exist only under "
        "`bench.settings`, behind the same middleware: a trivial `HttpResponse`, and one "
        "`BenchRow` inserted through the ORM. The campaign page `/campaigns/<slug>/` is measured "
        "with the signatures stored (each with its contact, 95% confirmed, loaded by one "
        "`INSERT ... SELECT generate_series`, then `VACUUM ANALYZE` and the beat task that "
        "refreshes the counts). Each sign POST is a new person (name, e-mail, phone, message, an "
        "affiliation: member names, a misspelt one, free text, none), with the CSRF cookie and "
        "token, and must answer 302; the campaign asks for double opt-in, so each new signature "
        "leaves its confirmation to a Celery task, queued in Redis.",
        "",
        "Requests/s and p50 are the median of the runs, p99 the worst run's, errors every "
        "response other than the expected status (200, or 302 for the sign POST) and every "
        "socket error. The ratio is against the ceiling's runs interleaved with the case; "
        "queries/request are counted in one process through the Django test client on the same "
        "database (steady state); CPU per request is what gunicorn's workers and the database's "
        "processes (its backends and writers) used during the runs, divided by the requests "
        "served (median of the runs): on 2 cores shared with wrk, the rates follow it.",
        "",
        "| case | requests/s | ratio to its ceiling | p50 | p99 | errors | queries/request "
        "| CPU ms/request (app + db) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "Targets of issue 4:",
        "",
        *[f"- {'met' if met else '**missed**'}: {text}." for met, text in verdicts],
        "",
    ]
    busy = max(case.result.busy_before for case in cases.values())
    lines += [
        f"Other work on the machine just before a run took at most {busy:.0%} of the cores"
        + (
            " (the runs waited for it to stop, up to "
            f"{args.quiet_wait:g} s, so the figures may be low)."
            if busy > 0.15
            else "."
        ),
        "",
    ]
    notes = [f"{case.label}: {case.note}." for case in cases.values() if case.note]
    if notes:
        lines += [*notes, ""]
    if sweep:
        tried = ", ".join(f"{w} → {summary.rate:,.0f}/s" for w, summary in sweep.items())
        lines += [
            f"gunicorn sync workers tried on the trivial view (median of {args.repeat} runs "
            f"each): {tried}; the fastest, {workers}, served every case.",
            "",
        ]
    lines += [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['os']}. "
        + ", ".join(f"{name} {version}" for name, version in v.items())
        + f"; measured {time.strftime('%Y-%m-%d')}.",
        f"Command: `{command}`",
    ]
    harness.docs_section_write(SECTION, lines)


if __name__ == "__main__":
    main()
