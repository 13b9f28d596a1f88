"""The mailing services: templates, audience, freezing, claiming and sending exactly once."""

import datetime
import smtplib

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.errors import ApplicationError
from mailings import services
from mailings.models import Delivery, Mailing, Suppression
from mailings.rendering import message_compile, message_render, message_template_check
from mailings.selectors import audience_count, mailing_progress
from members.models import Affiliation, Contact, Organization
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    MailingFactory,
    OrganizationFactory,
    SectorFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db


def members(n, **org_kwargs):
    """n active member organisations, each with one primary contact."""
    return [AffiliationFactory(organization=OrganizationFactory(**org_kwargs)) for _ in range(n)]


def started(mailing):
    services.mailing_schedule(mailing=mailing)
    services.mailing_audience_freeze(mailing=mailing)
    mailing.refresh_from_db()
    return mailing


# --- Templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Hello {{ first_name }}", "{{ first_name }} is not a merge field."),
        ("{{ given_name.upper }}", "{{ given_name.upper }} is not a merge field."),
        ("{% for x in y %}{% endfor %}", "{% for %} cannot be used in a message"),
        ("{{ given_name|safe }}", "The safe filter cannot be used in a message."),
        ("{% if secret %}x{% endif %}", "{{ secret }} is not a merge field."),
        ("{% if signed %}unclosed", "Unclosed tag"),
        ("{% load static %}", "not a registered tag library"),
    ],
    ids=["unknown", "attribute", "for", "safe-filter", "if-unknown", "unclosed", "load"],
)
def test_template_errors_name_the_problem(source, message):
    with pytest.raises(ValidationError) as error:
        message_template_check(source, label="Message")
    assert any(message in text for text in error.value.messages), error.value.messages


def test_merged_values_are_escaped_in_html_and_kept_in_text():
    compiled = message_compile(
        subject="For {{ organization }}",
        body="Dear {{ given_name }},\n\n{% if signed %}Thank you.{% else %}Please "
        "[sign]({{ campaign_link }}).{% endif %}",
    )
    subject, text, html = message_render(
        compiled,
        {
            "given_name": "<b>Ana</b>",
            "organization": "Smith & Sons",
            "signed": False,
            "campaign_link": "https://crm.example.org/campaigns/a/?ref=x&y",
        },
    )
    assert subject == "For Smith & Sons"
    assert "Dear <b>Ana</b>," in text
    assert "Please sign (https://crm.example.org/campaigns/a/?ref=x&y)." in text
    assert "Dear &lt;b&gt;Ana&lt;/b&gt;," in html
    assert 'href="https://crm.example.org/campaigns/a/?ref=x&amp;y"' in html
    assert "Thank you" not in html


# --- Audience -----------------------------------------------------------------------------------


def test_audience_is_primary_contacts_of_active_members_by_default():
    primaries = members(3)
    AffiliationFactory(organization=primaries[0].organization, role=Affiliation.Role.STAFF)
    members(2, status=Organization.Status.LAPSED)
    mailing = MailingFactory()
    assert audience_count(mailing) == 3


def test_audience_segments_narrow_it():
    public = SectorFactory(name="Public", slug="public")
    faith = SectorFactory(name="Multi-faith", slug="multi-faith")
    members(2, sector=public)
    in_faith = members(3, sector=faith)
    in_faith[0].contact.language = "es"
    in_faith[0].contact.save()
    mailing = MailingFactory()
    mailing.sectors.set([faith])
    assert audience_count(mailing) == 3
    mailing.language = "es"
    assert audience_count(mailing) == 1


def test_signed_and_not_signed_segments_follow_counted_signatures():
    campaign = CampaignFactory()
    signed_on, person_signed, not_signed = members(3)
    SignatureFactory(
        campaign=campaign, contact=signed_on.contact, on_behalf_of=signed_on.organization
    )
    SignatureFactory(campaign=campaign, contact=person_signed.contact)
    SignatureFactory(campaign=campaign, contact=not_signed.contact, confirmed_at=None)
    mailing = MailingFactory(campaign=campaign, signed="not_signed")
    rows = services.audience_rows(mailing)
    assert [row["contact_id"] for row in rows] == [not_signed.contact_id]
    mailing.signed = "signed"
    assert audience_count(mailing) == 2


