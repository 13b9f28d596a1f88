"""The suppression list: checked when an audience is frozen and again before every send."""

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client

from mailings import services
from mailings.models import Delivery, Suppression
from members.models import Contact
from tests.factories import AffiliationFactory, ContactFactory, MailingFactory

pytestmark = pytest.mark.django_db


def primary_contacts(*emails):
    """One active member organisation per address, with that person as its primary contact."""
    return [AffiliationFactory(contact=ContactFactory(email=email)).contact for email in emails]


def frozen(mailing):
    services.mailing_schedule(mailing=mailing)
    services.mailing_audience_freeze(mailing=mailing)
    mailing.refresh_from_db()
    return mailing


def recipients(mailing) -> list[str]:
    return sorted(mailing.deliveries.values_list("email", flat=True))


# --- suppression_add ----------------------------------------------------------------------------


def test_suppression_add_is_idempotent_case_insensitive_and_keeps_the_first_reason():
    (contact,) = primary_contacts("sam.okafor@example.org")

    first = services.suppression_add(
        email="  Sam.Okafor@Example.ORG ", reason=Suppression.Reason.BOUNCED, detail="550"
    )
    again = services.suppression_add(
        email="sam.okafor@example.org", reason=Suppression.Reason.UNSUBSCRIBED
    )

    assert again.pk == first.pk
    assert list(Suppression.objects.values_list("email", "reason", "detail")) == [
        ("sam.okafor@example.org", Suppression.Reason.BOUNCED, "550")
    ]
    contact.refresh_from_db()
    assert contact.email_status == Contact.EmailStatus.UNSUBSCRIBED  # the latest news of them


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (Suppression.Reason.UNSUBSCRIBED, Contact.EmailStatus.UNSUBSCRIBED),
        (Suppression.Reason.BOUNCED, Contact.EmailStatus.BOUNCING),
        (Suppression.Reason.COMPLAINED, Contact.EmailStatus.COMPLAINED),
        (Suppression.Reason.MANUAL, Contact.EmailStatus.SUBSCRIBED),
    ],
    ids=["unsubscribed", "bounced", "complained", "manual"],
)
def test_suppression_add_sets_the_contacts_email_status(reason, status):
    (contact,) = primary_contacts("ines@example.org")

    services.suppression_add(email="INES@example.org", reason=reason)

    contact.refresh_from_db()
    assert contact.email_status == status


def test_the_database_refuses_the_same_address_twice_in_another_case():
    Suppression.objects.create(email="ines@example.org", reason=Suppression.Reason.MANUAL)

    with pytest.raises(IntegrityError), transaction.atomic():
        Suppression.objects.create(email="Ines@Example.org", reason=Suppression.Reason.BOUNCED)


def test_an_address_of_nobody_in_the_directory_can_be_suppressed():
    services.suppression_add(email="stranger@example.net", reason=Suppression.Reason.COMPLAINED)

    assert Suppression.objects.get().email == "stranger@example.net"
    assert not Contact.objects.exists()


# --- At freeze ----------------------------------------------------------------------------------


def test_suppressed_and_unsubscribed_addresses_are_not_frozen_into_a_mailing():
    primary_contacts("kept@example.org", "suppressed@example.org", "bouncing@example.org")
    (unsubscribed,) = primary_contacts("left@example.org")
    Suppression.objects.create(email="SUPPRESSED@example.org", reason=Suppression.Reason.MANUAL)
    Contact.objects.filter(email="bouncing@example.org").update(email_status="bouncing")
    Contact.objects.filter(pk=unsubscribed.pk).update(email_status="unsubscribed")

    mailing = frozen(MailingFactory())

    assert recipients(mailing) == ["kept@example.org"]
    assert mailing.recipients == 1


def test_someone_who_unsubscribed_by_the_link_is_not_in_the_next_mailing():
    primary_contacts("stays@example.org", "leaves@example.org")
    first = frozen(MailingFactory(name="January toolkit"))
    leaving = first.deliveries.get(email="leaves@example.org")
    path = services.unsubscribe_url(leaving).split("://", 1)[1].split("/", 1)[1]

    response = Client(enforce_csrf_checks=True).post(
        f"/{path}", data="List-Unsubscribe=One-Click", content_type="text/plain"
    )
    assert response.status_code == 200

    following = frozen(MailingFactory(name="February reminder"))
    assert recipients(following) == ["stays@example.org"]


# --- At send ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suppress", "reason"),
    [
        (
            lambda email: Suppression.objects.create(email=email.upper(), reason="manual"),
            "The address is on the suppression list",
        ),
        (
            lambda email: services.suppression_add(email=email, reason="complained"),
            "The address is on the suppression list",
        ),
        (
            lambda email: Contact.objects.filter(email=email).update(email_status="unsubscribed"),
            "The contact is unsubscribed",
        ),
    ],
    ids=["on-the-list", "complained", "contact-unsubscribed"],
)
def test_an_address_suppressed_after_the_freeze_is_skipped_with_the_reason(suppress, reason):
    primary_contacts("ines@example.org", "sam@example.org")
    mailing = frozen(MailingFactory())
    suppress("ines@example.org")
    skipped = mailing.deliveries.get(email="ines@example.org")
    sent = mailing.deliveries.get(email="sam@example.org")

    assert services.delivery_send(delivery_id=skipped.pk) == "skipped"
    assert services.delivery_send(delivery_id=sent.pk) == "sent"

    skipped.refresh_from_db()
    assert (skipped.status, skipped.reason, skipped.sent_at) == (
        Delivery.Status.SKIPPED,
        reason,
        None,
    )
    assert [message.to for message in mail.outbox] == [["sam@example.org"]]


def test_a_skipped_delivery_stays_skipped_when_its_task_runs_again():
    primary_contacts("ines@example.org")
    delivery = frozen(MailingFactory()).deliveries.get()
    services.suppression_add(email="ines@example.org", reason="unsubscribed")

    assert services.delivery_send(delivery_id=delivery.pk) == "skipped"
    assert services.delivery_send(delivery_id=delivery.pk) == "busy"
    assert mail.outbox == []
