"""Benchmark of a 10,000-recipient mailing: audience freeze, send rate, worker memory.

    .venv/bin/python bench/mailing_send.py [--recipients 10000] [--concurrency 2]
        [--baseline 4000] [--profile 300] [--no-toolkit] [--no-docs]

In one run, against its own PostgreSQL database ``crm_bench_mail`` (dropped and created) and
Redis databases 7 (cache) and 8 (Celery broker), both flushed, with production settings (DEBUG
off) and the mailing settings' defaults: it seeds 224 member organisations, the demo statement
and toolkit, and 10,000 contacts (plus 300 Spanish-speaking ones for a warm-up mailing), starts
a local SMTP sink (tests/mailings/smtp_sink.py) and a Celery worker as ``make run`` does, then

1. freezes the audience of a 10,000-recipient mailing (timed; target under 2 s);
2. sends it through the worker, with Celery beat running, each message over its processes'
   SMTP connection to the sink, and takes the rate from the first to the last message there;
3. sends the same messages (same size, headers and parts) with a plain ``smtplib`` loop over one
   connection to the same sink, half before the mailing and half after, and compares the rates
   (target: the mailing at least 50% of the loop);
4. samples the resident memory of the worker's processes through the send (target: flat, the
   peak within 10% of what they held after the warm-up mailing).

With ``--profile N`` it also sends N deliveries of a third mailing in this process under
cProfile and prints where the time goes. It rewrites its section of docs/benchmarks.md
(``--no-docs`` leaves it alone) and prints MET or MISSED for each target of issue 5.
Processes it started are stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import os
import platform
import pstats
import smtplib
import sys
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from tests.mailings import smtp_sink  # noqa: E402

DATABASE = "crm_bench_mail"
SECTION = "mailing_send"
CACHE_DB, BROKER_DB = 7, 8

# Targets of issue 5.
FREEZE_TARGET_S = 2.0
RATE_TARGET_RATIO = 0.5
MEMORY_TARGET_GROWTH = 0.10

SUBJECT = "{{ organization }}: the Awareness Month toolkit is here"
BODY = """Dear {{ given_name }},

January is **Human Trafficking Awareness Month**, and this year the coalition asks every member
to share facts, not fiction. Viral posts built on invented stories flood hotlines with
second-hand tips and pull attention away from the people who need help.

{% if signed %}Thank you: {{ organization }} has already signed our statement, *{{ campaign }}*.
Please share it with your networks.{% else %}{{ organization }} has not signed our statement,
*{{ campaign }}*, yet. It takes a minute: [read and sign it]({{ campaign_link }}).{% endif %}

What you can do this month:

1. Share the talking points and sample posts below on your organisation's channels.
2. Point people to the national hotline rather than to social media when they suspect a case.
3. Swap in a credible local source of your own where it helps your audience.

