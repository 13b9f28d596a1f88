"""The sign POST's outbox: one statement stores a submission; processing (a task, asked for on
commit and run by beat every 10 s) links, confirms and e-mails, once per submission."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from campaigns import services
from campaigns.models import Campaign, Signature
from campaigns.selectors import signature_public_list
from campaigns.services import (
    campaign_signature_counts_refresh,
    signature_confirm,
    signature_confirmation_token,
    signature_record,
    signatures_process_pending,
)
from celerytasks.campaigns import process_signatures, send_signature_confirmation
from crm.errors import ApplicationError
from members.models import Contact
from tests.campaigns.helpers import confirmations_queued
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db


def _record(campaign, **fields):
    data = {"campaign": campaign, "name": "Ann Lee", "email": "ann.lee@example.org", **fields}
    return signature_record(**data)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Campaign.Status.CLOSED, "This campaign is closed and no longer takes signatures."),
        (Campaign.Status.DRAFT, "This campaign is not open for signatures yet."),
    ],
)
def test_the_insert_refuses_a_campaign_closed_since_it_was_read(status, message):
    campaign = CampaignFactory()  # read while open, as a web process caches it
    Campaign.objects.filter(pk=campaign.pk).update(status=status)

    with pytest.raises(ApplicationError) as error:
        _record(campaign)

    assert error.value.message == message
    assert not Signature.objects.exists()


def test_the_insert_refuses_a_campaign_whose_closing_time_passed_since_it_was_read():
    campaign = CampaignFactory()
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=timezone.now())

    with pytest.raises(ApplicationError, match="closed"):
        _record(campaign)

    assert not Signature.objects.exists()


def test_two_spellings_of_one_gmail_mailbox_make_one_row_and_one_thank_you_page():
    campaign = CampaignFactory()

    first, created = _record(campaign, email="Ann.Lee+facts@Gmail.com", message="First")
    again, created_again = _record(campaign, email=" annlee@GOOGLEMAIL.com ", message="Again")

    assert (created, created_again) == (True, False)
    assert Signature.objects.count() == 1
    assert (again.pk, again.share_code) == (first.pk, first.share_code)
    stored = Signature.objects.get()
    assert stored.email == "ann.lee+facts@gmail.com" and stored.canonical_email == (
        "annlee@gmail.com"
    )
    signatures_process_pending()
    stored.refresh_from_db()
    assert stored.message == "Again" and stored.resubmission is None
    assert Contact.objects.count() == 1


def test_the_database_holds_one_signature_per_mailbox():
    from django.db import IntegrityError

    campaign = CampaignFactory()
    Signature.objects.create(campaign=campaign, name="A", canonical_email="a@example.org")

    with pytest.raises(IntegrityError):
        Signature.objects.create(campaign=campaign, name="B", canonical_email="a@example.org")


def test_processing_twice_links_once_and_queues_one_confirmation(
    django_capture_on_commit_callbacks,
):
    campaign = CampaignFactory()
    signature, _ = _record(campaign)
    assert Signature.objects.get().processed_at is None

    with django_capture_on_commit_callbacks() as first:
        assert signatures_process_pending() == 1
    with django_capture_on_commit_callbacks() as second:
        assert signatures_process_pending() == 0

    stored = Signature.objects.get()
    assert stored.processed_at is not None
    assert stored.contact == Contact.objects.get(email="ann.lee@example.org")
    assert stored.confirmation_sends == 1
    assert (confirmations_queued(first), confirmations_queued(second)) == (1, 0)


def test_a_submission_asks_for_processing_once_a_second_per_process(
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "_process_asked_at", 0.0)
    campaign = CampaignFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        _record(campaign)
        _record(campaign, email="bo@example.org")

    names = [getattr(callback, "__name__", "") for callback in callbacks]
    assert names == ["ask_for_signatures_processing"]


def test_the_task_processes_what_waits():
    _record(CampaignFactory(double_opt_in=False))

    assert process_signatures() == 1
    assert Signature.objects.get().confirmed_at is not None


@pytest.mark.parametrize("double_opt_in", [False, True])
def test_an_unprocessed_signature_is_neither_counted_nor_listed(double_opt_in):
    campaign = CampaignFactory(double_opt_in=double_opt_in)
    _record(campaign, show_publicly=True)

    assert campaign_signature_counts_refresh()[campaign.pk] == 0
    assert list(signature_public_list(campaign=campaign)) == []

    signatures_process_pending()
    if double_opt_in:
        signature_confirm(token=signature_confirmation_token(Signature.objects.get()))

    assert campaign_signature_counts_refresh()[campaign.pk] == 1
    assert [s.name for s in signature_public_list(campaign=campaign)] == ["Ann Lee"]


def test_a_waiting_re_submission_leaves_the_confirmed_signature_counted_as_it_was(client):
    campaign = CampaignFactory(double_opt_in=False)
    _record(campaign, show_publicly=True, message="Mine")
    signatures_process_pending()

    _record(campaign, show_publicly=True, message="Changed", name="Ann B. Lee")

    assert campaign_signature_counts_refresh()[campaign.pk] == 1
    listed = client.get(reverse("campaigns:signatures", args=[campaign.slug])).content.decode()
    assert "Mine" in listed and "Changed" not in listed
    signatures_process_pending()
    listed = client.get(reverse("campaigns:signatures", args=[campaign.slug])).content.decode()
    assert "Ann B. Lee" in listed and "Changed" in listed


def test_re_submissions_past_the_cap_change_nothing_even_when_processed_late():
    campaign = CampaignFactory()
    for number in range(3):
        _record(campaign, message=f"Try {number}")
        signatures_process_pending()
    assert Signature.objects.get().confirmation_sends == 3

    _record(campaign, message="Try 3")
    _record(campaign, message="Try 4")
    signatures_process_pending()

    stored = Signature.objects.get()
    assert (stored.message, stored.confirmation_sends, stored.pending_changes) == ("Try 2", 3, None)


def test_a_flagged_submission_gets_no_confirmation(django_capture_on_commit_callbacks):
    campaign = CampaignFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        _record(campaign, honeypot_filled=True)
        signatures_process_pending()

    stored = Signature.objects.get()
    assert stored.flagged and stored.confirmation_sends == 0
    assert confirmations_queued(callbacks) == 0


def test_the_beat_schedule_processes_new_signatures_every_ten_seconds():
    task = PeriodicTask.objects.select_related("interval").get(name="Process new signatures")

    assert task.task == "campaigns.process_signatures" and task.enabled
    assert (task.interval.every, task.interval.period) == (10, "seconds")
    from celerytasks.celery import app

    app.loader.import_default_modules()
    assert "campaigns.process_signatures" in app.tasks


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers (each transaction takes the write lock)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_processing_runs_at_once_link_each_signature_once_and_e_mail_it_once(monkeypatch):
    queued = []
    monkeypatch.setattr(send_signature_confirmation, "delay", queued.append)
    monkeypatch.setattr(process_signatures, "delay", lambda: None)
    campaign = CampaignFactory(rate_limit_per_ip=10_000, rate_limit_per_domain=10_000)
    ContactFactory(email="person7@example.org")  # some signers are known already
    count = 60
    for number in range(count):
        _record(campaign, name=f"Person {number}", email=f"person{number}@example.org")
    runs, errors = [], []
    barrier = threading.Barrier(3)

    def run():
        try:
            barrier.wait(timeout=30)
            runs.append(services.signatures_process_pending(batch=7))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [str(e) for e in errors] == []
    assert sum(runs) == count
    assert not Signature.objects.filter(processed_at__isnull=True).exists()
    assert Contact.objects.count() == count
    assert set(Signature.objects.values_list("confirmation_sends", flat=True)) == {1}
    assert sorted(queued) == sorted(Signature.objects.values_list("pk", flat=True))
