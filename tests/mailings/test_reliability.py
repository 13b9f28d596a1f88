"""A mailing through real processes while things break: a Celery worker killed twice mid-send,
the broker's Redis restarted mid-send, mail servers refusing recipients, dispatchers racing.
Messages go over SMTP to a local sink (tests/mailings/smtp_sink.py) that logs every message it
accepts, so each test counts what each person received.

They need PostgreSQL and Redis (CI's second pass): on the embedded defaults they are skipped.
The worker runs as ``make run`` runs it (``celery -A celerytasks worker --concurrency=2``), on
the suite's test database, with short leases so recovery takes seconds, not minutes.

Beat's part is played by the test: a thread publishes the dispatch task (``mailings.dispatch``,
what beat sends from its database schedule) every second, through the same broker, to the
worker's queue. A real beat process would do the same from a schedule of at least five seconds,
and be one more interpreter on a small machine; killing the worker kills the dispatches it was
running too, just as in production.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from celerytasks.celery import app as celery_app
from mailings import services
from mailings.models import Delivery, Mailing
from members.models import Affiliation, Contact, Organization
from tests.conftest import wait_until
from tests.factories import MailingFactory, SectorFactory
from tests.mailings import smtp_sink


def _not_runnable() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("postgresql"):
        return (
            "needs PostgreSQL and Redis (DATABASE_URL=postgres://..., CELERY_BROKER_URL=redis://"
            "...): CI's second pass runs these"
        )
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        return "needs a Redis broker (CELERY_BROKER_URL=redis://...): CI's second pass runs these"
    return ""


pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(bool(_not_runnable()), reason=_not_runnable() or "runnable"),
]

# Short leases: a claim of a killed worker returns to the queue after 9 s (the shortest the
# settings allow with a 2 s SMTP timeout, which stays above the sink's slow answers, 1 s), a task
# lost with the broker is published again after 5 s, a pump that died is replaced after 3 s.
WORKER_ENV = {
    "EMAIL_TIMEOUT": "2",
    "MAILING_SEND_LEASE": "9",
    "MAILING_PUBLISH_LEASE": "5",
    "MAILING_PUMP_INTERVAL": "1",
    "MAILING_PUMP_LEASE": "3",
    "MAILING_WINDOW": "200",
    "MAILING_RETRY_BASE": "1",
    "MAILING_RETRY_MAX": "2",
    "MAILING_MAX_RATE": "0",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "reliability-tests-" + "k" * 50,
}
CONCURRENCY = 2
PRIVATE_REDIS_PORTS = range(6390, 6400)


# --- The audience -------------------------------------------------------------------------------


def audience(emails: list[str]) -> list[str]:
    """One active member organisation per address, the address its primary contact: inserted
    in bulk (a few hundred milliseconds for thousands) and committed, for the worker to see."""
    sector = SectorFactory(name="Nonprofit", slug="nonprofit")
    organizations = Organization.objects.bulk_create(
        Organization(
            name=f"Member {index:05d}",
            slug=f"member-{index:05d}",
            sector=sector,
            status=Organization.Status.ACTIVE,
        )
        for index in range(len(emails))
    )
    contacts = Contact.objects.bulk_create(
        Contact(given_name=f"Given{index}", family_name="Person", email=email)
        for index, email in enumerate(emails)
    )
    Affiliation.objects.bulk_create(
        Affiliation(contact=contact, organization=organization, role=Affiliation.Role.PRIMARY)
        for contact, organization in zip(contacts, organizations, strict=True)
    )
    return emails


def addresses(count: int, prefix: str = "person") -> list[str]:
    return [f"{prefix}-{index:05d}@example.org" for index in range(count)]


def scheduled_mailing(*, soon: bool = False) -> Mailing:
    """A mailing to the audience, scheduled now (``soon``: in a second, so that scheduling
    publishes nothing from this process and the dispatcher starts it)."""
    mailing = MailingFactory(
        subject="News for {{ organization }}",
        body="Dear {{ given_name }},\n\nThe **Awareness Month** statement is open. "
        "Share the facts, not the rumours.",
    )
    at = timezone.now() + datetime.timedelta(seconds=1) if soon else None
    return services.mailing_schedule(mailing=mailing, at=at)


def statuses(mailing: Mailing) -> dict[str, int]:
    rows = Delivery.objects.filter(mailing=mailing).values_list("status", flat=True)
    found: dict[str, int] = {}
    for status in rows:
        found[status] = found.get(status, 0) + 1
    return found


def mailing_status(mailing: Mailing) -> str:
    return Mailing.objects.values_list("status", flat=True).get(pk=mailing.pk)


# --- The processes ------------------------------------------------------------------------------


class Beat(threading.Thread):
    """Publishes the dispatch task every ``interval`` seconds, as beat does, through a broker
    of its own choosing; a broker that is down only makes a tick fail (and is counted)."""

    def __init__(self, broker_url: str, queue: str, *, interval: float = 1.0):
        super().__init__(daemon=True)
        self.broker_url, self.queue, self.interval = broker_url, queue, interval
        self.app = Celery("reliability-beat", set_as_current=False)
        self.stopped = threading.Event()
        self.sent = self.failed = 0

    def run(self):
        while not self.stopped.is_set():
            try:
                # A connection per tick: one broken by a broker restart is never reused. (The
                # URL is passed here: Celery prefers a CELERY_BROKER_URL variable to the app's.)
                with self.app.connection_for_write(self.broker_url) as conn:
                    conn.ensure_connection(max_retries=1)  # down: this tick fails, no waiting
                    self.app.send_task(
                        "mailings.dispatch", queue=self.queue, producer=conn.Producer(), retry=False
                    )
                self.sent += 1
            except Exception:  # noqa: BLE001 - the broker is down; the next tick tries again
                self.failed += 1
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.join(timeout=10)


class Stack:
    """The SMTP sink, the worker (started, killed, started again) and the beat of one test."""

    def __init__(self, processes, queue: str, tmp_path: Path, *, broker_url: str):
        self.processes, self.queue, self.tmp_path = processes, queue, tmp_path
        self.broker_url = broker_url
        self.sink_log = tmp_path / "sink.log"
        self.sink_port = None
        self.workers = 0
        self.worker_process = None
        self.beats: list[Beat] = []
        self.supervising = threading.Event()
        self.restarts = 0

    def sink(self, **options) -> Stack:
        self.sink_port = smtp_sink.first_free_port()
        command = smtp_sink.command(self.sink_port, self.sink_log, **options)
        self.processes.start("smtp-sink", *command)
        wait_until(lambda: smtp_sink.listening(self.sink_port), timeout=20, message="the sink")
        self.processes.env.update(WORKER_ENV, EMAIL_URL=f"smtp://127.0.0.1:{self.sink_port}")
        return self

    def worker(self, *, wait: bool = True):
        self.workers += 1
        log = self.processes.start(
            f"worker-{self.workers}",
            "celery",
            "-A",
            "celerytasks",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={CONCURRENCY}",
            # Its own name: other tests' workers may share the broker.
            "--hostname",
            f"{self.queue}-{self.workers}@%h",
        )
        self.worker_process = self.processes.started[-1][0]
        if wait:
            wait_until(lambda: " ready." in log.read_text(), timeout=60, message="the worker")
        return log

    def supervise(self):
        """Starts the worker again whenever it exits, a second later, as a supervisor does
        (systemd's Restart=always)."""

        def watch():
            while self.supervising.is_set():
                if self.worker_process.poll() is not None:
                    time.sleep(1)
                    self.restarts += 1
                    self.worker(wait=False)
                time.sleep(0.2)

        self.supervising.set()
        threading.Thread(target=watch, daemon=True).start()

    def kill_worker(self, mailing: Mailing) -> set[int]:
        """SIGKILL to the worker and its pool processes at once (what the OOM killer or a lost
        machine does): returns the deliveries it held claimed, the only ones whose message may
        have left without being stamped sent."""
        process = self.worker_process
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        wait_until(lambda: not _group_alive(process.pid), timeout=10, message="the pool to die")
        time.sleep(0.3)  # a statement a pool process sent just before dying has been applied
        return set(
            Delivery.objects.filter(mailing=mailing, status=Delivery.Status.SENDING).values_list(
                "pk", flat=True
            )
        )

    def beat(self, *, interval: float = 1.0, broker_url: str | None = None) -> Beat:
        beat = Beat(broker_url or self.broker_url, self.queue, interval=interval)
        beat.start()
        self.beats.append(beat)
        return beat

    def stop(self):
        self.supervising.clear()
        for beat in self.beats:
            beat.stop()

    def received(self) -> int:
        return smtp_sink.received_count(self.sink_log)

    def has_received(self, address: str) -> bool:
        return self.sink_log.exists() and f"\t250\t{address}\t" in self.sink_log.read_text()

    def per_recipient(self, mailing: Mailing):
        lines = smtp_sink.received(self.sink_log)
        counts: dict[str, int] = {}
        for line in lines:
            if line.mailing == str(mailing.pk):
                counts[line.recipient] = counts.get(line.recipient, 0) + 1
        return counts

    def wait_finished(self, mailing: Mailing, *, timeout: float):
        wait_until(
            lambda: mailing_status(mailing) == Mailing.Status.SENT,
            timeout=timeout,
            interval=0.5,
            message=f"the mailing to finish (deliveries {statuses(mailing)}, "
            f"{self.received()} messages at the sink)",
        )


def _group_alive(pgid: int) -> bool:
    """Whether any process of the process group still runs (zombies aside)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    return True
    return False


@pytest.fixture
def tasks_to_test_queue(celery_queue):
    """Tasks this process publishes (the dispatch after scheduling, pumps started by a dispatch
    run here) go to the queue of this test's worker, not to the installation's."""
    before = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = celery_queue
    yield celery_queue
    celery_app.conf.task_default_queue = before


@pytest.fixture
def stack(processes, celery_queue, tmp_path):
    stack = Stack(processes, celery_queue, tmp_path, broker_url=settings.CELERY_BROKER_URL)
    yield stack
    stack.stop()


# --- The tests ----------------------------------------------------------------------------------


def test_worker_killed_twice_mid_send_everyone_gets_it_and_only_those_in_flight_twice(
    stack, tasks_to_test_queue
):
    """2,000 recipients; the worker gets SIGKILL twice mid-send and is started again. Each kill
    comes while the sink holds back its answer to a message it has received (to the 600th
    person, then the 1,400th), so that at least that message is in flight: arrived, not yet
    stamped sent. Everyone receives the message; the people in flight at a kill receive it a
    second time (at most once more per kill), nobody else does."""
    emails = audience(addresses(2000))
    slow = ["person-00600@example.org", "person-01400@example.org"]
    stack.sink(slow=r"^person-0(0600|1400)@", slow_seconds=1).worker()
    mailing = scheduled_mailing()
    stack.beat()

    in_flight: list[set[int]] = []
    at_kill: list[int] = []
    for address in slow:
        wait_until(lambda a=address: stack.has_received(a), timeout=120, interval=0.02)
        in_flight.append(stack.kill_worker(mailing))
        at_kill.append(stack.received())
        stack.worker(wait=False)
    stack.wait_finished(mailing, timeout=120)

    counts = stack.per_recipient(mailing)
    missing = set(emails) - set(counts)
    assert not missing, f"{len(missing)} recipients never received it, e.g. {sorted(missing)[:3]}"
    assert set(counts) == set(emails)
    delivery_of = dict(Delivery.objects.filter(mailing=mailing).values_list("email", "pk"))
    for address, claimed in zip(slow, in_flight, strict=True):
        assert delivery_of[address] in claimed, f"{address} was not in flight at its kill"
    twice = {email: n - 1 for email, n in counts.items() if n > 1}
    assert set(slow) <= set(twice), "a message in flight at a kill was not sent again"
    for email, extra in twice.items():
        kills_in_flight = sum(delivery_of[email] in claimed for claimed in in_flight)
        assert extra <= kills_in_flight, (
            f"{email} received {extra + 1} copies but was in flight at {kills_in_flight} kills"
        )
    assert sum(twice.values()) <= sum(len(claimed) for claimed in in_flight)
    print(
        f"\nkills at {at_kill} messages; in flight at the kills: "
        f"{[len(c) for c in in_flight]}; received twice: {sorted(twice)}"
    )
    assert statuses(mailing) == {Delivery.Status.SENT: len(emails)}
    mailing.refresh_from_db()
    assert mailing.recipients == len(emails) and mailing.finished_at is not None


def _private_redis_port() -> int:
    return smtp_sink.first_free_port(PRIVATE_REDIS_PORTS)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_broker_redis_restarted_mid_send_sending_resumes_and_nothing_is_lost(stack):
    """The worker's broker (and cache) is a Redis of this test's own, killed mid-send and
    started again four seconds later, empty, as a crashed Redis without persistence comes back:
    the task messages it held are gone, the pump publishes them again after the publish lease,
    and everyone receives the message exactly once.

    The worker runs supervised, as in production: when Redis vanishes while it holds countdown
    tasks (the pump's next run, retries), kombu 5.7 fails to put them back and the worker exits
    ("Unrecoverable error"); the supervisor starts it again. Nothing is lost either way, since
    every delivery's state is in the database."""
    port = _private_redis_port()
    redis_command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no",
    ]  # fmt: skip
    stack.processes.start("redis-1", *redis_command)
    wait_until(lambda: smtp_sink.listening(port), timeout=20, message="the private Redis")
    redis = stack.processes.started[-1][0]
    broker = f"redis://127.0.0.1:{port}/0"
    stack.processes.env.update(CELERY_BROKER_URL=broker, REDIS_URL=f"redis://127.0.0.1:{port}/1")

    emails = audience(addresses(600))
    stack.sink()
    worker_log = stack.worker()
    stack.supervise()
    mailing = scheduled_mailing(soon=True)
    beat = stack.beat(broker_url=broker)

    wait_until(lambda: stack.received() >= 200, timeout=60, interval=0.02)
    os.killpg(redis.pid, signal.SIGKILL)
    redis.wait(timeout=10)
    at_stop = stack.received()
    time.sleep(4)
    during = stack.received() - at_stop
    failed_ticks = beat.failed
    stack.processes.start("redis-2", *redis_command)
    wait_until(lambda: smtp_sink.listening(port), timeout=20, message="Redis to start again")
    stack.wait_finished(mailing, timeout=90)

    assert at_stop < len(emails), "Redis stopped after the send"
    assert failed_ticks >= 1, "the dispatcher never found the broker down"
    assert "Connection to broker lost" in worker_log.read_text()
    counts = stack.per_recipient(mailing)
    assert set(counts) == set(emails), f"{len(set(emails) - set(counts))} never received it"
    assert {email: n for email, n in counts.items() if n > 1} == {}
    assert statuses(mailing) == {Delivery.Status.SENT: len(emails)}
    print(
        f"\nRedis stopped at {at_stop} messages; {during} more while it was down; the worker "
        f"was restarted {stack.restarts} times"
    )


def test_refusals_transient_retried_permanent_and_invalid_recorded_the_rest_go_on(
    stack, tasks_to_test_queue
):
    """The mail server refuses some recipients for a while (451: retried with a backoff until
    accepted), some always (451 until the last attempt: failed), some for good (550: failed at
    once); two addresses are not addresses at all (failed). Everyone else gets it once."""
    ordinary = addresses(40)
    retried = addresses(4, "retry")
    deferred = addresses(1, "stuck")
    rejected = addresses(3, "gone")
    invalid = ["two@@example.org", "no-at-sign.example.org"]
    audience(ordinary + retried + deferred + rejected + invalid)
    stack.processes.env["MAILING_MAX_ATTEMPTS"] = "4"
    stack.sink(tempfail=r"^retry-", tempfail_times=2, defer=r"^stuck-", reject=r"^gone-")
    stack.worker()
    mailing = scheduled_mailing()
    stack.beat()
    stack.wait_finished(mailing, timeout=60)

    counts = stack.per_recipient(mailing)
    assert counts == dict.fromkeys(ordinary + retried, 1)
    deliveries = {d.email: d for d in Delivery.objects.filter(mailing=mailing)}
    for email in ordinary:
        assert (deliveries[email].status, deliveries[email].attempts) == ("sent", 1)
    for email in retried:
        assert (deliveries[email].status, deliveries[email].attempts) == ("sent", 3), email
        assert deliveries[email].message_id
    for email in deferred:
        assert (deliveries[email].status, deliveries[email].attempts) == ("failed", 4)
        assert "451" in deliveries[email].reason
    for email in rejected:
        assert (deliveries[email].status, deliveries[email].attempts) == ("failed", 1)
        assert "550" in deliveries[email].reason
    assert deliveries["two@@example.org"].status == "failed"
    assert "Invalid address" in deliveries["two@@example.org"].reason
    assert deliveries["no-at-sign.example.org"].status == "failed"
    assert "553" in deliveries["no-at-sign.example.org"].reason
    refused = [line for line in smtp_sink.read(stack.sink_log) if line.code == 451]
    assert len(refused) == 2 * len(retried) + 4 * len(deferred)


def test_racing_dispatchers_freeze_once_and_one_pump_sends_each_message_once(
    stack, tasks_to_test_queue
):
    """Four dispatcher runs at the same instant (as two beats, or a beat and a re-run, would
    start them): one delivery per person, one pump. Then two beats tick four times a second
    each, their dispatches running side by side in the worker's two processes: everyone
    receives the message exactly once."""
    emails = audience(addresses(200))
    mailing = scheduled_mailing(soon=True)
    time.sleep(1.1)
    results, errors = [], []
    barrier = threading.Barrier(4)

    def dispatch():
        try:
            barrier.wait()
            results.append(services.mailings_dispatch())
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Delivery.objects.filter(mailing=mailing).count() == len(emails)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING and mailing.recipients == len(emails)
    assert sum(result["pumps"] for result in results) == 1

    stack.sink().worker()
    stack.beat(interval=0.25)
    stack.beat(interval=0.25)
    stack.wait_finished(mailing, timeout=60)

    assert stack.per_recipient(mailing) == dict.fromkeys(emails, 1)
    assert statuses(mailing) == {Delivery.Status.SENT: len(emails)}