def test_suppressed_and_unsubscribed_addresses_are_left_out():
    kept, suppressed, unsubscribed = members(3)
    Suppression.objects.create(email=suppressed.contact.email.upper(), reason="bounced")
    Contact.objects.filter(pk=unsubscribed.contact_id).update(email_status="unsubscribed")
    assert [r["contact_id"] for r in services.audience_rows(MailingFactory())] == [kept.contact_id]


def test_a_person_primary_for_two_members_gets_one_delivery():
    first = AffiliationFactory()
    AffiliationFactory(contact=first.contact)
    mailing = started(MailingFactory())
    assert mailing.deliveries.count() == 1
    assert mailing.recipients == 1


# --- Schedule and freeze ------------------------------------------------------------------------


def test_an_empty_audience_cannot_be_scheduled():
    with pytest.raises(ApplicationError, match="Nobody is in this mailing's audience"):
        services.mailing_schedule(mailing=MailingFactory())


def test_an_unknown_merge_field_stops_scheduling_not_sending():
    members(1)
    mailing = MailingFactory(body="Hi {{ nickname }}")
    with pytest.raises(ValidationError):
        services.mailing_schedule(mailing=mailing)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT


def test_campaign_merge_fields_need_a_campaign():
    members(1)
    mailing = MailingFactory(body="Sign at {{ campaign_link }}")
    with pytest.raises(ValidationError) as error:
        services.mailing_schedule(mailing=mailing)
    assert "campaign" in error.value.message_dict


def test_words_like_campaign_in_plain_text_need_no_campaign():
    members(1)
    mailing = MailingFactory(subject="Our campaign news", body="We designed this for you.")
    services.mailing_schedule(mailing=mailing)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED


def test_freezing_twice_adds_nobody_twice():
    members(5)
    mailing = MailingFactory()
    services.mailing_schedule(mailing=mailing)
    assert services.mailing_audience_freeze(mailing=mailing) == 5
    members(2)  # joined after the freeze: not in this mailing
    assert services.mailing_audience_freeze(mailing=mailing) == 5
    assert Delivery.objects.filter(mailing=mailing).count() == 5
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING


def test_dispatch_starts_only_due_mailings():
    members(2)
    due, later = MailingFactory(), MailingFactory()
    services.mailing_schedule(mailing=due)
    services.mailing_schedule(mailing=later, at=timezone.now() + datetime.timedelta(hours=1))
    services.mailings_dispatch()
    services.mailings_dispatch()
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, due.deliveries.count()) == (Mailing.Status.SENDING, 2)
    assert (later.status, later.deliveries.count()) == (Mailing.Status.SCHEDULED, 0)


# --- Sending ------------------------------------------------------------------------------------


def test_a_delivery_is_sent_once_however_often_its_task_runs():
    (affiliation,) = members(1)
    mailing = started(MailingFactory())
    delivery = mailing.deliveries.get()
    assert services.delivery_send(delivery_id=delivery.pk) == "sent"
    assert services.delivery_send(delivery_id=delivery.pk) == "busy"
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.message_id == mail.outbox[0].extra_headers["Message-ID"]
    assert mail.outbox[0].to == [affiliation.contact.email]
    assert mail.outbox[0].subject == f"News for {affiliation.organization.name}"


def test_a_claimed_delivery_is_not_sent_by_another_task():
    members(1)
    delivery = started(MailingFactory()).deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", claimed_at=timezone.now())
    assert services.delivery_send(delivery_id=delivery.pk) == "busy"
    assert mail.outbox == []


