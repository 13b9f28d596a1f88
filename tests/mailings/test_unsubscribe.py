"""The unsubscribe link and headers of every mailing: RFC 8058 one-click, the confirm page, the
footer, and links that are forged, mangled or from a test send."""

import re
import threading
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.db import connection
from django.test import Client

from mailings import services
from mailings.models import Delivery, Suppression
from members.models import Contact, Interaction
from tests.factories import AffiliationFactory, ContactFactory, MailingFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

COALITION = "Metro Coalition to End Human Trafficking"


@pytest.fixture(autouse=True)
def _coalition(settings):
    settings.COALITION_NAME = COALITION
    settings.SITE_URL = "https://crm.example.org"


@pytest.fixture
def delivery():
    """A delivery of a started mailing to Priya, primary contact of Riverside Shelter."""
    contact = ContactFactory(given_name="Priya", family_name="Raman", email="priya@example.org")
    organization = OrganizationFactory(name="Riverside Shelter")
    AffiliationFactory(contact=contact, organization=organization)
    mailing = MailingFactory(name="January toolkit")
    services.mailing_schedule(mailing=mailing)
    services.mailing_audience_freeze(mailing=mailing)
    return Delivery.objects.select_related("mailing", "contact").get(mailing=mailing)


def path_of(url: str) -> str:
    return urlsplit(url).path


def unsubscribe_path(delivery) -> str:
    return path_of(services.unsubscribe_url(delivery))


def one_click(path: str):
    """A mail client's one-click unsubscribe: no cookie, no CSRF token, the RFC 8058 body."""
    return Client(enforce_csrf_checks=True).post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def timeline(contact) -> list[str]:
    return list(Interaction.objects.filter(contact=contact).values_list("text", flat=True))


# --- The confirm page ---------------------------------------------------------------------------


def test_a_get_shows_the_confirm_page_with_a_masked_address_and_changes_nothing(client, delivery):
    response = client.get(unsubscribe_path(delivery))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Unsubscribe p•••@example.org from {COALITION} mailings?" in page
    assert re.search(r'<form method="post">\s*<button type="submit">Unsubscribe</button>', page)
    # No personal data beyond the masked address: not the address, name or organisation.
    for private in ("priya@example.org", "Priya", "Raman", "Riverside Shelter", "January toolkit"):
        assert private not in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    assert not Suppression.objects.exists()
    delivery.contact.refresh_from_db()
    assert delivery.contact.email_status == Contact.EmailStatus.SUBSCRIBED
    assert timeline(delivery.contact) == []


def test_the_confirm_button_unsubscribes_without_a_csrf_token(delivery):
    browser = Client(enforce_csrf_checks=True)
    path = unsubscribe_path(delivery)
    assert browser.get(path).status_code == 200

    response = browser.post(path)

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert f"p•••@example.org will receive no more {COALITION} mailings." in (
        response.content.decode()
    )
    assert Suppression.objects.get().reason == Suppression.Reason.UNSUBSCRIBED


# --- One-click ----------------------------------------------------------------------------------


def test_a_one_click_post_unsubscribes_and_notes_it_on_the_timeline(delivery):
    response = one_click(unsubscribe_path(delivery))

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason, suppression.mailing) == (
        "priya@example.org",
        Suppression.Reason.UNSUBSCRIBED,
        delivery.mailing,
    )
    delivery.contact.refresh_from_db()
    assert delivery.contact.email_status == Contact.EmailStatus.UNSUBSCRIBED
    entry = Interaction.objects.get(contact=delivery.contact)
    assert (entry.kind, entry.subject, entry.text) == (
        Interaction.Kind.EMAIL,
        "Unsubscribed from mailings",
        "Unsubscribed from mailings (via January toolkit).",
    )


def test_unsubscribing_twice_suppresses_once_and_notes_once(delivery):
    path = unsubscribe_path(delivery)
    assert one_click(path).status_code == 200
    assert one_click(path).status_code == 200
    assert Client().post(path).status_code == 200

    assert Suppression.objects.count() == 1
    assert timeline(delivery.contact) == ["Unsubscribed from mailings (via January toolkit)."]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_one_click_posts_at_once_note_it_once(delivery):
    """A mail client's one-click and the person's own button at the same moment."""
    path = unsubscribe_path(delivery)
    barrier = threading.Barrier(2)
    statuses = []

    def click():
        try:
            barrier.wait()
            statuses.append(one_click(path).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200, 200]
    assert Suppression.objects.count() == 1
    assert timeline(delivery.contact) == ["Unsubscribed from mailings (via January toolkit)."]


