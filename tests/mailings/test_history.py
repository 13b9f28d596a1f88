"""History: each person's page shows the mail sent to them; each mailing shows how many were
sent, failed, bounced and unsubscribed."""

import re

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Delivery, Mailing, Suppression
from members.models import Contact
from tests.factories import AffiliationFactory, MailingFactory
from tests.mailings.test_convener_pages import members, started, table_rows, text_of

pytestmark = pytest.mark.django_db


def _inline(page: str) -> str:
    """The 'mail sent' inline of a contact's admin page."""
    match = re.search(
        r'<div class="js-inline-admin-formset inline-group" id="deliveries-group".*?'
        r"</fieldset>",
        page,
        re.S,
    )
    assert match, "no mail-sent inline on the page"
    return match.group(0)


def test_a_contacts_admin_page_lists_the_mail_sent_to_them(admin_client):
    person = AffiliationFactory(contact__email="ana@example.org")
    first = started(MailingFactory(name="December news", subject="News for {{ organization }}"))
    second = started(MailingFactory(name="January toolkit", subject="The toolkit"))
    Delivery.objects.filter(mailing=first).update(status="sent", sent_at=timezone.now())
    Delivery.objects.filter(mailing=second).update(status="failed", reason="550 unknown user")
    MailingFactory(name="Draft that never went")

    page = admin_client.get(f"/admin/members/contact/{person.contact_id}/change/").content.decode()

    inline = text_of(_inline(page))
    assert "Mail sent" in inline
    assert "January toolkit" in inline and "December news" in inline
    assert inline.index("January toolkit") < inline.index("December news")  # newest first
    assert "News for {{ organization }}" in inline
    assert "Failed" in inline and "550 unknown user" in inline
    assert "Draft that never went" not in inline
    # Read-only: nothing to add, change or delete.
    assert 'name="deliveries-0-status"' not in page
    assert "Add another" not in inline


def test_each_mailing_shows_sent_failed_bounced_and_unsubscribed(convener_client):
    people = members(5)
    mailing = started(MailingFactory())
    deliveries = list(mailing.deliveries.order_by("pk"))
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries[:3]]).update(
        status="sent", sent_at=timezone.now()
    )
    Delivery.objects.filter(pk=deliveries[3].pk).update(status="failed", reason="550")
    services.suppression_add(
        email=deliveries[0].email, reason=Suppression.Reason.BOUNCED, mailing=mailing
    )
    services.suppression_add(
        email=deliveries[1].email, reason=Suppression.Reason.UNSUBSCRIBED, mailing=mailing
    )
    services.suppression_add(email="other@example.org", reason=Suppression.Reason.UNSUBSCRIBED)

    page = convener_client.get(f"/dashboard/mailings/{mailing.pk}/").content.decode()

    text = text_of(page)
    assert "Sent: 3 Failed: 1 Skipped: 0 Remaining: 1" in text
    assert "Bounced 1 Unsubscribed 1 Marked as spam 0" in text
    assert Contact.objects.get(pk=people[1].contact_id).email_status == "unsubscribed"
    rows = table_rows(
        convener_client.get("/dashboard/mailings/").content.decode(), "mailings-table"
    )
    assert rows[1][4:] == ["3", "1"]


def test_a_recipient_erased_since_shows_as_erased(convener_client):
    members(1)
    mailing = started(MailingFactory())
    Delivery.objects.filter(mailing=mailing).update(contact=None)

    page = convener_client.get(f"/dashboard/mailings/{mailing.pk}/").content.decode()

    assert table_rows(page, "deliveries-table")[1][0] == "Erased"
    assert Mailing.objects.get(pk=mailing.pk).recipients == 1