def test_a_claim_older_than_the_lease_goes_back_to_the_queue(settings):
    members(1)
    delivery = started(MailingFactory()).deliveries.get()
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.MAILING_SEND_LEASE + 1)
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", claimed_at=long_ago)
    assert services.mailings_dispatch()["released"] == 1
    assert services.delivery_send(delivery_id=delivery.pk) == "sent"


def test_paused_and_cancelled_mailings_send_nothing():
    members(2)
    mailing = started(MailingFactory())
    first, second = mailing.deliveries.all()
    services.mailing_pause(mailing=mailing)
    assert services.delivery_send(delivery_id=first.pk) == "busy"
    services.mailing_resume(mailing=mailing)
    assert services.delivery_send(delivery_id=first.pk) == "sent"
    services.mailing_cancel(mailing=mailing)
    assert services.delivery_send(delivery_id=second.pk) == "busy"
    second.refresh_from_db()
    assert (second.status, second.reason) == ("skipped", "Mailing cancelled")
    assert len(mail.outbox) == 1


def test_refused_transitions_say_why():
    mailing = MailingFactory()
    with pytest.raises(ApplicationError, match="Only a mailing that is sending can be paused"):
        services.mailing_pause(mailing=mailing)
    with pytest.raises(ApplicationError, match="Only a paused mailing can be resumed"):
        services.mailing_resume(mailing=mailing)


def test_someone_who_signed_since_the_freeze_is_skipped():
    campaign = CampaignFactory()
    (affiliation,) = members(1)
    mailing = started(
        MailingFactory(
            campaign=campaign, signed="not_signed", body="Please sign {{ campaign_link }}"
        )
    )
    SignatureFactory(
        campaign=campaign, contact=affiliation.contact, on_behalf_of=affiliation.organization
    )
    delivery = mailing.deliveries.get()
    assert services.delivery_send(delivery_id=delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert delivery.reason == "Signed the campaign since the mailing was prepared"
    assert mail.outbox == []


def test_an_address_suppressed_after_the_freeze_is_skipped():
    (affiliation,) = members(1)
    delivery = started(MailingFactory()).deliveries.get()
    services.suppression_add(email=affiliation.contact.email.upper(), reason="unsubscribed")
    assert services.delivery_send(delivery_id=delivery.pk) == "skipped"
    affiliation.contact.refresh_from_db()
    assert affiliation.contact.email_status == "unsubscribed"


class _Refusing:
    """An e-mail backend whose server answers every message with the given error."""

    error: Exception = smtplib.SMTPServerDisconnected("gone")

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        raise type(self).error


class _Transient(_Refusing):
    error = smtplib.SMTPResponseException(451, b"try again later")


class _Permanent(_Refusing):
    error = smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"no such user")})


@pytest.fixture
def refusing_backend(settings, monkeypatch):
    def use(backend):
        settings.EMAIL_BACKEND = f"{__name__}.{backend.__name__}"
        services._mail_connection_drop()

    yield use
    services._mail_connection_drop()


def test_a_transient_error_puts_the_delivery_back_with_a_backoff(refusing_backend):
    refusing_backend(_Transient)
    members(1)
    delivery = started(MailingFactory()).deliveries.get()
    with pytest.raises(services.TransientSendError) as error:
        services.delivery_send(delivery_id=delivery.pk)
    assert 0 < error.value.countdown <= 30
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert delivery.enqueued_at > timezone.now()
    assert "try again later" in delivery.reason


def test_a_permanent_error_is_recorded_and_the_rest_go_on(refusing_backend, settings):
    members(2)
    mailing = started(MailingFactory())
    first, second = mailing.deliveries.all()
    refusing_backend(_Permanent)
    assert services.delivery_send(delivery_id=first.pk) == "failed"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services._mail_connection_drop()
    assert services.delivery_send(delivery_id=second.pk) == "sent"
    first.refresh_from_db()
    assert first.status == "failed"
    assert "no such user" in first.reason
    progress = mailing_progress(mailing)
    assert (progress.sent, progress.failed, progress.remaining) == (1, 1, 0)


