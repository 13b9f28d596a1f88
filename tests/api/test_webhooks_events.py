"""Which events the services raise, and which partners are sent them: by scope (personal data
only with read:contacts), by subscription and, for a partner bound to a member organisation,
only about that organisation."""

import pytest

from api.keys import api_key_create, api_key_revoke
from api.models import WebhookDelivery
from api.webhooks import webhook_event_record
from campaigns.models import Signature
from campaigns.services import (
    organization_sign_on,
    signature_confirm,
    signature_confirmation_token,
    signatures_invalidate,
)
from mailings import services as mailing_services
from mailings.models import Delivery
from members.models import Affiliation, Organization
from members.services import (
    affiliation_ensure,
    contact_update,
    contact_upsert,
    organization_create,
    organization_update,
    organizations_set_status,
)
from tests.api.webhook_helpers import deliveries_of, partner_with_endpoint
from tests.campaigns.helpers import processed, sign_processed
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    MailingFactory,
    OrganizationFactory,
    SectorFactory,
)

pytestmark = pytest.mark.django_db

FULL = ("read:members", "read:contacts", "read:campaigns")


def events_of(endpoint) -> list[str]:
    return [delivery.event for delivery in deliveries_of(endpoint)]


def sign(campaign, email="rosa@example.org", affiliation="", **fields):
    signature, _ = sign_processed(
        campaign=campaign,
        name="Rosa Parks",
        email=email,
        phone="404-555-0123",
        affiliation=affiliation,
        ip_address="203.0.113.5",
        **fields,
    )
    return signature


# --- Events the services raise ------------------------------------------------------------------


def test_a_processed_signature_without_double_opt_in_is_created_and_confirmed():
    _partner, endpoint, _key = partner_with_endpoint(scopes=FULL)
    signature = sign(CampaignFactory(double_opt_in=False))

    created, confirmed = deliveries_of(endpoint, "signature.created") + deliveries_of(
        endpoint, "signature.confirmed"
    )
    assert created.payload["data"]["id"] == signature.pk
    assert created.payload["data"]["confirmed"] is True
    assert confirmed.payload["data"]["confirmed_at"] is not None
    assert created.event_id != confirmed.event_id
    # The contact the signature made is announced too (a new person).
    assert "contact.updated" in events_of(endpoint)


def test_with_double_opt_in_the_confirmation_comes_when_the_link_is_followed():
    _partner, endpoint, _key = partner_with_endpoint(
        scopes=FULL, events=["signature.created", "signature.confirmed"]
    )
    signature = sign(CampaignFactory(double_opt_in=True))
    assert events_of(endpoint) == ["signature.created"]
    assert deliveries_of(endpoint)[0].payload["data"]["confirmed"] is False

    signature_confirm(token=signature_confirmation_token(signature))
    assert events_of(endpoint) == ["signature.created", "signature.confirmed"]
    signature_confirm(token=signature_confirmation_token(signature))  # confirming twice
    assert events_of(endpoint) == ["signature.created", "signature.confirmed"]


def test_signing_again_is_not_a_new_signature():
    _partner, endpoint, _key = partner_with_endpoint(
        scopes=FULL, events=["signature.created", "signature.confirmed"]
    )
    campaign = CampaignFactory(double_opt_in=False)
    sign(campaign)
    sign(campaign, message="Again, louder.")
    assert events_of(endpoint) == ["signature.created", "signature.confirmed"]


def test_a_signature_held_for_review_is_not_announced():
    _partner, endpoint, _key = partner_with_endpoint(
        scopes=FULL, events=["signature.created", "signature.confirmed"]
    )
    campaign = CampaignFactory(double_opt_in=False)
    sign(campaign, honeypot_filled=True)  # stored, but flagged for a convener
    assert Signature.objects.get().flagged
    assert events_of(endpoint) == []


