"""Outbound webhooks: the outbox rows events become, their payload and signature, and how they
are sent to a real HTTP server: retries, claims, the sweep, slow and refusing endpoints."""

import datetime
import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from functools import partial

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from api import webhooks
from api.models import WebhookDelivery
from celerytasks.webhooks import deliver, prune, sweep
from members.services import contact_update
from tests.api.webhook_helpers import Receiver, deliveries_of, partner_with_endpoint
from tests.campaigns.helpers import sign_processed
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


@pytest.fixture
def receiver(settings):
    """A local HTTP server; plain http and local addresses allowed, as with DJANGO_DEBUG."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    server = Receiver()
    yield server
    server.close()


def sign(campaign=None, **fields):
    campaign = campaign or CampaignFactory(double_opt_in=False)
    values = {
        "campaign": campaign,
        "name": "Rosa Parks",
        "email": "rosa@example.org",
        "phone": "404-555-0123",
        "affiliation": "Riverside Shelter",
        "ip_address": "203.0.113.5",
    }
    signature, _ = sign_processed(**{**values, **fields})
    return signature


def publishes(callbacks) -> list[tuple[int, int]]:
    """The (delivery id, attempt) pairs the captured on-commit callbacks would publish."""
    return [
        pair
        for callback in callbacks
        if isinstance(callback, partial) and callback.func is webhooks.webhook_deliveries_publish
        for pair in callback.args[0]
    ]


# --- Payload and signature ----------------------------------------------------------------------


def test_a_delivery_posts_the_payload_signed_with_the_endpoint_secret(receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/ok"))
    signature = sign()
    delivery = deliveries_of(endpoint, "signature.created")[0]

    before = int(time.time())
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "delivered"

    [(path, headers, body, _at)] = receiver.requests[:1]
    assert path == "/ok"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-CRM-Event"] == "signature.created"
    assert headers["X-CRM-Delivery"] == str(delivery.event_id)
    timestamp = headers["X-CRM-Timestamp"]
    assert before <= int(timestamp) <= time.time() + 1
    # What a partner does: recompute the HMAC over "<timestamp>.<raw body>" with the secret.
    expected = hmac.new(
        endpoint.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-CRM-Signature"] == f"t={timestamp},v1={expected}"
    assert webhooks.webhook_signature_verify(
        secret=endpoint.secret, header=headers["X-CRM-Signature"], body=body
    )
    assert not webhooks.webhook_signature_verify(
        secret=endpoint.secret, header=headers["X-CRM-Signature"], body=body + b" "
    )
    assert not webhooks.webhook_signature_verify(
        secret="whsec_other", header=headers["X-CRM-Signature"], body=body
    )

    payload = json.loads(body)
    assert payload["id"] == str(delivery.event_id)
    assert payload["type"] == "signature.created"
    assert datetime.datetime.fromisoformat(payload["created"]) <= timezone.now()
    data = payload["data"]
    assert data["id"] == signature.pk
    assert data["campaign"] == signature.campaign_id
    assert data["name"] == "Rosa Parks"
    assert data["email"] == "rosa@example.org"  # the partner's key has read:contacts
    assert data["phone"] == "+14045550123"

    delivery.refresh_from_db()
    assert delivery.status == Status.DELIVERED
    assert delivery.attempts == 1
    assert delivery.response_status == 200
    assert delivery.delivered_at is not None
    assert delivery.claimed_at is None
    assert delivery.last_error == ""


def test_the_signature_is_refused_when_stale_or_malformed():
    body = b'{"id": "x"}'
    header = webhooks.webhook_signature(secret="whsec_s", timestamp=1_000_000, body=body)
    verify = partial(webhooks.webhook_signature_verify, secret="whsec_s", body=body)
    assert verify(header=header, now=1_000_100)
    assert not verify(header=header, now=1_000_000 + 301)  # replayed later
    for bad in ["", "t=abc,v1=00", "v1=00", "t=1000000", "garbage"]:
        assert not verify(header=bad, now=1_000_000)


# --- The outbox ---------------------------------------------------------------------------------


def test_the_outbox_row_is_written_in_the_transaction_and_published_after_commit(
    django_capture_on_commit_callbacks,
):
    _partner, endpoint, _key = partner_with_endpoint()
    contact = ContactFactory(given_name="Ada")

    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            contact_update(contact=contact, data={"title": "Director"})
            # Within the transaction that made the change: the row is there already.
            [delivery] = deliveries_of(endpoint)
        assert publishes(callbacks) == []  # nothing published before the commit
    assert publishes(callbacks) == [(delivery.pk, 0)]
    assert delivery.event == "contact.updated"
    assert delivery.status == Status.PENDING
    assert delivery.payload["data"]["title"] == "Director"


def test_a_change_that_rolls_back_leaves_no_delivery_and_publishes_nothing(
    django_capture_on_commit_callbacks,
):
    _partner, endpoint, _key = partner_with_endpoint()
    contact = ContactFactory(given_name="Ada")

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        contact_update(contact=contact, data={"title": "Director"})
        raise RuntimeError("something after the change failed")
    assert deliveries_of(endpoint) == []
    assert publishes(callbacks) == []
    contact.refresh_from_db()
    assert contact.title == ""


def test_a_fault_in_the_webhooks_does_not_stop_the_change(monkeypatch, caplog):
    _partner, endpoint, _key = partner_with_endpoint()
    contact = ContactFactory(given_name="Ada")

    def broken(*args, **kwargs):
        raise ValueError("a bug in a serializer")

    monkeypatch.setattr(webhooks, "webhook_data", broken)
    contact_update(contact=contact, data={"title": "Director"})

    contact.refresh_from_db()
    assert contact.title == "Director"
    assert deliveries_of(endpoint) == []
    assert "Webhooks for contact.updated" in caplog.text


def test_one_event_has_one_id_across_endpoints_and_one_row_per_endpoint():
    _a, first, _ = partner_with_endpoint(name="A")
    _b, second, _ = partner_with_endpoint(name="B", events=["contact.updated"])
    _c, unsubscribed, _ = partner_with_endpoint(name="C", events=["organization.updated"])
    contact_update(contact=ContactFactory(), data={"title": "Chair"})

    [one], [two] = deliveries_of(first), deliveries_of(second)
    assert one.event_id == two.event_id
    assert one.payload == two.payload
    assert deliveries_of(unsubscribed) == []


def test_an_inactive_endpoint_gets_nothing():
    _partner, endpoint, _key = partner_with_endpoint()
    webhooks.webhook_endpoint_update(endpoint=endpoint, data={"active": False})
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    assert deliveries_of(endpoint) == []


# --- Sending: retries, claims, the sweep --------------------------------------------------------


def test_a_failing_endpoint_is_retried_with_a_growing_capped_backoff(receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/fail"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)

    started = timezone.now()
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "retry"
    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING
    assert delivery.attempts == 1
    assert delivery.response_status == 500
    assert delivery.last_error == "HTTP 500: Database is down"
    assert delivery.claimed_at is None
    wait = (delivery.next_attempt_at - started).total_seconds()
    assert 30 <= wait <= 30 * 1.2 + 2

    # The second attempt, when the sweep finds it due, waits twice as long.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    started = timezone.now()
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=1) == "retry"
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert 60 <= (delivery.next_attempt_at - started).total_seconds() <= 60 * 1.2 + 2
    assert len(receiver.requests) == 2


def test_the_retry_schedule_doubles_to_its_cap_and_covers_more_than_24_hours():
    schedule = webhooks.webhook_retry_schedule()
    assert schedule[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(schedule[7:]) == {3600}  # capped at an hour
    assert sum(schedule) >= 24 * 3600
    assert sum(schedule) - schedule[-1] < 25 * 3600  # and no attempt more than needed
    for attempts, delay in enumerate(schedule, start=1):
        assert webhooks.webhook_retry_delay(attempts, rand=lambda: 0.0) == delay
        assert webhooks.webhook_retry_delay(attempts, rand=lambda: 1.0) == delay * 1.2
    assert webhooks.webhook_retry_delay(len(schedule) + 1) is None


def test_the_retry_window_follows_the_settings(settings):
    settings.WEBHOOK_RETRY_HOURS = 48
    settings.WEBHOOK_RETRY_MAX = 600
    schedule = webhooks.webhook_retry_schedule()
    assert max(schedule) == 600
    assert sum(schedule) >= 48 * 3600


def test_after_the_retry_window_the_delivery_fails(receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/fail"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)
    last = len(webhooks.webhook_retry_schedule())  # attempts made before the last one
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=last)

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=last) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == last + 1
    assert delivery.last_error == "HTTP 500: Database is down"
    # A failed delivery is no longer due for the sweep.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhooks.webhook_deliveries_publish_due() == 0


def test_running_a_delivery_twice_sends_it_once(receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/ok"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)

    assert deliver.apply(args=(delivery.pk, 0)).get() == "delivered"
    assert deliver.apply(args=(delivery.pk, 0)).get() == "skipped"
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=1) == "skipped"
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DELIVERED, 1)


def test_a_delivery_another_worker_holds_is_not_sent_until_its_lease_runs_out(receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/ok"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)
    # A worker claimed attempt 0 and died mid-send.
    claimed = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=claimed, attempts=1, next_attempt_at=claimed
    )

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=1) == "skipped"
    within_lease = claimed + datetime.timedelta(seconds=50)
    assert webhooks.webhook_deliveries_publish_due(now=within_lease) == 0
    assert receiver.requests == []

    # Once the lease has run out, the sweep publishes it and the next attempt sends it.
    expired = claimed - datetime.timedelta(seconds=61)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=expired, next_attempt_at=expired
    )
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=1) == "delivered"
    assert len(receiver.requests) == 1


def test_the_sweep_publishes_what_is_due_once_per_publish_lease(
    django_capture_on_commit_callbacks,
):
    _partner, endpoint, _key = partner_with_endpoint()
    for title in ("One", "Two", "Three"):
        contact_update(contact=ContactFactory(), data={"title": title})
    due, later, held = deliveries_of(endpoint)
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=due.pk).update(
        next_attempt_at=now - datetime.timedelta(seconds=1), attempts=2
    )
    WebhookDelivery.objects.filter(pk=later.pk).update(
        next_attempt_at=now + datetime.timedelta(minutes=5)
    )
    WebhookDelivery.objects.filter(pk=held.pk).update(next_attempt_at=now, claimed_at=now)

    with django_capture_on_commit_callbacks() as callbacks:
        assert sweep.apply().get() == 1
    assert publishes(callbacks) == [(due.pk, 2)]
    due.refresh_from_db()
    # Published: not again until the publish lease has passed (its task may be queued).
    assert due.next_attempt_at > now + datetime.timedelta(seconds=100)
    with django_capture_on_commit_callbacks() as callbacks:
        assert webhooks.webhook_deliveries_publish_due() == 0
    assert publishes(callbacks) == []


def test_a_redirect_is_not_followed(receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/redirect"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "retry"
    assert [path for path, *_ in receiver.requests] == ["/redirect"]
    delivery.refresh_from_db()
    assert delivery.response_status == 302
    assert "redirects are not followed" in delivery.last_error


def test_an_endpoint_nobody_listens_on_is_retried(settings):
    settings.WEBHOOK_ALLOW_HTTP = settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    _partner, endpoint, _key = partner_with_endpoint(url="http://127.0.0.1:9/hook")
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "retry"
    delivery.refresh_from_db()
    assert delivery.response_status is None
    assert delivery.last_error.startswith("Could not connect")


def test_an_endpoint_deactivated_meanwhile_fails_its_pending_deliveries(receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/ok"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)
    webhooks.webhook_endpoint_update(endpoint=endpoint, data={"active": False})

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "failed"
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert "deactivated" in delivery.last_error


def test_a_name_that_resolves_to_a_private_address_is_not_sent_to(settings, receiver):
    _partner, endpoint, _key = partner_with_endpoint(url=f"http://localhost:{receiver.port}/ok")
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False  # production

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "failed"
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert "resolves to a local or private address" in delivery.last_error


def _resolving(monkeypatch, name, *answers):
    """DNS for ``name``: each lookup answers the next list of addresses (the last one from then
    on), as a name with a TTL of 0 whose owner changes its answers can; other names as usual.
    Returns the answers given, one per lookup."""
    real = socket.getaddrinfo
    given = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        addresses = answers[min(len(given), len(answers) - 1)]
        given.append(addresses)
        return [info for address in addresses for info in real(address, port, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


def _delivery_to(url, name="Partner A"):
    _partner, endpoint, _key = partner_with_endpoint(url=url, name=name)
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)
    return delivery


def test_a_delivery_connects_to_the_address_resolved_once_under_its_name(receiver, monkeypatch):
    """The name is resolved once; the POST goes to that address (a later answer, here an
    unroutable one, is never asked for), with the name in the Host header."""
    delivery = _delivery_to(f"http://hook.example.test:{receiver.port}/ok")
    given = _resolving(monkeypatch, "hook.example.test", ["127.0.0.1"], ["192.0.2.1"])

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "delivered"
    assert given == [["127.0.0.1"]]
    [(_path, headers, _body, _at)] = receiver.requests
    assert headers["Host"] == f"hook.example.test:{receiver.port}"


def test_a_name_with_any_private_address_is_not_sent_to(receiver, settings, monkeypatch):
    delivery = _delivery_to(f"http://hook.example.test:{receiver.port}/ok")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    _resolving(monkeypatch, "hook.example.test", ["93.184.215.14", "127.0.0.1"])

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "failed"
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.last_error == "hook.example.test resolves to a local or private address."


def test_a_proxy_from_the_environment_is_not_used(receiver, monkeypatch):
    """A proxy would resolve the name itself, past the check: deliveries connect directly."""
    proxy = Receiver()
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url(""))
        delivery = _delivery_to(receiver.url("/ok"))

        assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "delivered"
        assert proxy.requests == []
        assert [path for path, *_ in receiver.requests] == ["/ok"]
    finally:
        proxy.close()


@pytest.fixture
def tls_receiver(receiver, tmp_path, monkeypatch):
    """The receiver over TLS with a certificate for hook.example.test, trusted by requests
    (REQUESTS_CA_BUNDLE); ``receiver.server_names`` holds the TLS server name (SNI) asked for."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hook.example.test",
            "-addext", "subjectAltName=DNS:hook.example.test",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server_names = []
    context.sni_callback = lambda _sock, name, _context: receiver.server_names.append(name)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    return receiver