def test_an_address_already_suppressed_keeps_its_reason_and_gets_no_timeline_entry(delivery):
    services.suppression_add(email="PRIYA@example.org", reason=Suppression.Reason.BOUNCED)

    assert one_click(unsubscribe_path(delivery)).status_code == 200

    assert list(Suppression.objects.values_list("email", "reason")) == [
        ("priya@example.org", Suppression.Reason.BOUNCED)
    ]
    assert timeline(delivery.contact) == []


def test_a_link_whose_contact_was_erased_still_suppresses_the_address(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(contact=None)
    delivery.contact.delete()

    assert one_click(unsubscribe_path(delivery)).status_code == 200

    assert Suppression.objects.get().email == "priya@example.org"
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused(client, delivery, method):
    response = getattr(client, method)(unsubscribe_path(delivery))

    assert response.status_code == 405
    assert not Suppression.objects.exists()


# --- Links that are not valid -------------------------------------------------------------------


def _token_for(data, salt=services.UNSUBSCRIBE_SALT):
    return signing.dumps(data, salt=salt)


BAD_TOKENS = {
    "garbage": lambda good: "not-a-token",
    "cut-short": lambda good: good[:-4],
    "one-character-changed": lambda good: good[:-1] + ("A" if good[-1] != "A" else "B"),
    "other-salt": lambda good: _token_for({"d": 1}, salt="campaigns.confirm"),
    "no-such-delivery": lambda good: _token_for({"d": 987654321}),
    "wrong-shape": lambda good: _token_for(["d", 1]),
    "id-as-text": lambda good: _token_for({"d": "1"}),
    "too-long": lambda good: good + "x" * 400,
    "nul": lambda good: "%00",
    "non-ascii": lambda good: "d%C3%A9j%C3%A0-vu",
}


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_forged_or_mangled_link_is_refused_and_changes_nothing(delivery, make, method):
    token = make(services.unsubscribe_token(delivery))
    path = f"/mail/unsubscribe/{token}/"

    if method == "post":
        response = Client(enforce_csrf_checks=True).post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = Client().get(path)

    assert response.status_code == 404
    page = response.content.decode()
    assert "This unsubscribe link is not valid" in page
    assert "p•••" not in page
    assert not Suppression.objects.exists()
    delivery.contact.refresh_from_db()
    assert delivery.contact.email_status == Contact.EmailStatus.SUBSCRIBED


def test_the_link_of_a_deleted_mailing_is_not_valid(delivery):
    path = unsubscribe_path(delivery)
    delivery.mailing.delete()

    response = one_click(path)

    assert response.status_code == 404
    assert "This unsubscribe link is not valid" in response.content.decode()


# --- Test sends ---------------------------------------------------------------------------------


def test_a_test_send_links_to_a_page_that_explains_and_changes_nothing(delivery):
    services.mailing_test_send(mailing=delivery.mailing, to="convener@example.org")
    (message,) = mail.outbox
    header = message.extra_headers["List-Unsubscribe"]
    assert header == "<https://crm.example.org/mail/unsubscribe/test/>"
    path = path_of(header.strip("<>"))

    for response in (Client().get(path), one_click(path)):
        assert response.status_code == 200
        page = response.content.decode()
        assert "This is a test message’s link" in page
        assert "no address was unsubscribed" in page
        assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert not Suppression.objects.exists()
    assert not Interaction.objects.exists()


# --- The message's headers and footer -----------------------------------------------------------


def test_every_message_carries_one_click_headers_and_the_footer(settings, delivery):
    settings.COALITION_POSTAL_ADDRESS = "PO Box 4120, Atlanta, GA 30302"

    message = services.delivery_message(delivery)

    token = services.unsubscribe_token(delivery)
    link = f"https://crm.example.org/mail/unsubscribe/{token}/"
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    mime = message.message()
    assert mime["List-Unsubscribe"] == f"<{link}>"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    reason = f"You receive this as a contact of Riverside Shelter, a member of {COALITION}."
    address = f"{COALITION}, PO Box 4120, Atlanta, GA 30302"
    html = message.alternatives[0].content
    for part in (message.body, html):
        assert reason in part
        assert address in part
    assert f"To stop receiving these e-mails, visit: {link}" in message.body
    assert f'<a href="{link}"' in html


def test_the_header_link_unsubscribes_on_a_one_click_post_and_not_on_a_get(delivery):
    assert services.delivery_send(delivery_id=delivery.pk) == "sent"
    (sent,) = mail.outbox
    header = sent.message()["List-Unsubscribe"]
    assert header.startswith("<https://crm.example.org/mail/unsubscribe/")
    path = path_of(header.strip("<>"))

    assert Client().get(path).status_code == 200
    assert not Suppression.objects.exists()

    assert one_click(path).status_code == 200
    delivery.contact.refresh_from_db()
    assert delivery.contact.email_status == Contact.EmailStatus.UNSUBSCRIBED
    assert Suppression.objects.get().mailing == delivery.mailing