def test_an_organisations_sign_on_is_created_and_confirmed():
    _partner, endpoint, _key = partner_with_endpoint(
        scopes=FULL, events=["signature.created", "signature.confirmed"]
    )
    organization = OrganizationFactory()
    contact = ContactFactory()
    AffiliationFactory(contact=contact, organization=organization, role=Affiliation.Role.SIGNATORY)
    signature, _ = organization_sign_on(
        campaign=CampaignFactory(), organization=organization, contact=contact
    )
    assert events_of(endpoint) == ["signature.created", "signature.confirmed"]
    assert deliveries_of(endpoint)[0].payload["data"]["on_behalf_of"] == organization.pk
    organization_sign_on(
        campaign=signature.campaign, organization=organization, contact=contact, message="Hi"
    )
    assert len(events_of(endpoint)) == 2  # updating the sign-on's message is not a new one


def test_organisation_changes_are_announced_and_non_changes_are_not():
    _partner, endpoint, _key = partner_with_endpoint(scopes=FULL, events=["organization.updated"])
    organization = organization_create(name="Safe Harbor", sector=SectorFactory())
    organization_update(organization=organization, data={"city": "Atlanta"})
    organization_update(organization=organization, data={"city": "Atlanta"})  # no change
    organizations_set_status(
        organizations=Organization.objects.filter(pk=organization.pk),
        status=Organization.Status.LAPSED,
    )

    deliveries = deliveries_of(endpoint)
    assert [d.payload["data"]["id"] for d in deliveries] == [organization.pk] * 3
    assert [d.payload["data"]["city"] for d in deliveries] == ["", "Atlanta", "Atlanta"]
    assert deliveries[2].payload["data"]["status"] == "lapsed"
    assert "internal_notes" not in deliveries[0].payload["data"]  # conveners' only


def test_contact_changes_are_announced():
    _partner, endpoint, _key = partner_with_endpoint(scopes=FULL, events=["contact.updated"])
    contact, created = contact_upsert(email="ada@example.org", given_name="Ada")
    assert created
    contact_upsert(email="ada@example.org", given_name="Ada")  # nothing new: no event
    contact_upsert(email="ada@example.org", given_name="Ada", family_name="Lovelace")
    contact_update(contact=contact, data={"title": "Director"})

    deliveries = deliveries_of(endpoint)
    assert [d.payload["data"]["family_name"] for d in deliveries] == ["", "Lovelace", "Lovelace"]
    assert deliveries[2].payload["data"]["title"] == "Director"
    assert deliveries[0].payload["data"]["email"] == "ada@example.org"


def test_unsubscribing_is_announced_once():
    _partner, endpoint, _key = partner_with_endpoint(scopes=FULL, events=["contact.unsubscribed"])
    contact = ContactFactory(email="priya@example.org")
    AffiliationFactory(contact=contact)
    mailing = MailingFactory()
    mailing_services.mailing_schedule(mailing=mailing)
    mailing_services.mailing_audience_freeze(mailing=mailing)
    delivery = Delivery.objects.select_related("mailing", "contact").get(mailing=mailing)

    mailing_services.delivery_unsubscribe(delivery=delivery)
    mailing_services.delivery_unsubscribe(delivery=delivery)

    [unsubscribed] = deliveries_of(endpoint)
    assert unsubscribed.payload["data"]["id"] == contact.pk
    assert unsubscribed.payload["data"]["email_status"] == "unsubscribed"


def test_a_bounce_is_not_an_unsubscription():
    _partner, endpoint, _key = partner_with_endpoint(scopes=FULL, events=["contact.unsubscribed"])
    ContactFactory(email="gone@example.org")
    mailing_services.suppression_add(email="gone@example.org", reason="bounced")
    assert events_of(endpoint) == []


# --- Who is sent what ---------------------------------------------------------------------------


def test_without_read_contacts_a_signature_comes_without_email_or_phone():
    _partner, endpoint, _key = partner_with_endpoint(scopes=["read:campaigns"])
    sign(CampaignFactory(double_opt_in=False))

    assert events_of(endpoint) == ["signature.created", "signature.confirmed"]
    for delivery in deliveries_of(endpoint):
        data = delivery.payload["data"]
        assert data["name"] == "Rosa Parks"
        assert "email" not in data
        assert "phone" not in data
        assert "rosa@example.org" not in str(delivery.payload)