def test_over_https_the_certificate_is_checked_for_the_name_not_the_address(
    tls_receiver, monkeypatch
):
    _resolving(monkeypatch, "hook.example.test", ["127.0.0.1"])
    delivery = _delivery_to(f"https://hook.example.test:{tls_receiver.port}/ok")

    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "delivered"
    assert tls_receiver.server_names == ["hook.example.test"]
    [(_path, headers, _body, _at)] = tls_receiver.requests
    assert headers["Host"] == f"hook.example.test:{tls_receiver.port}"

    # The same server under a name its certificate is not for.
    _resolving(monkeypatch, "other.example.test", ["127.0.0.1"])
    other = _delivery_to(f"https://other.example.test:{tls_receiver.port}/ok", name="Other")
    assert webhooks.webhook_delivery_send(delivery_id=other.pk, attempt=0) == "retry"
    assert len(tls_receiver.requests) == 1
    other.refresh_from_db()
    assert "certificate" in other.last_error.lower()


def test_redeliver_sends_a_failed_delivery_again_under_the_same_event_id(
    receiver, django_capture_on_commit_callbacks
):
    _partner, endpoint, _key = partner_with_endpoint(url=receiver.url("/ok"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.FAILED, attempts=32)

    with django_capture_on_commit_callbacks() as callbacks:
        webhooks.webhook_delivery_redeliver(delivery=delivery)
    assert publishes(callbacks) == [(delivery.pk, 0)]
    assert webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0) == "delivered"
    [(_path, headers, _body, _at)] = receiver.requests
    assert headers["X-CRM-Delivery"] == str(delivery.event_id)