def test_transient_errors_give_up_after_the_last_attempt(refusing_backend, settings):
    refusing_backend(_Transient)
    members(1)
    delivery = started(MailingFactory()).deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(attempts=settings.MAILING_MAX_ATTEMPTS - 1)
    assert services.delivery_send(delivery_id=delivery.pk) == "failed"


def test_backoff_is_capped(settings):
    assert services.backoff_seconds(1) <= settings.MAILING_RETRY_BASE
    assert services.backoff_seconds(30) <= settings.MAILING_RETRY_MAX


def test_the_mailing_finishes_when_nothing_is_left():
    members(1)
    mailing = started(MailingFactory())
    services.delivery_send(delivery_id=mailing.deliveries.get().pk)
    services.mailings_dispatch()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    assert mailing.finished_at is not None


# --- The pump -----------------------------------------------------------------------------------


def test_one_pump_per_mailing_and_lost_tasks_are_published_again(
    settings, django_capture_on_commit_callbacks
):
    settings.MAILING_WINDOW = 10
    members(15)
    mailing = started(MailingFactory())
    now = timezone.now()
    token = services._pump_lease_take(mailing.pk, now=now)
    assert token is not None
    assert services._pump_lease_take(mailing.pk, now=now) is None  # held
    published, token = services.mailing_pump(mailing_id=mailing.pk, token=token)
    assert published == 10  # the window
    published, token = services.mailing_pump(mailing_id=mailing.pk, token=token)
    assert published == 0  # ten still waiting in the broker
    assert services.mailing_pump(mailing_id=mailing.pk, token="2000-01-01T00:00:00+00:00") == (
        0,
        None,
    )
    # The ten were lost (a broker restart): after the publish lease they go out again.
    Delivery.objects.filter(mailing=mailing).exclude(enqueued_at=None).update(
        enqueued_at=now - datetime.timedelta(seconds=settings.MAILING_PUBLISH_LEASE + 1)
    )
    published, token = services.mailing_pump(mailing_id=mailing.pk, token=token)
    assert published == 10


def test_a_slowly_draining_queue_is_not_published_again_under_itself(settings):
    """Tasks older than the publish lease while the mailing still sends are waiting behind a
    slow provider, not lost: publishing them again would only grow the queue."""
    settings.MAILING_WINDOW = 10
    members(15)
    mailing = started(MailingFactory())
    token = services._pump_lease_take(mailing.pk, now=timezone.now())
    published, token = services.mailing_pump(mailing_id=mailing.pk, token=token)
    assert published == 10
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.MAILING_PUBLISH_LEASE + 1)
    Delivery.objects.filter(mailing=mailing).exclude(enqueued_at=None).update(enqueued_at=long_ago)
    first = mailing.deliveries.exclude(enqueued_at=None).first()
    assert services.delivery_send(delivery_id=first.pk) == "sent"  # the queue moves, slowly

    published, token = services.mailing_pump(mailing_id=mailing.pk, token=token)

    assert published == 1  # the window's one free place, for a delivery never published
    assert mailing.deliveries.filter(status="queued", enqueued_at=long_ago).count() == 9


@pytest.mark.skipif(
    "redis" not in django_settings.CACHES["default"]["BACKEND"].lower(),
    reason="the shared rate counters live in Redis",
)
def test_the_send_rate_holds_across_callers_within_a_second(settings):
    import threading

    settings.MAILING_MAX_RATE = 0
    members(1)
    mailing = started(MailingFactory(send_rate=5))
    allowed = []
    barrier = threading.Barrier(20)

    def ask():
        barrier.wait()
        allowed.append(services._rate_allows(mailing))

    # Twenty askers at once, as twenty worker processes would: five get this second.
    start = timezone.now()
    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if timezone.now().second != start.second:
        pytest.skip("the askers straddled a second boundary; each second has its own five")
    assert allowed.count(True) == 5
