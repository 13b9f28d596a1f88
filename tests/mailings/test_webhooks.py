"""The provider's bounce, complaint and unsubscribe webhooks, posted to anymail's real Postmark
tracking URL with the basic auth anymail checks."""

import base64
import copy
import json

import pytest
from anymail.exceptions import AnymailInsecureWebhookWarning
from django.core import mail
from django.test import Client

from mailings import services
from mailings.models import Delivery, Suppression
from mailings.selectors import audience_rows
from members.models import Contact
from tests.conftest import run_manage
from tests.factories import AffiliationFactory, ContactFactory, MailingFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

URL = "/anymail/postmark/tracking/"
SECRET = "postmark-hooks:6cQ2v9-webhook-pass"
POSTMARK_MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"

# A Postmark bounce webhook as Postmark posts it (fields from its webhook documentation).
HARD_BOUNCE = {
    "RecordType": "Bounce",
    "MessageStream": "broadcast",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Tag": "",
    "MessageID": POSTMARK_MESSAGE_ID,
    "Metadata": {},
    "ServerID": 23,
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox "
    "not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "Email": "priya@example.org",
    "From": "news@example.org",
    "BouncedAt": "2026-01-14T16:09:19Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "News for Riverside Shelter",
}
SPAM_COMPLAINT = {
    **HARD_BOUNCE,
    "RecordType": "SpamComplaint",
    "Type": "SpamComplaint",
    "TypeCode": 512,
    "Name": "Spam complaint",
    "Description": "The subscriber explicitly marked this message as spam.",
    "Details": "",
}
SUBSCRIPTION_CHANGE = {
    "RecordType": "SubscriptionChange",
    "MessageID": POSTMARK_MESSAGE_ID,
    "ServerID": 23,
    "MessageStream": "broadcast",
    "ChangedAt": "2026-01-14T16:15:02Z",
    "Recipient": "priya@example.org",
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Tag": "",
    "Metadata": {},
}


def variant(base: dict, **changes) -> dict:
    return {**copy.deepcopy(base), **changes}


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}


@pytest.fixture
def delivery():
    """Priya's delivery of a mailing, sent; stamped with Postmark's id for it, as anymail's
    Postmark backend stamps it (the locmem backend of the tests stamps the Message-ID header)."""
    contact = ContactFactory(given_name="Priya", email="priya@example.org")
    AffiliationFactory(contact=contact, organization=OrganizationFactory(name="Riverside Shelter"))
    mailing = MailingFactory(name="January toolkit")
    services.mailing_schedule(mailing=mailing)
    services.mailing_audience_freeze(mailing=mailing)
    delivery = mailing.deliveries.get()
    assert services.delivery_send(delivery_id=delivery.pk) == "sent"
    Delivery.objects.filter(pk=delivery.pk).update(message_id=POSTMARK_MESSAGE_ID)
    delivery.refresh_from_db()
    return delivery