# --- A slow endpoint holds back no other --------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_slow_endpoint_does_not_delay_a_fast_one(receiver, settings):
    settings.WEBHOOK_TIMEOUT = 2
    receiver.slow_seconds = 5
    _a, slow, _ = partner_with_endpoint(name="Slow", url=receiver.url("/slow"))
    _b, fast, _ = partner_with_endpoint(name="Fast", url=receiver.url("/ok"))
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    [slow_delivery], [fast_delivery] = deliveries_of(slow), deliveries_of(fast)
    outcomes = {}

    def work(name, delivery):
        # Each delivery is its own task: here, two worker slots.
        try:
            outcomes[name] = (
                webhooks.webhook_delivery_send(delivery_id=delivery.pk, attempt=0),
                time.monotonic(),
            )
        finally:
            close_old_connections()
            connection.close()

    started = time.monotonic()
    slow_thread = threading.Thread(target=work, args=("slow", slow_delivery))
    slow_thread.start()
    while not any(path == "/slow" for path, *_ in receiver.requests):
        assert time.monotonic() - started < 5
        time.sleep(0.02)
    work_fast = threading.Thread(target=work, args=("fast", fast_delivery))
    work_fast.start()
    work_fast.join(timeout=10)
    slow_thread.join(timeout=10)

    assert outcomes["fast"][0] == "delivered"
    assert outcomes["fast"][1] - started < 1.5  # well before the slow one's timeout
    assert outcomes["slow"][0] == "retry"
    assert 2.0 <= outcomes["slow"][1] - started < 4.5  # given up after WEBHOOK_TIMEOUT
    slow_delivery.refresh_from_db()
    assert slow_delivery.last_error == "No answer within 2 s."
    assert slow_delivery.status == Status.PENDING


