"""Real processes: a Celery worker, beat and the whole Procfile stack against the test database.

These run against whatever broker and database the suite is configured with: the embedded
defaults under `make test`, and Redis + PostgreSQL in the second pass of `.ci/run`.
"""

import json
import urllib.request

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from campaigns.models import Campaign
from celerytasks.tasks import refresh_signature_counts
from tests.conftest import ROOT, free_port, wait_until
from tests.factories import CampaignFactory, SignatureFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _campaign_with_three_confirmed_signatures():
    campaign = CampaignFactory(signature_count=0)
    SignatureFactory.create_batch(3, campaign=campaign)
    SignatureFactory(campaign=campaign, confirmed_at=None)  # unconfirmed: never counted
    return campaign


def _count(campaign):
    return Campaign.objects.values_list("signature_count", flat=True).get(pk=campaign.pk)


def test_worker_process_runs_a_task_sent_through_the_broker(processes, celery_queue):
    campaign = _campaign_with_three_confirmed_signatures()
    log = processes.start(
        "worker",
        "celery",
        "-A",
        "celerytasks",
        "worker",
        "--loglevel=INFO",
        "--concurrency=1",
    )

    refresh_signature_counts.apply_async(queue=celery_queue)

    wait_until(lambda: _count(campaign) == 3, timeout=60, message="the worker to count")
    wait_until(lambda: "succeeded" in log.read_text(), timeout=10, message="the worker log")
    assert "campaigns.refresh_signature_counts" in log.read_text()


def test_procfile_serves_pages_and_beat_schedules_tasks_for_the_worker(processes):
    campaign = _campaign_with_three_confirmed_signatures()
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.create(
        name="Count signatures every second (test)",
        task="campaigns.refresh_signature_counts",
        interval=every_second,
    )
    port = free_port()
    log = processes.start(
        "honcho", "honcho", "start", "-f", str(ROOT / "Procfile"), "-p", str(port)
    )
    honcho = processes.started[-1][0]

    def healthz():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                return reply.status, json.load(reply)
        except OSError:
            return None

    status, body = wait_until(healthz, timeout=60, message="the web server")
    assert status == 200
    assert body["database"] == "ok" and body["broker"] == "ok"

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
        assert campaign.title in reply.read().decode()

    wait_until(lambda: _count(campaign) == 3, timeout=60, message="beat and the worker")
    output = log.read_text()
    assert "Sending due task Count signatures every second (test)" in output
    assert "Task campaigns.refresh_signature_counts" in output

    # Ctrl-C (SIGINT) stops web, worker and beat together; interrupt() fails on a hang.
    processes.interrupt(honcho)
    output = log.read_text()
    for name in ("web.1", "worker.1", "beat.1"):
        assert f"{name} stopped" in output