With thanks from everyone at {{ coalition }},
the conveners
"""


# --- Data ----------------------------------------------------------------------------------


def contacts_seed(*, english: int, spanish: int) -> None:
    """``english`` + ``spanish`` contacts of the member organisations, each organisation's
    people one after the other (as an import creates them), the first of each its primary
    contact and the others staff, inserted in bulk."""
    from members.models import Affiliation, Contact, Organization

    organizations = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    people = [("en", n) for n in range(english)] + [("es", n) for n in range(spanish)]
    # Contact i belongs to organisation i * organisations // contacts: contiguous blocks.
    owner = [i * len(organizations) // len(people) for i in range(len(people))]
    first_of: dict[int, int] = {}
    for index, organization in enumerate(owner):
        first_of.setdefault(organization, index)
    given = ["Ana", "Ben", "Chidi", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo"]
    family = ["Abara", "Bell", "Cruz", "Diallo", "Evans", "Fox", "Garza", "Holt", "Ito", "Kim"]
    batch = 2000
    for start in range(0, len(people), batch):
        chunk = people[start : start + batch]
        contacts = Contact.objects.bulk_create(
            Contact(
                given_name=given[(start + i) % len(given)],
                family_name=family[(start + i) // len(given) % len(family)],
                email=f"member-{language}-{n:05d}@members.example.org",
                language=language,
            )
            for i, (language, n) in enumerate(chunk)
        )
        Affiliation.objects.bulk_create(
            Affiliation(
                contact=contact,
                organization_id=organizations[owner[start + i]],
                role=(
                    Affiliation.Role.PRIMARY
                    if first_of[owner[start + i]] == start + i
                    else Affiliation.Role.STAFF
                ),
            )
            for i, contact in enumerate(contacts)
        )


def mailing_make(name: str, *, campaign, toolkit, language: str):
    from mailings.models import Mailing

    return Mailing.objects.create(
        name=name,
        subject=SUBJECT,
        body=BODY,
        campaign=campaign,
        toolkit=toolkit,
        language=language,
        primary_contacts_only=False,
    )


def toolkit_seed():
    """The demo Awareness Month toolkit (talking points, posts, a thread, graphics, resources),
    rendered into every message as the toolkit e-mail has it."""
    from toolkits.demo import toolkit_demo_seed

    toolkit, _created = toolkit_demo_seed()
    return toolkit


# --- Processes -----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    return [p for p, ppid, _name, _cpu in harness._processes() if ppid == pid]


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    """The resident memory of a worker: its main process and its pool processes, summed, every
    quarter second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()

    def sample(self) -> int:
        pids = [self.pid, *_children(self.pid)]
        return sum(rss_kib(pid) for pid in pids)

    def run(self):
        while not self.stopped.is_set():
            self.samples.append((time.monotonic(), self.sample()))
            self.stopped.wait(0.25)

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def worker_start(stack, *, concurrency: int):
    log = stack.var_dir / "worker.log"
    command = [
        str(harness.VENV_BIN / "celery"), "-A", "celerytasks", "worker", "--loglevel=INFO",
        f"--concurrency={concurrency}", "--hostname", "bench-mail@%h",
    ]  # fmt: skip
    process = harness.spawn(command, env=stack.env, log=log)
    wait_for(
        lambda: log.exists() and " ready." in log.read_text(errors="replace"),
        timeout=90,
        what=f"the worker (see {log})",
    )
    return process


def beat_start(stack):
    log = stack.var_dir / "beat.log"
    command = [str(harness.VENV_BIN / "celery"), "-A", "celerytasks", "beat", "--loglevel=INFO"]
    return harness.spawn(command, env=stack.env, log=log)


def freeze_timed(mailing) -> tuple[int, float]:
    """Schedules the mailing (its checks), makes it due, and freezes its audience here:
    (deliveries, seconds the freeze took)."""
    from django.utils import timezone

    from mailings import services
    from mailings.models import Mailing

    later = timezone.now() + datetime.timedelta(hours=1)
    services.mailing_schedule(mailing=mailing, at=later)  # in an hour: nothing dispatches it
    Mailing.objects.filter(pk=mailing.pk).update(scheduled_at=timezone.now())
    started = time.perf_counter()
    frozen = services.mailing_audience_freeze(mailing=mailing)
    return frozen, time.perf_counter() - started


def mailing_send_and_wait(mailing, *, timeout: float) -> None:
    """Starts a frozen mailing's pump at once (beat would within 5 s) and waits until it is
    sent."""
    from celerytasks.mailings import dispatch_mailings
    from mailings.models import Mailing

    dispatch_mailings.delay()

    def done():
        return Mailing.objects.values_list("status", flat=True).get(pk=mailing.pk) == "sent"

    wait_for(done, timeout=timeout, what=f"mailing {mailing.pk} to be sent", interval=0.5)


# --- The plain smtplib loop ----------------------------------------------------------------


def sample_parts(mailing):
    """Subject, text and HTML of the project's message to the mailing's first recipient."""
    from mailings.models import Delivery
    from mailings.services import delivery_message

    delivery = (
        Delivery.objects.select_related("mailing", "contact", "organization__sector")
        .filter(mailing=mailing)
        .order_by("pk")
        .first()
    )
    message = delivery_message(delivery)
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    return message.subject, message.body, html, dict(message.extra_headers)