def test_the_task_time_limit_is_below_the_lease(settings):
    assert deliver.soft_time_limit < deliver.time_limit < settings.WEBHOOK_LEASE
    assert deliver.soft_time_limit >= 2 * settings.WEBHOOK_TIMEOUT


def test_beat_sweeps_every_30_seconds_and_prunes_every_hour():
    from django_celery_beat.models import PeriodicTask

    schedules = {
        task.task: (task.interval.every, task.interval.period, task.enabled)
        for task in PeriodicTask.objects.filter(task__startswith="webhooks.")
    }
    assert schedules == {
        "webhooks.sweep": (30, "seconds", True),
        "webhooks.prune": (3600, "seconds", True),
    }


def test_no_organisation_or_campaign_is_needed_for_a_contact_event():
    # Guard against the payload reaching for related rows that are not there.
    _partner, endpoint, _key = partner_with_endpoint(events=["contact.updated"])
    contact = ContactFactory(email="lone@example.org")
    contact_update(contact=contact, data={"given_name": "Lone"})
    [delivery] = deliveries_of(endpoint)
    assert delivery.payload["data"]["id"] == contact.pk
    assert delivery.payload["data"]["email"] == "lone@example.org"


# --- The log's retention, and erasure -----------------------------------------------------------


def test_old_finished_deliveries_are_pruned_and_pending_ones_kept(settings):
    settings.WEBHOOK_LOG_DAYS = 30
    _partner, endpoint, _key = partner_with_endpoint()
    for title in ("One", "Two", "Three", "Four"):
        contact_update(contact=ContactFactory(), data={"title": title})
    old_delivered, old_failed, old_pending, recent = deliveries_of(endpoint)
    long_ago = timezone.now() - datetime.timedelta(days=31)
    for delivery, status in [
        (old_delivered, Status.DELIVERED),
        (old_failed, Status.FAILED),
        (old_pending, Status.PENDING),
    ]:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status, modified=long_ago)
    WebhookDelivery.objects.filter(pk=recent.pk).update(status=Status.DELIVERED)

    assert prune.apply().get() == 2
    assert [d.pk for d in deliveries_of(endpoint)] == [old_pending.pk, recent.pk]


def test_erasing_a_person_empties_the_deliveries_about_them():
    _partner, endpoint, _key = partner_with_endpoint()
    signature = sign(email="rosa@example.org")
    sign(email="other@example.org", campaign=signature.campaign)
    WebhookDelivery.objects.filter(endpoint=endpoint).update(status=Status.DELIVERED)
    ours = [d for d in deliveries_of(endpoint) if "rosa@example.org" in json.dumps(d.payload)]
    assert {d.event for d in ours} == {
        "contact.updated",
        "signature.created",
        "signature.confirmed",
    }
    WebhookDelivery.objects.filter(pk=ours[0].pk).update(status=Status.PENDING)

    emptied = webhooks.webhook_deliveries_forget(
        contact_id=signature.contact_id, signature_ids=[signature.pk]
    )
    assert emptied == len(ours)
    for delivery in deliveries_of(endpoint):
        text = json.dumps(delivery.payload)
        assert "rosa@example.org" not in text
        if delivery.pk in {d.pk for d in ours}:
            assert delivery.payload == {"erased": True}
            assert delivery.status in (Status.DELIVERED, Status.FAILED)
    assert any("other@example.org" in json.dumps(d.payload) for d in deliveries_of(endpoint))
