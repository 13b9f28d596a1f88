"""Webhooks end to end with real processes: a signature's event is published after its commit,
a Celery worker sends it to a real HTTP server, and a retry the sweep publishes is sent too."""

import hashlib
import hmac
import json

import pytest

from api.models import WebhookDelivery
from celerytasks.celery import app
from celerytasks.webhooks import sweep
from members.services import contact_update
from tests.api.webhook_helpers import Receiver, deliveries_of, partner_with_endpoint
from tests.campaigns.helpers import sign_processed
from tests.conftest import wait_until
from tests.factories import CampaignFactory, ContactFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def worker(processes, celery_queue, settings):
    """A worker on this test's queue, to which this process publishes too."""
    settings.WEBHOOK_ALLOW_HTTP = settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    processes.env.update(WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true")
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = celery_queue
    log = processes.start(
        "worker", "celery", "-A", "celerytasks", "worker", "--loglevel=INFO", "--concurrency=2"
    )
    yield log
    app.conf.task_default_queue = default_queue


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_a_worker_sends_a_signature_event_published_after_its_commit(worker, receiver):
    _partner, endpoint, _key = partner_with_endpoint(
        url=receiver.url("/ok"), events=["signature.created"]
    )
    signature, _ = sign_processed(
        campaign=CampaignFactory(double_opt_in=False),
        name="Rosa Parks",
        email="rosa@example.org",
        ip_address="203.0.113.5",
    )

    wait_until(lambda: receiver.requests, timeout=60, message="the worker to POST the event")
    [(_path, headers, body, _at)] = receiver.requests
    timestamp = headers["X-CRM-Timestamp"]
    expected = hmac.new(
        endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-CRM-Signature"] == f"t={timestamp},v1={expected}"
    assert json.loads(body)["data"]["id"] == signature.pk

    [delivery] = deliveries_of(endpoint)

    def delivered():
        delivery.refresh_from_db()
        return delivery.status == WebhookDelivery.Status.DELIVERED

    wait_until(delivered, timeout=20, message="the delivery to be stamped")
    assert headers["X-CRM-Delivery"] == str(delivery.event_id)
    assert delivery.attempts == 1


def test_a_retry_waits_in_the_database_until_the_sweep_publishes_it(worker, receiver):
    _partner, endpoint, _key = partner_with_endpoint(
        url=receiver.url("/fail"), events=["contact.updated"]
    )
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)

    def attempts(n):
        def check():
            delivery.refresh_from_db()
            return delivery.attempts == n and delivery.claimed_at is None

        return check

    wait_until(attempts(1), timeout=60, message="the first attempt")
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.last_error == "HTTP 500: Database is down"

    # Nothing is queued for the retry: it is sent when the sweep finds it due.
    endpoint.url = receiver.url("/ok")
    endpoint.save(update_fields=["url"])
    assert sweep.apply().get() == 0
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created)
    assert sweep.apply().get() == 1

    wait_until(attempts(2), timeout=60, message="the retry")
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert [path for path, *_ in receiver.requests] == ["/fail", "/ok"]
