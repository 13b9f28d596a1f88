"""The campaign's form rules, referrals, abuse flags, organisational sign-on and conveners'
review, at the service layer."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from campaigns.models import Campaign, Signature
from campaigns.services import (
    organization_sign_on,
    organization_sign_on_withdraw,
    signature_messages_set_status,
    signature_organization_decide,
    signature_record,
    signatures_flag_clear,
    signatures_invalidate,
)
from crm.errors import ApplicationError
from members.models import Affiliation, Interaction
from tests.campaigns.helpers import confirmations_queued, sign_processed
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db


def _sign(campaign, **fields):
    """Signs and runs the processing the task runs moments later."""
    data = {"campaign": campaign, "name": "Ann Lee", "email": "ann@example.org", **fields}
    return sign_processed(**data)


def _unique_domain():
    return f"{uuid.uuid4().hex[:12]}.example.org"


def _unique_ip():
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


# --- Which fields the form asks ----------------------------------------------------------------


def test_required_fields_each_get_their_message_together():
    campaign = CampaignFactory(
        affiliation_field=Campaign.FieldRule.REQUIRED,
        phone_field=Campaign.FieldRule.REQUIRED,
        message_field=Campaign.FieldRule.REQUIRED,
    )

    with pytest.raises(ValidationError) as error:
        signature_record(campaign=campaign, name=" ", email="", affiliation="", phone="")

    assert error.value.message_dict == {
        "name": ["Please enter your name."],
        "email": ["Please enter your email address."],
        "affiliation": ["Please enter your affiliation."],
        "phone": ["Please enter a valid phone number."],
        "message": ["Please enter a message."],
    }
    assert Signature.objects.count() == 0


def test_hidden_fields_are_not_stored_and_optional_ones_may_be_empty():
    campaign = CampaignFactory(
        phone_field=Campaign.FieldRule.HIDDEN, message_field=Campaign.FieldRule.HIDDEN
    )

    signature, _ = _sign(campaign, phone="404 555 0101", message="kept?", affiliation="")

    assert (signature.phone, signature.message, signature.affiliation) == ("", "", "")


def test_invalid_email_and_oversized_fields_are_refused_with_their_messages():
    campaign = CampaignFactory()

    with pytest.raises(ValidationError) as error:
        _sign(campaign, email="not-an-address", name="x" * 201, affiliation="y" * 201)

    assert error.value.message_dict == {
        "email": ["Please enter a valid email address, like name@example.org."],
        "name": ["Please keep your name under 200 characters."],
        "affiliation": ["Please keep your affiliation under 200 characters."],
    }


# --- Referrals and share codes -----------------------------------------------------------------


def test_each_signature_gets_its_own_share_code_and_domain():
    campaign = CampaignFactory()

    first, _ = _sign(campaign, email="Ann.Lee+x@GoogleMail.com")
    second, _ = _sign(campaign, email="bo@example.org")

    assert first.share_code and second.share_code and first.share_code != second.share_code
    assert (first.email_domain, second.email_domain) == ("gmail.com", "example.org")


def test_referral_by_organisation_slug_or_by_a_signers_share_code_credits_the_member():
    campaign = CampaignFactory()
    member = OrganizationFactory(slug="hope-house")
    referrer, _ = _sign(campaign, email="staff@hopehouse.example.org")
    Signature.objects.filter(pk=referrer.pk).update(organization=member)

    by_slug, _ = _sign(campaign, email="a@example.org", referral_code="hope-house")
    by_code, _ = _sign(campaign, email="b@example.org", referral_code=referrer.share_code)
    unknown, _ = _sign(campaign, email="c@example.org", referral_code="newsletter")

    assert by_slug.referred_by == member and by_code.referred_by == member
    assert unknown.referred_by is None and unknown.referral_code == "newsletter"


def test_an_embedding_organisation_is_credited():
    campaign = CampaignFactory()
    member = OrganizationFactory()

    signature, _ = _sign(campaign, embedded_by=member, source=Signature.Source.EMBED)

    assert (signature.referred_by, signature.source) == (member, "embed")


# --- Abuse -------------------------------------------------------------------------------------


def test_signatures_over_the_ip_limit_are_stored_but_flagged_silently():
    campaign = CampaignFactory(rate_limit_per_ip=2)
    ip = _unique_ip()

    results = [
        _sign(campaign, email=f"p{n}@{_unique_domain()}", ip_address=ip)[0] for n in range(4)
    ]

    assert [s.flagged for s in results] == [False, False, True, True]
    assert results[2].flag_reason == "over 2 signatures an hour from this IP"
    assert Signature.objects.filter(campaign=campaign).count() == 4


def test_fifty_staff_of_one_member_on_one_network_and_domain_are_all_kept():
    campaign = CampaignFactory()  # the default limits
    ip, domain = _unique_ip(), _unique_domain()

    for n in range(50):
        _sign(campaign, name=f"Staff {n}", email=f"staff{n}@{domain}", ip_address=ip)

    assert Signature.objects.filter(campaign=campaign, flagged=False).count() == 50


def test_the_domain_limit_flags_a_burst_but_ignores_public_mail_providers():
    campaign = CampaignFactory(rate_limit_per_domain=1)
    domain = _unique_domain()

    first, _ = _sign(campaign, email=f"a@{domain}")
    second, _ = _sign(campaign, email=f"b@{domain}")
    gmail = [_sign(campaign, email=f"person{n}@gmail.com")[0] for n in range(3)]

    assert (first.flagged, second.flagged) == (False, True)
    assert second.flag_reason == "over 1 signatures an hour from this domain"
    assert not any(s.flagged for s in gmail)


def test_a_filled_honeypot_stores_a_flagged_signature():
    signature, created = _sign(CampaignFactory(), honeypot_filled=True)

    assert created and signature.flagged
    assert signature.flag_reason == "filled the hidden bot-trap field"


def test_invalidating_and_clearing_flags_change_what_counts():
    campaign = CampaignFactory()
    flagged = SignatureFactory.create_batch(2, campaign=campaign, flagged=True, flag_reason="ip")
    genuine = SignatureFactory(campaign=campaign)

    assert signatures_invalidate(campaign=campaign, signature_ids=[flagged[0].pk]) == 1
    assert signatures_invalidate(campaign=campaign, signature_ids=[flagged[0].pk]) == 0
    assert signatures_flag_clear(campaign=campaign, signature_ids=[flagged[1].pk]) == 1
    assert signatures_invalidate(campaign=CampaignFactory(), signature_ids=[genuine.pk]) == 0

    invalid, cleared = (Signature.objects.get(pk=s.pk) for s in flagged)
    assert invalid.flagged and invalid.invalidated_at and invalid.flag_reason == "ip"
    assert (cleared.flagged, cleared.flag_reason, cleared.invalidated_at) == (False, "", None)


def test_invalidating_an_unflagged_signature_gives_it_a_reason():
    campaign = CampaignFactory()
    signature = SignatureFactory(campaign=campaign)

    signatures_invalidate(campaign=campaign, signature_ids=[signature.pk])

    signature.refresh_from_db()
    assert (signature.flagged, signature.flag_reason) == (True, "invalidated")


# --- Messages and matches ----------------------------------------------------------------------


def test_message_status_is_set_and_a_changed_message_goes_back_to_review():
    campaign = CampaignFactory(moderate_messages=True)
    signature, _ = _sign(campaign, message="First words")
    signature_messages_set_status(
        campaign=campaign, signature_ids=[signature.pk], status="approved"
    )

    _sign(campaign, message="First words")
    assert Signature.objects.get(pk=signature.pk).message_status == "approved"
    _sign(campaign, message="Different words")
    assert Signature.objects.get(pk=signature.pk).message_status == "pending"
    with pytest.raises(ApplicationError):
        signature_messages_set_status(
            campaign=campaign, signature_ids=[signature.pk], status="published"
        )


def test_a_suggested_organisation_is_accepted_or_rejected():
    member = OrganizationFactory()
    accept = SignatureFactory(organization_suggestion=member)
    reject = SignatureFactory(organization_suggestion=member)

    signature_organization_decide(signature=accept, accept=True)
    signature_organization_decide(signature=reject, accept=False)

    accept.refresh_from_db()
    reject.refresh_from_db()
    assert (accept.organization, accept.organization_suggestion) == (member, None)
    assert (reject.organization, reject.organization_suggestion) == (None, None)
    with pytest.raises(ApplicationError):
        signature_organization_decide(signature=reject, accept=True)


# --- Organisational sign-on --------------------------------------------------------------------


def _signatory(organization, **contact_fields):
    contact = ContactFactory(**contact_fields)
    AffiliationFactory(contact=contact, organization=organization, role=Affiliation.Role.SIGNATORY)
    return contact


def test_a_signatory_signs_for_the_organisation_once_counted_at_once_and_on_the_timeline():
    campaign = CampaignFactory()
    member = OrganizationFactory(name="Hope House")
    first, second = _signatory(member), _signatory(member)

    signature, created = organization_sign_on(
        campaign=campaign, organization=member, contact=first, message="We sign."
    )
    again, created_again = organization_sign_on(
        campaign=campaign, organization=member, contact=second, message="Still."
    )

    assert created and not created_again and again.pk == signature.pk
    again.refresh_from_db()
    assert again.on_behalf_of == member and again.organization == member
    assert again.confirmed_at is not None and again.show_publicly and not again.flagged
    assert (again.contact, again.message, again.affiliation) == (second, "Still.", "Hope House")
    subjects = list(
        Interaction.objects.filter(organization=member).values_list("subject", flat=True)
    )
    assert sorted(subjects) == sorted(
        [f"Signed: {campaign.title}", f"Updated its signature on: {campaign.title}"]
    )


def test_a_signatory_may_also_sign_as_a_person():
    campaign = CampaignFactory()
    member = OrganizationFactory()
    contact = _signatory(member, email="lee@example.org")

    organization_sign_on(campaign=campaign, organization=member, contact=contact)
    _sign(campaign, email="lee@example.org")

    assert Signature.objects.filter(campaign=campaign, contact=contact).count() == 2


def test_only_signatories_sign_or_withdraw_and_the_database_holds_one_per_organisation():
    campaign = CampaignFactory()
    member = OrganizationFactory()
    editor = ContactFactory()
    AffiliationFactory(contact=editor, organization=member, role=Affiliation.Role.EDITOR)
    signatory = _signatory(member)

    with pytest.raises(ApplicationError, match="Only a signatory"):
        organization_sign_on(campaign=campaign, organization=member, contact=editor)
    signature, _ = organization_sign_on(campaign=campaign, organization=member, contact=signatory)
    with pytest.raises(ApplicationError):
        organization_sign_on_withdraw(campaign=campaign, organization=member, contact=editor)
    with pytest.raises(IntegrityError):
        Signature.objects.create(
            campaign=campaign, on_behalf_of=member, contact=editor, name="Duplicate"
        )


def test_withdrawing_removes_the_organisations_signature_and_says_so_on_the_timeline():
    campaign = CampaignFactory()
    member = OrganizationFactory()
    signatory = _signatory(member)
    organization_sign_on(campaign=campaign, organization=member, contact=signatory)

    assert organization_sign_on_withdraw(campaign=campaign, organization=member, contact=signatory)
    assert not organization_sign_on_withdraw(
        campaign=campaign, organization=member, contact=signatory
    )
    assert not Signature.objects.filter(on_behalf_of=member).exists()
    assert (
        Interaction.objects.filter(organization=member, subject__startswith="Withdrew").count() == 1
    )


def test_a_closed_campaign_refuses_organisational_sign_on():
    campaign = CampaignFactory(status=Campaign.Status.CLOSED)
    member = OrganizationFactory()

    with pytest.raises(ApplicationError, match="closed"):
        organization_sign_on(campaign=campaign, organization=member, contact=_signatory(member))


# --- Changes to a confirmed signature wait for the mailbox's owner -------------------------------


def _confirmed(campaign, **fields):
    from campaigns.services import signature_confirm, signature_confirmation_token

    signature, _ = _sign(campaign, message="Original words", **fields)
    return signature_confirm(token=signature_confirmation_token(signature))


def test_a_change_to_a_confirmed_signature_waits_for_the_owner_to_confirm_it(mailoutbox):
    from campaigns.services import (
        signature_confirm,
        signature_confirmation_email,
        signature_confirmation_token,
    )

    campaign = CampaignFactory(title="Facts first")
    original = _confirmed(campaign)

    changed, created = _sign(campaign, message="New words", show_publicly=True)

    changed.refresh_from_db()
    assert not created and changed.message == "Original words" and not changed.show_publicly
    assert changed.pending_changes["message"] == "New words"
    assert signature_confirmation_email(signature=changed)
    assert mailoutbox[-1].subject == "Please confirm the change to your signature: Facts first"
    assert "asked to change your signature" in mailoutbox[-1].body
    token = signature_confirmation_token(changed)
    applied = signature_confirm(token=token)
    assert (applied.message, applied.show_publicly, applied.pending_changes) == (
        "New words",
        True,
        None,
    )
    assert applied.confirmed_at == original.confirmed_at
    assert signature_confirm(token=token).message == "New words"  # twice is harmless


def test_an_older_link_cannot_confirm_what_someone_typed_since():
    from campaigns.services import signature_confirm, signature_confirmation_token

    campaign = CampaignFactory()
    _confirmed(campaign)
    owners, _ = _sign(campaign, message="The owner's change")
    owners_link = signature_confirmation_token(owners)
    _sign(campaign, message="Someone else's words")

    with pytest.raises(ApplicationError, match="earlier version"):
        signature_confirm(token=owners_link)
    assert Signature.objects.get().message == "Original words"


def test_submitting_the_same_details_again_asks_for_nothing(django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    _confirmed(campaign)

    with django_capture_on_commit_callbacks() as callbacks:
        signature, _ = _sign(campaign, message="Original words")

    assert signature.pending_changes is None and confirmations_queued(callbacks) == 0


def test_flagged_signatures_get_no_e_mail_until_a_convener_accepts_them(
    django_capture_on_commit_callbacks,
):
    campaign = CampaignFactory(rate_limit_per_ip=0)

    with django_capture_on_commit_callbacks() as on_sign:
        signature, _ = _sign(campaign, ip_address=_unique_ip())
    with django_capture_on_commit_callbacks() as on_accept:
        signatures_flag_clear(campaign=campaign, signature_ids=[signature.pk])

    signature.refresh_from_db()
    assert signature.flagged is False and signature.confirmation_sends == 1
    assert (confirmations_queued(on_sign), len(on_accept)) == (0, 1)
