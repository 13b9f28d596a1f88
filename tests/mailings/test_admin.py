"""Mailings in the admin: read-only mailings and deliveries, the suppression list (conveners
add and take back only manual entries), reminder rules checked like the mailing pages, and the
conveners' permissions on all of them."""

import re

import pytest
from django.utils import timezone

from crm.errors import ApplicationError
from crm.roles import CONVENERS
from mailings import services
from mailings.models import Delivery, Mailing, ReminderRule, Suppression
from members.models import Contact
from tests.factories import CampaignFactory, MailingFactory
from tests.mailings.test_convener_pages import members, started, text_of

pytestmark = pytest.mark.django_db

# Session and user (2); the campaign filter's choices (1); the mailings counted, filtered and
# not (2); the page, each with its counts as subqueries (1).
MAILING_CHANGELIST_QUERIES = 6
# Session and user (2); the mailing filter's choices (1); the deliveries counted, filtered and
# not (2); the page with each one's mailing (1).
DELIVERY_CHANGELIST_QUERIES = 6


def result_rows(page: str) -> list[str]:
    table = re.search(r'<table id="result_list">(.*?)</table>', page, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    return [text_of(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


# --- Mailings and deliveries --------------------------------------------------------------------


def test_the_mailing_list_shows_counts_and_links_to_the_mailing_pages(admin_client):
    members(3)
    mailing = started(MailingFactory(name="January toolkit"))
    ids = list(mailing.deliveries.values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids[:2]).update(status="sent", sent_at=timezone.now())
    Delivery.objects.filter(pk=ids[2]).update(status="failed")

    page = admin_client.get("/admin/mailings/mailing/").content.decode()

    [row] = result_rows(page)
    assert row.startswith("January toolkit Sending")
    assert " 3 2 1 " in f" {row} "
    assert f'href="/dashboard/mailings/{mailing.pk}/">Open</a>' in page
    assert "/admin/mailings/mailing/add/" not in page


def test_a_mailing_is_read_only_in_the_admin(admin_client):
    mailing = MailingFactory(name="Draft", status=Mailing.Status.DRAFT)
    page = admin_client.get(f"/admin/mailings/mailing/{mailing.pk}/change/").content.decode()
    assert 'name="subject"' not in page
    assert f'href="/dashboard/mailings/{mailing.pk}/">Open</a>' in page

    admin_client.post(f"/admin/mailings/mailing/{mailing.pk}/change/", {"name": "Changed"})
    mailing.refresh_from_db()
    assert mailing.name == "Draft"


def test_only_a_draft_can_be_deleted(admin_client):
    draft = MailingFactory(status=Mailing.Status.DRAFT)
    sent = MailingFactory(status=Mailing.Status.SENT)

    assert admin_client.get(f"/admin/mailings/mailing/{sent.pk}/delete/").status_code == 403
    admin_client.post(f"/admin/mailings/mailing/{draft.pk}/delete/", {"post": "yes"})

    assert list(Mailing.objects.all()) == [sent]


def test_deliveries_are_searched_by_address_and_filtered(admin_client):
    members(3)
    mailing = started(MailingFactory())
    first = mailing.deliveries.order_by("pk").first()
    Delivery.objects.filter(pk=first.pk).update(status="failed", reason="550 unknown")

    by_address = admin_client.get("/admin/mailings/delivery/", {"q": first.email.upper()})
    by_status = admin_client.get("/admin/mailings/delivery/", {"status__exact": "queued"})

    assert [row.split()[0] for row in result_rows(by_address.content.decode())] == [first.email]
    assert len(result_rows(by_status.content.decode())) == 2
    page = admin_client.get(f"/admin/mailings/delivery/{first.pk}/change/").content.decode()
    assert "550 unknown" in page
    assert 'name="status"' not in page  # read-only
    assert admin_client.get("/admin/mailings/delivery/add/").status_code == 403


@pytest.mark.parametrize("count", [1, 30])
def test_the_admin_lists_make_the_same_queries_however_many_rows(
    admin_client, django_assert_num_queries, count
):
    members(count)
    campaign = CampaignFactory()
    for _ in range(3):
        started(MailingFactory(campaign=campaign))

    with django_assert_num_queries(MAILING_CHANGELIST_QUERIES):
        admin_client.get("/admin/mailings/mailing/")
    with django_assert_num_queries(DELIVERY_CHANGELIST_QUERIES):
        response = admin_client.get("/admin/mailings/delivery/")

    assert len(result_rows(response.content.decode())) == min(3 * count, 100)


# --- Suppressions -------------------------------------------------------------------------------


def test_an_address_added_in_the_admin_is_manual_and_kept_from_mailings(admin_client):
    [member] = members(1)
    email = member.contact.email

    admin_client.post(
        "/admin/mailings/suppression/add/", {"email": email.upper(), "detail": "Asked by phone"}
    )

    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason, suppression.detail) == (
        email,
        Suppression.Reason.MANUAL,
        "Asked by phone",
    )
    assert Contact.objects.get(pk=member.contact_id).email_status == "subscribed"
    # Nobody is left in the audience: a mailing to it cannot even be scheduled.
    with pytest.raises(ApplicationError, match="Nobody is in this mailing's audience"):
        services.mailing_schedule(mailing=MailingFactory())


def test_an_address_already_listed_keeps_its_first_reason(admin_client):
    Suppression.objects.create(email="gone@example.org", reason=Suppression.Reason.UNSUBSCRIBED)

    response = admin_client.post(
        "/admin/mailings/suppression/add/", {"email": "Gone@example.org", "detail": ""}
    )

    assert Suppression.objects.get().reason == Suppression.Reason.UNSUBSCRIBED
    assert response.context["adminform"].form.errors["email"] == [
        "gone@example.org is already on the list (unsubscribed)."
    ]


def test_only_manual_suppressions_can_be_taken_back(admin_client):
    manual = Suppression.objects.create(email="a@example.org", reason=Suppression.Reason.MANUAL)
    unsubscribed = Suppression.objects.create(
        email="b@example.org", reason=Suppression.Reason.UNSUBSCRIBED
    )

    denied = admin_client.get(f"/admin/mailings/suppression/{unsubscribed.pk}/delete/")
    admin_client.post(f"/admin/mailings/suppression/{manual.pk}/delete/", {"post": "yes"})

    assert denied.status_code == 403
    assert list(Suppression.objects.all()) == [unsubscribed]
    page = admin_client.get("/admin/mailings/suppression/").content.decode()
    assert 'value="delete_selected"' not in page


# --- Reminder rules -----------------------------------------------------------------------------


def test_a_reminder_rule_in_the_admin_is_checked_like_on_the_mailing_pages(admin_client):
    campaign = CampaignFactory()
    data = {
        "name": "One week left",
        "active": "on",
        "campaign": campaign.pk,
        "days_before": "7",
        "anchor": "closes",
        "subject": "Hello {{ first_name }}",
        "body": "Please sign.",
        "signed": "not_signed",
        "primary_contacts_only": "on",
        "language": "",
    }

    refused = admin_client.post("/admin/mailings/reminderrule/add/", data)
    data["subject"] = "Hello {{ given_name }}"
    admin_client.post("/admin/mailings/reminderrule/add/", data)

    assert "{{ first_name }} is not a merge field." in refused.content.decode()
    rule = ReminderRule.objects.get()
    assert (rule.subject, rule.days_before, rule.signed) == (
        "Hello {{ given_name }}",
        7,
        "not_signed",
    )


# --- Conveners ----------------------------------------------------------------------------------


def test_conveners_may_use_the_mailing_admin(convener_client, convener):
    """Needs crm.roles.CONVENER_APPS to list "mailings" (the Conveners group's permissions)."""
    members(1)
    mailing = started(MailingFactory(name="January toolkit"))
    assert convener.groups.filter(name=CONVENERS).exists()

    for url in [
        "/admin/mailings/mailing/",
        "/admin/mailings/delivery/",
        "/admin/mailings/suppression/",
        "/admin/mailings/suppression/add/",
        "/admin/mailings/reminderrule/",
        "/admin/mailings/reminderrule/add/",
    ]:
        assert convener_client.get(url).status_code == 200, url
    contact = mailing.deliveries.get().contact
    page = convener_client.get(f"/admin/members/contact/{contact.pk}/change/").content.decode()
    assert "January toolkit" in page