def smtplib_loop(port: int, recipients: list[str], parts, *, tag: str) -> float:
    """Builds and sends one message per recipient over one SMTP connection, as a minimal
    script would; returns the seconds it took."""
    from django.conf import settings

    subject, text, html, headers = parts
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for recipient in recipients:
            message = EmailMessage()
            message["Subject"] = subject
            message["From"] = settings.DEFAULT_FROM_EMAIL
            message["To"] = recipient
            message["Date"] = formatdate(localtime=True)
            message["Message-ID"] = make_msgid(domain="bench.example.org")
            message["List-Unsubscribe"] = headers["List-Unsubscribe"]
            message["List-Unsubscribe-Post"] = headers["List-Unsubscribe-Post"]
            message["List-Id"] = headers["List-Id"]
            message["X-Mailing"] = tag
            message.set_content(text)
            message.add_alternative(html, subtype="html")
            smtp.send_message(message)
    return time.perf_counter() - started


def sink_rate(lines: list[smtp_sink.Line]) -> tuple[int, float, float]:
    """(messages, seconds from the first to the last, messages per second) at the sink."""
    if len(lines) < 2:
        return len(lines), 0.0, 0.0
    seconds = lines[-1].at - lines[0].at
    return len(lines), seconds, (len(lines) - 1) / seconds if seconds else 0.0


# --- Profile -------------------------------------------------------------------------------


def profile_sends(mailing, count: int) -> str:
    """Sends ``count`` deliveries of ``mailing`` in this process under cProfile; returns the
    report: time per message split by phase (database, rendering, SMTP) and the top functions."""
    from django.db import connection

    from mailings.models import Delivery
    from mailings.services import delivery_send

    ids = list(
        Delivery.objects.filter(mailing=mailing).order_by("pk").values_list("pk", flat=True)
    )[:count]
    db = {"queries": 0, "seconds": 0.0}

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db["queries"] += 1
            db["seconds"] += time.perf_counter() - started

    profiler = cProfile.Profile()
    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        profiler.enable()
        outcomes = [delivery_send(delivery_id=pk) for pk in ids]
        profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)

    def cumulative(fragment: str) -> float:
        return sum(
            entry[3]
            for (filename, _line, name), entry in stats.stats.items()
            if fragment in f"{filename}:{name}"
        )

    smtp = cumulative("smtplib.py:sendmail")
    build = cumulative("mailings/services.py:delivery_message")
    as_bytes = cumulative("django/core/mail/message.py:message")
    n = len(ids)
    out = io.StringIO()
    out.write(
        f"{n} deliveries in {elapsed:.2f} s ({n / elapsed:,.0f}/s in one process; outcomes "
        f"{sorted(set(outcomes))}); per message: {1000 * elapsed / n:.2f} ms, of which "
        f"database {1000 * db['seconds'] / n:.2f} ms ({db['queries'] / n:.1f} queries), "
        f"building the message {1000 * build / n:.2f} ms, MIME serialisation "
        f"{1000 * as_bytes / n:.2f} ms, SMTP {1000 * smtp / n:.2f} ms (under cProfile)\n"
    )
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    return out.getvalue()


# --- The run -------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=300, help="recipients of the warm-up")
    parser.add_argument(
        "--baseline", type=int, default=4000, help="messages of the smtplib loop (half before, "
        "half after the mailing)"
    )  # fmt: skip
    parser.add_argument("--concurrency", type=int, default=2, help="the worker's processes")
    parser.add_argument("--profile", type=int, default=0, help="deliveries sent under cProfile")
    parser.add_argument("--no-toolkit", action="store_true", help="a message without a toolkit")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the scratch CRM_VAR_DIR")
    args = parser.parse_args()
    harness.install_cleanup()
    stack = harness.Stack(
        name="mailing-send", database=DATABASE, cache_db=CACHE_DB, broker_db=BROKER_DB
    )
    try:
        run(stack, args)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the worker, beat and the sink", file=sys.stderr)
        sys.exit(130)
    finally:
        harness.stop_all()
        stack.cleanup(keep=args.keep)