def test_each_event_needs_its_scope_on_an_active_key():
    partners = {
        scope: partner_with_endpoint(name=scope, scopes=[scope])
        for scope in ("read:members", "read:contacts", "read:campaigns")
    }
    # Registered while the key had the scope; the key is then revoked for a fourth partner.
    revoked_partner, revoked_endpoint, _ = partner_with_endpoint(name="revoked", scopes=FULL)
    for key in revoked_partner.keys.all():
        api_key_revoke(key=key)

    organization = OrganizationFactory()
    organization_update(organization=organization, data={"city": "Macon"})
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    sign(CampaignFactory(double_opt_in=False), email="new@example.org")

    assert set(events_of(partners["read:members"][1])) == {"organization.updated"}
    assert set(events_of(partners["read:contacts"][1])) == {"contact.updated"}
    assert set(events_of(partners["read:campaigns"][1])) == {
        "signature.created",
        "signature.confirmed",
    }
    assert events_of(revoked_endpoint) == []


def test_the_scopes_of_all_a_partners_active_keys_count():
    partner, endpoint, _ = partner_with_endpoint(scopes=["read:campaigns"])
    api_key_create(partner=partner, scopes=["read:contacts"])
    sign(CampaignFactory(double_opt_in=False))
    assert deliveries_of(endpoint)[0].payload["data"]["email"] == "rosa@example.org"


def test_a_partner_bound_to_an_organisation_hears_only_about_it():
    ours, theirs = OrganizationFactory(name="Safe Harbor"), OrganizationFactory(name="Other")
    _partner, endpoint, _ = partner_with_endpoint(scopes=FULL, organization=ours)
    our_person, their_person = ContactFactory(), ContactFactory()
    affiliation_ensure(contact=our_person, organization=ours, role=Affiliation.Role.STAFF)
    affiliation_ensure(contact=our_person, organization=theirs, role=Affiliation.Role.STAFF)
    affiliation_ensure(contact=their_person, organization=theirs, role=Affiliation.Role.STAFF)
    campaign = CampaignFactory(double_opt_in=False)

    organization_update(organization=ours, data={"city": "Atlanta"})
    organization_update(organization=theirs, data={"city": "Macon"})
    contact_update(contact=our_person, data={"title": "Ours"})
    contact_update(contact=their_person, data={"title": "Theirs"})
    sign(campaign, email="a@example.org", affiliation="Safe Harbor")  # matched to ours
    sign(campaign, email="b@example.org", affiliation="Other")

    deliveries = deliveries_of(endpoint)
    assert [d.event for d in deliveries] == [
        "organization.updated",
        "contact.updated",
        "signature.created",
        "signature.confirmed",
    ]
    assert deliveries[0].payload["data"]["id"] == ours.pk
    contact = deliveries[1].payload["data"]
    assert contact["title"] == "Ours"
    # The person's roles elsewhere are not the bound partner's business.
    assert [row["organization"] for row in contact["affiliations"]] == [ours.pk]
    assert deliveries[2].payload["data"]["organization"] == ours.pk


def test_an_event_about_nothing_known_or_unsaved_records_nothing():
    _partner, endpoint, _ = partner_with_endpoint(scopes=FULL)
    assert webhook_event_record("contact.deleted", ContactFactory()) == []
    assert webhook_event_record("contact.updated", None) == []
    assert deliveries_of(endpoint) == []


def test_an_invalidated_signature_is_not_announced_again():
    _partner, endpoint, _ = partner_with_endpoint(
        scopes=FULL, events=["signature.created", "signature.confirmed"]
    )
    campaign = CampaignFactory(double_opt_in=True)
    signature = sign(campaign)
    signatures_invalidate(campaign=campaign, signature_ids=[signature.pk])
    signature = processed(signature)
    signature_confirm(token=signature_confirmation_token(signature))
    assert events_of(endpoint) == ["signature.created"]


def test_with_no_endpoint_an_event_costs_one_query(django_assert_num_queries):
    contact = ContactFactory()
    with django_assert_num_queries(1):
        webhook_event_record("contact.updated", contact)
    assert not WebhookDelivery.objects.exists()
