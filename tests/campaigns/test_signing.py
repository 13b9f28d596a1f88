"""Signing a campaign: one signature per person, double opt-in, organisation matching."""

import datetime
import re
import threading
import time

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, Signature
from campaigns.services import (
    campaign_signature_counts_refresh,
    signature_confirm,
    signature_confirmation_token,
    signature_confirmation_url,
    signature_record,
)
from celerytasks.campaigns import send_signature_confirmation
from crm.errors import ApplicationError
from members.models import Contact
from members.normalize import organization_match_key
from tests.campaigns.helpers import confirmations_queued, sign_processed
from tests.factories import CampaignFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _sign(campaign, **fields):
    """Signs and runs the processing the task runs moments later."""
    data = {"campaign": campaign, "name": "Ann Lee", "email": "Ann.Lee@example.org", **fields}
    return sign_processed(**data)


def _sign_and_send(campaign, django_capture_on_commit_callbacks, **fields):
    """Signs, then runs what would be queued after commit as the worker would: the task."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signature, created = _sign(campaign, **fields)
    queued = confirmations_queued(callbacks)
    for _ in range(queued):
        send_signature_confirmation(signature.pk)
    return signature, created, queued


def test_signing_creates_a_contact_and_an_unconfirmed_signature_with_its_source():
    campaign = CampaignFactory()

    signature, created = _sign(
        campaign,
        affiliation="  Decatur   Tenants Union ",
        phone="(404) 555-0123",
        message="<b>Facts</b> matter",
        show_publicly=True,
        source=Signature.Source.EMBED,
        referral_code="newsletter",
        ip_address="203.0.113.9",
    )

    signature.refresh_from_db()
    assert created is True
    assert signature.confirmed_at is None
    assert signature.contact == Contact.objects.get(email="ann.lee@example.org")
    assert (signature.contact.given_name, signature.contact.family_name) == ("Ann", "Lee")
    assert signature.contact.phone == "+14045550123"
    assert (signature.email, signature.canonical_email) == (
        "ann.lee@example.org",
        "ann.lee@example.org",
    )
    assert signature.affiliation == "Decatur Tenants Union"
    assert signature.message == "<b>Facts</b> matter"  # escaping is the template's job
    assert (signature.source, signature.referral_code, signature.ip_address) == (
        "embed",
        "newsletter",
        "203.0.113.9",
    )
    assert signature.confirmation_sends == 1


def test_without_double_opt_in_a_signature_is_confirmed_and_no_email_is_queued(
    django_capture_on_commit_callbacks, mailoutbox
):
    campaign = CampaignFactory(double_opt_in=False)

    signature, created, queued = _sign_and_send(campaign, django_capture_on_commit_callbacks)

    assert created and signature.confirmed_at is not None
    assert queued == 0 and mailoutbox == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": Campaign.Status.CLOSED}, "This campaign is closed and no longer takes"),
        ({"status": Campaign.Status.DRAFT}, "This campaign is not open for signatures yet."),
        (
            {"closes_at": timezone.now() - datetime.timedelta(minutes=1)},
            "This campaign is closed and no longer takes",
        ),
        (
            {"opens_at": timezone.make_aware(datetime.datetime(2099, 3, 4, 12))},
            "This campaign opens for signatures on March 4, 2099.",
        ),
    ],
)
def test_a_campaign_not_open_refuses_signatures_with_a_clear_message(fields, message):
    campaign = CampaignFactory(**fields)

    with pytest.raises(ApplicationError) as error:
        _sign(campaign)

    assert error.value.message.startswith(message)
    assert not Signature.objects.exists()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "   "}, "name", "Please enter your name."),
        ({"email": "not an address"}, None, None),
        ({"phone": "12"}, "phone", "Please enter a valid phone number."),
        ({"message": "x" * 2001}, "message", "Please keep your message under 2,000 characters."),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_stored(fields, field, message):
    with pytest.raises(ValidationError) as error:
        _sign(CampaignFactory(), **fields)

    if field:
        assert error.value.message_dict[field] == [message]
    assert not Signature.objects.exists()


def test_signing_again_with_another_spelling_updates_the_one_signature():
    campaign = CampaignFactory()
    first, created = _sign(
        campaign, email="ann.lee@gmail.com", message="First", affiliation="Emory"
    )

    again, created_again = _sign(
        campaign,
        email=" Ann.Lee+facts@GoogleMail.com ",
        message="Second thoughts",
        affiliation="Emory University",
        show_publicly=True,
    )

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Signature.objects.count() == 1 and Contact.objects.count() == 1
    stored = Signature.objects.get()
    assert (stored.message, stored.affiliation, stored.show_publicly) == (
        "Second thoughts",
        "Emory University",
        True,
    )
    assert stored.email == "ann.lee@gmail.com"  # the address as first typed


def test_an_existing_contact_is_reused_and_keeps_what_they_entered():
    contact = ContactFactory(email="ann.lee@example.org", given_name="Annie", family_name="L")

    signature, _ = _sign(CampaignFactory())

    assert signature.contact == contact
    contact.refresh_from_db()
    assert (contact.given_name, contact.family_name) == ("Annie", "L")
    assert signature.name == "Ann Lee"


def test_the_same_person_can_sign_two_campaigns():
    _sign(CampaignFactory())
    _sign(CampaignFactory())

    assert Signature.objects.count() == 2 and Contact.objects.count() == 1


def test_affiliation_is_matched_to_a_member_organisation_or_suggested():
    food_bank = OrganizationFactory(
        name="Atlanta Community Food Bank",
        match_key=organization_match_key("Atlanta Community Food Bank"),
    )
    campaign = CampaignFactory()

    certain, _ = _sign(campaign, affiliation="The Atlanta Community Food Bank, Inc.")
    uncertain, _ = _sign(campaign, email="bo@example.org", affiliation="Atlanta Food Bank")

    assert (certain.organization, certain.organization_suggestion) == (food_bank, None)
    assert certain.organization_match_score == 100.0
    assert (uncertain.organization, uncertain.organization_suggestion) == (None, food_bank)


def test_confirmation_is_sent_again_on_re_signing_but_at_most_three_times(
    django_capture_on_commit_callbacks, mailoutbox
):
    campaign = CampaignFactory(title="Facts first")

    queued = [
        _sign_and_send(campaign, django_capture_on_commit_callbacks, message=f"Try {n}")[2]
        for n in range(5)
    ]

    assert queued == [1, 1, 1, 0, 0]
    assert len(mailoutbox) == 3
    email = mailoutbox[-1]
    assert email.to == ["ann.lee@example.org"]
    assert email.subject == "Please confirm your signature: Facts first"
    signature = Signature.objects.get()
    # Past the cap no new link can go out, so the content the last link confirms stays.
    assert (signature.confirmation_sends, signature.message) == (3, "Try 2")
    assert signature.confirmation_sent_at is not None
    prefix = re.escape(f"http://127.0.0.1:8000/campaigns/{campaign.slug}/confirm/")
    first, last = (
        re.search(rf"{prefix}(?P<token>[^/\s]+)/", sent.body) for sent in (mailoutbox[0], email)
    )
    assert last and last.group(0) in email.alternatives[0][0]
    assert "Facts first" in email.alternatives[0][0]
    with pytest.raises(ApplicationError, match="earlier version"):
        signature_confirm(token=first.group("token"))  # it confirmed "Try 0", since replaced
    confirmed = signature_confirm(token=last.group("token"))
    assert (confirmed.confirmed_at is not None, confirmed.message) == (True, "Try 2")


def test_a_confirmed_signature_is_not_sent_another_confirmation(
    django_capture_on_commit_callbacks, mailoutbox
):
    campaign = CampaignFactory()
    signature, _, _ = _sign_and_send(campaign, django_capture_on_commit_callbacks)
    signature_confirm(token=signature_confirmation_token(signature))

    _, _, queued = _sign_and_send(campaign, django_capture_on_commit_callbacks)

    assert queued == 0 and len(mailoutbox) == 1


def test_the_task_sends_nothing_once_the_signature_is_confirmed_or_gone(mailoutbox):
    signature, _ = _sign(CampaignFactory())
    signature_confirm(token=signature_confirmation_token(signature))

    assert send_signature_confirmation(signature.pk) is False
    assert send_signature_confirmation(999_999) is False
    assert mailoutbox == []


def test_the_link_confirms_once_and_confirming_again_is_harmless():
    signature, _ = _sign(CampaignFactory(slug="facts-first"))
    token = signature_confirmation_token(signature)
    assert signature_confirmation_url(signature) == (
        f"http://127.0.0.1:8000/campaigns/facts-first/confirm/{token}/"
    )

    confirmed = signature_confirm(token=token)
    first_confirmed_at = confirmed.confirmed_at
    again = signature_confirm(token=token)

    assert confirmed.pk == signature.pk and first_confirmed_at is not None
    assert again.confirmed_at == first_confirmed_at


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        signing.TimestampSigner(salt="another.purpose").sign("1"),
        signing.TimestampSigner(salt="campaigns.signature-confirm", key="x" * 50).sign("1"),
    ],
    ids=["garbage", "another-purpose", "another-key"],  # the tokens hold the time: stable ids
)
def test_a_forged_link_is_refused(token):
    _sign(CampaignFactory())

    with pytest.raises(ApplicationError, match="This confirmation link is not valid."):
        signature_confirm(token=token)

    assert Signature.objects.get().confirmed_at is None


def test_an_expired_link_is_refused_with_a_way_forward(monkeypatch, settings):
    settings.SIGNATURE_CONFIRM_MAX_AGE = 7 * 24 * 3600
    signature, _ = _sign(CampaignFactory())
    token = signature_confirmation_token(signature)
    eight_days_later = time.time() + 8 * 24 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: eight_days_later)

    with pytest.raises(ApplicationError) as error:
        signature_confirm(token=token)

    assert error.value.message == (
        "This confirmation link has expired; sign again to get a new one."
    )
    monkeypatch.undo()
    assert Signature.objects.get().confirmed_at is None


def test_only_confirmed_unflagged_signatures_are_counted():
    campaign = CampaignFactory()
    confirmed, _ = _sign(campaign)
    _sign(campaign, email="unconfirmed@example.org")
    flagged, _ = _sign(campaign, email="flagged@example.org")
    signature_confirm(token=signature_confirmation_token(confirmed))
    signature_confirm(token=signature_confirmation_token(flagged))
    Signature.objects.filter(pk=flagged.pk).update(flagged=True, flag_reason="test")

    campaign_signature_counts_refresh()

    campaign.refresh_from_db()
    assert campaign.signature_count == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers, so it cannot show the race",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("known_person", [False, True], ids=["new-contact", "known-contact"])
def test_concurrent_identical_submissions_make_exactly_one_signature(monkeypatch, known_person):
    from campaigns.services import signatures_process_pending
    from celerytasks.campaigns import process_signatures

    queued = []
    monkeypatch.setattr(send_signature_confirmation, "delay", queued.append)
    monkeypatch.setattr(process_signatures, "delay", lambda: None)
    if known_person:
        ContactFactory(email="ann.lee@example.org")
    campaign = CampaignFactory()
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    results, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=30)
            signature, created = signature_record(
                campaign=campaign, name="Ann Lee", email="Ann.Lee@example.org", message="Same"
            )
            results.append((signature.pk, signature.share_code, created))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [str(e) for e in errors] == []
    assert len(results) == threads_count
    assert Signature.objects.count() == 1
    stored = Signature.objects.get()
    assert sum(created for _, _, created in results) == 1
    # Every submitter lands on the one signature's thank-you page.
    assert {(pk, code) for pk, code, _ in results} == {(stored.pk, stored.share_code)}
    signatures_process_pending()
    assert Contact.objects.count() == 1
    stored.refresh_from_db()
    assert stored.contact == Contact.objects.get() and stored.confirmation_sends == 1
    assert queued == [stored.pk]