def run(stack, args):  # noqa: PLR0915 - one run, told in order
    command = " ".join([".venv/bin/python bench/mailing_send.py", *sys.argv[1:]])
    port = smtp_sink.first_free_port()
    sink_log = stack.var_dir / "sink.log"
    stack.env.update(EMAIL_URL=f"smtp://127.0.0.1:{port}")
    print(f"database {DATABASE}; redis db {CACHE_DB} (cache), {BROKER_DB} (broker); sink :{port}")
    stack.reset()
    stack.activate()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.db.models import Count

    from bench.campaign_web import coalition_seed
    from mailings import services
    from mailings.models import Delivery

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    campaign = coalition_seed("awareness-month")
    toolkit = None if args.no_toolkit else toolkit_seed()
    contacts_seed(english=args.recipients, spanish=args.warmup)
    with connection.cursor() as cursor:
        for table in ("members_contact", "members_affiliation", "members_organization"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    connections.close_all()
    print(f"migrated and seeded in {time.perf_counter() - started:.1f} s")

    sink = harness.spawn(
        smtp_sink.command(port, sink_log), env=stack.env, log=stack.var_dir / "sink.out"
    )
    wait_for(lambda: smtp_sink.listening(port), timeout=30, what="the SMTP sink")
    worker = worker_start(stack, concurrency=args.concurrency)
    memory = MemorySampler(worker.pid)
    memory.start()

    warmup = mailing_make("Warm-up", campaign=campaign, toolkit=toolkit, language="es")
    services.mailing_schedule(mailing=warmup)  # the worker's dispatch freezes and starts it
    mailing_send_and_wait(warmup, timeout=300)
    print(f"warm-up mailing of {warmup.deliveries.count()} sent")
    parts = sample_parts(warmup)

    # Beat starts once the measured freeze is done, so that its dispatcher cannot freeze the
    # mailing first; until then the run publishes the dispatch task itself.
    meter = CpuMeter(stack, worker=worker, sink=sink, beat=None)
    meter.start()
    busy_before = harness.wait_quiet(timeout=30)
    recipients = [f"loop-{n:05d}@members.example.org" for n in range(args.baseline)]
    half = len(recipients) // 2
    cpu = meter.read()
    loop_seconds = [smtplib_loop(port, recipients[:half], parts, tag="loop-1")]
    loop_cpu = meter.spent(cpu, meter.read())
    print(f"smtplib loop, first half: {half / loop_seconds[0]:,.0f}/s")

    mailing = mailing_make(
        "Awareness Month toolkit", campaign=campaign, toolkit=toolkit, language="en"
    )
    memory_start = memory.sample()
    first_sample = len(memory.samples)
    frozen, freeze_seconds = freeze_timed(mailing)
    print(f"froze {frozen:,} deliveries in {freeze_seconds:.2f} s")
    beat = beat_start(stack)
    meter.beat = beat
    cpu = meter.read()
    wall = time.perf_counter()
    mailing_send_and_wait(mailing, timeout=3600)
    wall = time.perf_counter() - wall
    send_cpu = meter.spent(cpu, meter.read())
    memory_end = memory.sample()
    peak = max([memory_end, *(kib for _at, kib in memory.samples[first_sample:])])
    cpu = meter.read()
    loop_seconds.append(smtplib_loop(port, recipients[half:], parts, tag="loop-2"))
    second = meter.spent(cpu, meter.read())
    loop_cpu = {key: loop_cpu[key] + second[key] for key in loop_cpu}
    memory.stop()
    meter.stop()

    lines = smtp_sink.received(sink_log)
    sent_lines = [line for line in lines if line.mailing == str(mailing.pk)]
    messages, seconds, rate = sink_rate(sent_lines)
    loop_lines = [line for line in lines if line.mailing.startswith("loop-")]
    loop_rates = [
        sink_rate([line for line in loop_lines if line.mailing == tag])[2]
        for tag in ("loop-1", "loop-2")
    ]
    loop_rate = len(loop_lines) / sum(loop_seconds)
    statuses = dict(
        Delivery.objects.filter(mailing=mailing)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    recipients_seen = {line.recipient for line in sent_lines}
    twice = messages - len(recipients_seen)
    print(
        f"mailing: {messages:,} messages at the sink in {seconds:.1f} s = {rate:,.0f}/s "
        f"(deliveries {statuses}; {twice} duplicates)"
    )
    print(
        f"smtplib loop: {loop_rate:,.0f}/s overall (halves {loop_rates[0]:,.0f}/s and "
        f"{loop_rates[1]:,.0f}/s at the sink)"
    )
    print(
        f"worker memory: {memory_start / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB, "
        f"{memory_end / 1024:.0f} MiB after"
    )
    cores = os.cpu_count() or 1
    other = send_cpu["other"] / (wall * cores)
    send_ms = per_message_ms(send_cpu, messages)
    loop_ms = per_message_ms(loop_cpu, len(loop_lines))
    mailing_parts = ["worker main", "worker pool", "database", "sink", "redis"]
    print(
        f"CPU per message, mailing: {describe_ms(send_ms, mailing_parts)} ms "
        f"(total {sum(send_ms[k] for k in mailing_parts):.1f} ms); smtplib loop: "
        f"{describe_ms(loop_ms, ['benchmark', 'sink'])} ms"
    )
    print(f"during the send, work not ours kept {other:.0%} of the {cores} cores busy")

    profile = ""
    if args.profile:
        harness.stop(beat)  # the deliveries of this one are this process's to send
        harness.stop(worker)
        third = mailing_make("Profiled", campaign=campaign, toolkit=toolkit, language="en")
        freeze_timed(third)
        profile = profile_sends(third, args.profile)
        print(profile)

    results = {
        "recipients": frozen,
        "freeze_seconds": freeze_seconds,
        "messages": messages,
        "seconds": seconds,
        "rate": rate,
        "statuses": statuses,
        "duplicates": twice,
        "loop_rate": loop_rate,
        "loop_rates": loop_rates,
        "loop_messages": len(loop_lines),
        "memory": (memory_start, peak, memory_end),
        "busy_before": busy_before,
        "other_load": other,
        "send_ms": send_ms,
        "loop_ms": loop_ms,
        "mailing_parts": mailing_parts,
        "toolkit": not args.no_toolkit,
        "concurrency": args.concurrency,
    }
    report(results, stack=stack, args=args, command=command)


def _cpu_all() -> float:
    """CPU seconds all cores have spent busy since boot."""
    total, idle = harness._cpu_times()
    return (total - idle) / harness._TICKS


class CpuMeter(threading.Thread):
    """CPU seconds used by each part of the run: the worker's main process (the Celery
    consumer), its pool processes (the tasks), the database's processes (this database's
    backends and the writers), the SMTP sink, beat, Redis (the machine's, shared with whatever
    else uses it), this process (the benchmark: the smtplib loop), and what else kept the cores
    busy. Processes come and go (a database connection lives a minute), so every process is
    read twice a second and its growth added to its part; ``read`` returns the running totals."""

    PARTS = ["worker main", "worker pool", "database", "sink", "beat", "redis", "benchmark"]

    def __init__(self, stack, *, worker, sink, beat):
        super().__init__(daemon=True)
        self.stack, self.worker, self.sink, self.beat = stack, worker, sink, beat
        self.totals = dict.fromkeys(self.PARTS, 0.0)
        self.last: dict[int, float] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.all_start = _cpu_all()
        self.conn = None
        self._sample(first=True)

    def _database_pids(self) -> set[int]:
        import psycopg

        if self.conn is None:
            self.conn = psycopg.connect(
                host=self.stack.pg_host, port=self.stack.pg_port, user=self.stack.pg_user,
                dbname=self.stack.database, autocommit=True,
            )  # fmt: skip
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (datname = %s "
            "OR backend_type IN ('walwriter', 'background writer', 'checkpointer'))",
            [self.stack.database],
        ).fetchall()
        return {pid for (pid,) in rows}

    def _part(self, pid, ppid, name, database) -> str | None:
        if pid == self.worker.pid:
            return "worker main"
        if ppid == self.worker.pid:
            return "worker pool"
        if pid in database:
            return "database"
        if pid == self.sink.pid:
            return "sink"
        if self.beat is not None and pid == self.beat.pid:
            return "beat"
        if name == "redis-server":
            return "redis"
        if pid == os.getpid():
            return "benchmark"
        return None

    def _sample(self, *, first: bool = False) -> None:
        database = self._database_pids()
        with self.lock:
            for pid, ppid, name, cpu in harness._processes():
                part = self._part(pid, ppid, name, database)
                if part is None:
                    continue
                # A process first seen after the first reading started since: all its CPU counts.
                previous = self.last.get(pid, cpu if first else 0.0)
                if not first:
                    self.totals[part] += max(0.0, cpu - previous)
                self.last[pid] = cpu

    def run(self):
        while not self.stopped.wait(0.5):
            self._sample()

    def read(self) -> dict[str, float]:
        self._sample()
        with self.lock:
            return {**self.totals, "all": _cpu_all() - self.all_start}

    def stop(self):
        self.stopped.set()
        self.join(timeout=5)
        if self.conn is not None:
            self.conn.close()

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        spent = {key: max(0.0, after[key] - before[key]) for key in before}
        spent["other"] = max(0.0, spent.pop("all") - sum(spent.values()))
        return spent


def per_message_ms(spent: dict[str, float], messages: int) -> dict[str, float]:
    return {key: 1000 * value / messages for key, value in spent.items() if messages}


def describe_ms(costs: dict[str, float], keys) -> str:
    return ", ".join(f"{key} {costs[key]:.1f}" for key in keys if costs.get(key, 0) >= 0.05)


def versions(stack) -> dict[str, str]:
    import aiosmtpd
    import celery
    import django
    import kombu
    import psycopg

    with psycopg.connect(
        host=stack.pg_host, port=stack.pg_port, user=stack.pg_user, dbname=stack.database
    ) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    return {
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "PostgreSQL": postgres,
        "Redis": stack.redis(stack.cache_db).info("server")["redis_version"],
        "Celery": celery.__version__,
        "kombu": kombu.__version__,
        "psycopg": psycopg.__version__,
        "aiosmtpd": aiosmtpd.__version__,
    }


def report(r: dict, *, stack, args, command) -> None:
    start, peak, end = r["memory"]
    growth = (peak - start) / start if start else 0.0
    ratio = r["rate"] / r["loop_rate"] if r["loop_rate"] else 0.0
    sent_all = r["statuses"] == {"sent": r["recipients"]} and r["messages"] == r["recipients"]
    verdicts = [
        (
            r["freeze_seconds"] < FREEZE_TARGET_S,
            f"audience of {r['recipients']:,} frozen in under {FREEZE_TARGET_S:g} s: "
            f"{r['freeze_seconds']:.2f} s",
        ),
        (
            ratio >= RATE_TARGET_RATIO and sent_all,
            f"send rate at least {RATE_TARGET_RATIO:.0%} of a plain smtplib loop to the same "
            f"sink: {ratio:.0%} ({r['rate']:,.0f} against {r['loop_rate']:,.0f} messages/s; "
            f"every delivery sent: {'yes' if sent_all else 'no, ' + str(r['statuses'])})",
        ),
        (
            growth <= MEMORY_TARGET_GROWTH,
            f"worker memory flat (peak within {MEMORY_TARGET_GROWTH:.0%} of the warmed-up "
            f"worker): {start / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB "
            f"({growth:+.0%}), {end / 1024:.0f} MiB after",
        ),
    ]
    print()
    for met, text in verdicts:
        print(f"{'MET   ' if met else 'MISSED'} {text}")
    if args.no_docs:
        return
    m = harness.machine()
    v = versions(stack)
    cores = m["cores"]
    content = (
        "and the demo Awareness Month toolkit below it (talking points, sample posts, a "
        "thread, graphics, resources, with the member's own credible link), as the toolkit "
        "e-mail has it"
        if r["toolkit"]
        else "without a toolkit"
    )
    send_total = sum(r["send_ms"][k] for k in r["mailing_parts"])
    loop_total = max(r["loop_ms"]["benchmark"], r["loop_ms"]["sink"])
    idle_rate = int(cores) * 1000 / send_total if send_total else 0.0
    idle_loop = 1000 / loop_total if loop_total else 0.0
    lines = [
        "## A 10,000-recipient mailing (`mailing_send`)",
        "",
        f"A mailing to {r['recipients']:,} contacts of 224 member organisations (about "
        f"{r['recipients'] // 224} each): a Markdown body with merge fields, the campaign link "
        "with the member's referral code and an `{% if signed %}` branch, "
        f"{content}; HTML and text parts, the unsubscribe headers and footer. On PostgreSQL "
        "(its own database `crm_bench_mail`) and Redis (databases 7, cache, and 8, broker) "
        "with production settings and the mailing settings' defaults. "
        f"One Celery worker with {r['concurrency']} processes and Celery beat run as `make run` "
        "runs them; messages go over SMTP to a local aiosmtpd sink (`tests/mailings/"
        "smtp_sink.py`) that logs each message as it accepts it. A warm-up mailing of "
        f"{args.warmup} recipients goes first.",
        "",
        "- Freeze: `mailing_audience_freeze` (one `Delivery` per person, unique per mailing and "
        "contact), timed in the benchmark's process.",
        "- Send rate: messages accepted by the sink from its first to its last message of the "
        "mailing (the dispatcher, the pump, one task per message, each claim and stamp).",
        "- Ceiling: a plain `smtplib` loop in one process that builds the same messages "
        "(`email.message.EmailMessage`: the same subject, headers, text and HTML) and sends them "
        f"over one connection to the same sink: {r['loop_messages']:,} messages, half before "
        "the mailing and half after.",
        "- Memory: the resident memory of the worker's main and pool processes together, "
        "sampled every 0.25 s: after the warm-up mailing, the peak during the send, after it.",
        "",
        "| measure | figure |",
        "| --- | ---: |",
        f"| audience freeze, {r['recipients']:,} deliveries | {r['freeze_seconds']:.2f} s |",
        f"| mailing: messages at the sink | {r['messages']:,} in {r['seconds']:.1f} s |",
        f"| mailing: send rate | {r['rate']:,.0f} messages/s |",
        f"| plain smtplib loop, one connection | {r['loop_rate']:,.0f} messages/s "
        f"({r['loop_rates'][0]:,.0f} before, {r['loop_rates'][1]:,.0f} after) |",
        f"| mailing / loop | {ratio:.0%} |",
        f"| recipients who got it twice | {r['duplicates']} |",
        f"| CPU per message, mailing (ms) | {describe_ms(r['send_ms'], r['mailing_parts'])}; "
        f"total {sum(r['send_ms'][k] for k in r['mailing_parts']):.1f} |",
        f"| CPU per message, smtplib loop (ms) | "
        f"{describe_ms(r['loop_ms'], ['benchmark', 'sink']).replace('benchmark', 'loop')}; "
        f"total {r['loop_ms']['benchmark'] + r['loop_ms']['sink']:.1f} |",
        f"| worker memory (main + {r['concurrency']} pool processes) | {start / 1024:.0f} MiB "
        f"before, peak {peak / 1024:.0f} MiB, {end / 1024:.0f} MiB after |",
        "",
        "Targets of issue 5:",
        "",
        *[f"- {'met' if met else '**missed**'}: {text}." for met, text in verdicts],
        "",
        "CPU per message is what each process used during the send (or the loop), read from "
        "/proc, divided by the messages: the worker's main process (the Celery consumer) and "
        "pool processes (the tasks), the database's backends and writers, the sink, Redis "
        "(the machine's, so other users' work counts there too); beat's is left out. From "
        f"these, a machine with nothing else running would allow about {idle_rate:,.0f} "
        f"messages/s for the mailing (its {cores} cores busy with the per-message CPU above) "
        f"and about {idle_loop:,.0f}/s for the loop (the busier of its two processes, each on "
        f"a core of its own): {idle_rate / idle_loop if idle_loop else 0:.0%}, an estimate "
        "that leaves out waiting on the network and the disk.",
        "",
        f"Other work on the machine: {r['busy_before']:.0%} of the cores busy just before the "
        f"smtplib loop; during the send, work that was not this run's kept "
        f"{r['other_load']:.0%} of the {cores} cores busy"
        + (
            ": the rates are lower than on a quiet machine, the CPU per message is not."
            if r["other_load"] > 0.1
            else "."
        ),
        "",
        f"Machine: {m['cpu']}, {cores} cores, {m['ram']} RAM, {m['os']}. "
        + ", ".join(f"{name} {version}" for name, version in v.items())
        + f"; measured {time.strftime('%Y-%m-%d')}.",
        f"Command: `{command}`",
    ]
    harness.docs_section_write(SECTION, lines)


if __name__ == "__main__":
    main()