def auth(credentials: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def post(payload, *, credentials: str | None = SECRET, raw: bytes | None = None):
    """Posts like Postmark: JSON, basic auth in the URL (sent as the Authorization header)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = auth(credentials) if credentials is not None else {}
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    return client.post(URL, data=body, content_type="application/json", **headers)


def email_status(address="priya@example.org") -> str:
    return Contact.objects.get(email=address).email_status


def nothing_changed(delivery) -> bool:
    delivery.refresh_from_db()
    return (
        not Suppression.objects.exists()
        and email_status() == Contact.EmailStatus.SUBSCRIBED
        and (delivery.status, delivery.reason) == (Delivery.Status.SENT, "")
    )


# --- Events that suppress -----------------------------------------------------------------------


def test_a_hard_bounce_suppresses_the_address_and_fails_the_delivery(delivery):
    response = post(HARD_BOUNCE)

    assert response.status_code == 200
    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason, suppression.mailing) == (
        "priya@example.org",
        Suppression.Reason.BOUNCED,
        delivery.mailing,
    )
    assert suppression.detail == (
        "Postmark: The server was unable to deliver your message (ex: unknown user, mailbox "
        "not found)."
    )
    assert email_status() == Contact.EmailStatus.BOUNCING
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.reason.startswith("Bounced: Postmark: The server was unable to deliver")
    assert (delivery.message_id, delivery.sent_at is not None) == (POSTMARK_MESSAGE_ID, True)


def test_a_complaint_suppresses_the_address_and_leaves_the_delivery_sent(delivery):
    assert post(SPAM_COMPLAINT).status_code == 200

    suppression = Suppression.objects.get()
    assert (suppression.reason, suppression.mailing) == (
        Suppression.Reason.COMPLAINED,
        delivery.mailing,
    )
    assert suppression.detail == "Postmark: The subscriber explicitly marked this message as spam."
    assert email_status() == Contact.EmailStatus.COMPLAINED
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.reason.startswith("Marked as spam: Postmark:")


def test_an_unsubscribe_at_the_provider_suppresses_the_address(delivery):
    assert post(SUBSCRIPTION_CHANGE).status_code == 200

    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason) == (
        "priya@example.org",
        Suppression.Reason.UNSUBSCRIBED,
    )
    assert email_status() == Contact.EmailStatus.UNSUBSCRIBED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.reason[:14]) == (Delivery.Status.SENT, "Unsubscribed: ")


def test_a_bounce_reported_twice_suppresses_once(delivery):
    assert post(HARD_BOUNCE).status_code == 200
    assert post(variant(HARD_BOUNCE, Email="Priya@Example.org")).status_code == 200

    assert list(Suppression.objects.values_list("email", "reason")) == [
        ("priya@example.org", Suppression.Reason.BOUNCED)
    ]


def test_the_bounced_address_is_left_out_of_the_next_mailing(delivery):
    other = AffiliationFactory()
    assert post(HARD_BOUNCE).status_code == 200

    following = MailingFactory()
    assert [row["contact_id"] for row in audience_rows(following)] == [other.contact_id]


def test_a_bounce_for_a_message_sent_through_an_smtp_relay_finds_its_delivery():
    """An SMTP relay reports the Message-ID header we set, without its angle brackets."""
    AffiliationFactory(contact=ContactFactory(email="priya@example.org"))
    mailing = MailingFactory()
    services.mailing_schedule(mailing=mailing)
    services.mailing_audience_freeze(mailing=mailing)
    delivery = mailing.deliveries.get()
    services.delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.message_id == mail.outbox[0].extra_headers["Message-ID"]

    assert post(variant(HARD_BOUNCE, MessageID=delivery.message_id.strip("<>"))).status_code == 200

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert Suppression.objects.get().mailing == mailing


def test_a_bounce_of_an_unknown_message_still_suppresses_the_address(delivery):
    payload = variant(HARD_BOUNCE, MessageID="00000000-0000-0000-0000-000000000000")

    assert post(payload).status_code == 200

    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.mailing) == ("priya@example.org", None)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT


# --- Events that change nothing, or only the delivery -------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        variant(HARD_BOUNCE, Type="SoftBounce", TypeCode=4096, Name="Soft bounce"),
        variant(HARD_BOUNCE, Type="Transient", TypeCode=2, Name="Message delayed"),
        variant(HARD_BOUNCE, Type="AutoResponder", TypeCode=32, Name="Auto responder"),
        {
            "RecordType": "Delivery",
            "MessageID": POSTMARK_MESSAGE_ID,
            "Recipient": "priya@example.org",
            "DeliveredAt": "2026-01-14T16:09:19Z",
            "Details": "Test delivery webhook details",
            "ServerID": 23,
            "MessageStream": "broadcast",
            "Tag": "",
            "Metadata": {},
        },
        variant(SUBSCRIPTION_CHANGE, SuppressSending=False, SuppressionReason=None),
        {"RecordType": "Open", "MessageID": POSTMARK_MESSAGE_ID, "Recipient": "priya@example.org"},
    ],
    ids=["soft-bounce", "transient", "auto-responder", "delivered", "resubscribed", "opened"],
)
def test_events_that_are_not_a_hard_failure_change_nothing(delivery, payload):
    assert post(payload).status_code == 200

    assert nothing_changed(delivery)


def test_a_provider_refusing_an_invalid_address_fails_the_delivery_and_suppresses(delivery):
    payload = variant(HARD_BOUNCE, Type="BadEmailAddress", TypeCode=100000, Name="Invalid email")

    assert post(payload).status_code == 200

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.reason.startswith("Refused by the provider: Postmark:")
    assert Suppression.objects.get().reason == Suppression.Reason.BOUNCED


def test_a_provider_blocking_by_its_own_policy_fails_the_delivery_only(delivery):
    payload = variant(HARD_BOUNCE, Type="Blocked", TypeCode=100006, Name="Blocked")

    assert post(payload).status_code == 200

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert not Suppression.objects.exists()
    assert email_status() == Contact.EmailStatus.SUBSCRIBED


@pytest.mark.parametrize(
    "recipient", ["", "not an address", None], ids=["empty", "not-an-address", "missing"]
)
def test_a_bounce_without_a_usable_recipient_uses_the_delivery_or_changes_nothing(
    delivery, recipient
):
    payload = variant(HARD_BOUNCE, Email=recipient)
    assert post(variant(payload, MessageID="unknown")).status_code == 200
    assert not Suppression.objects.exists()

    assert post(payload).status_code == 200  # the delivery knows the address
    assert Suppression.objects.get().email == "priya@example.org"


# --- Refused calls ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [None, "postmark-hooks:wrong", "someone:" + SECRET.split(":")[1], ""],
    ids=["no-auth", "wrong-password", "wrong-user", "empty"],
)
def test_a_webhook_without_the_right_auth_is_refused_and_changes_nothing(delivery, credentials):
    response = post(HARD_BOUNCE, credentials=credentials)

    assert response.status_code == 400
    assert nothing_changed(delivery)


def test_webhooks_are_refused_while_no_secret_is_set(settings, delivery):
    settings.ANYMAIL = {key: v for key, v in settings.ANYMAIL.items() if key != "WEBHOOK_SECRET"}

    with pytest.warns(AnymailInsecureWebhookWarning):
        response = post(HARD_BOUNCE, credentials=None)

    assert response.status_code == 400
    assert nothing_changed(delivery)


def test_a_rotated_secret_accepts_both_while_both_are_set(settings, delivery):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ["old:one", SECRET]}

    assert post(HARD_BOUNCE, credentials="old:one").status_code == 200
    assert Suppression.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'"Bounce"',
        b"null",
        b"42",
        json.dumps(variant(HARD_BOUNCE, BouncedAt="2026-13-45T99:00:00Z")).encode(),
        json.dumps({"FromFull": {"Email": "x@example.org"}, "Subject": "hi"}).encode(),
    ],
    ids=[
        "not-json",
        "empty",
        "not-utf8",
        "list",
        "string",
        "null",
        "number",
        "impossible-date",
        "inbound-to-tracking",
    ],
)
def test_an_unreadable_body_is_a_400_and_changes_nothing(delivery, raw):
    response = post(None, raw=raw)

    assert response.status_code == 400
    assert nothing_changed(delivery)


def test_a_get_is_not_allowed(delivery):
    assert Client().get(URL, **auth()).status_code == 405


# --- Configuration ------------------------------------------------------------------------------


def test_the_webhook_secret_comes_from_the_environment_whatever_the_backend():
    script = "from django.conf import settings as s; print(s.ANYMAIL['WEBHOOK_SECRET'])"
    result = run_manage("shell", "-c", script, env_overrides={"ANYMAIL_WEBHOOK_SECRET": "a:b, c:d"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['a:b', 'c:d']"


def test_a_webhook_secret_without_a_password_stops_start_up():
    result = run_manage("check", env_overrides={"ANYMAIL_WEBHOOK_SECRET": "just-a-token"})

    assert result.returncode != 0
    assert result.stderr.strip() == (
        "Configuration error: ANYMAIL_WEBHOOK_SECRET must be user:password (comma-separated)."
    )
