"""The campaigns admin as a convener (staff, not superuser) uses it: campaigns with their
resources and tracking link, and the review of signatures with filters and bulk actions."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.utils import timezone

from campaigns.models import Campaign, Signature
from members.models import Contact, Organization, Sector
from tests.factories import CampaignFactory, OrganizationFactory, SignatureFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/campaigns/signature/"
# Session and user (2); the user's and the group's permissions (2); the campaign filter's
# choices (1); the filtered count (1, no count of the whole table); the page of signatures with
# their campaign and organisation (1).
SIGNATURE_CHANGELIST_QUERIES = 7
# Session and user (2); permissions (2); the filtered and the total count (2); the page (1).
CAMPAIGN_CHANGELIST_QUERIES = 7


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def changelist_names(response) -> list[str]:
    return re.findall(
        r'<th class="field-name"><a href="[^"]+">(.*?)</a></th>', response.content.decode()
    )


def act(client, action: str, signatures) -> list[str]:
    response = client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [signature.pk for signature in signatures]},
        follow=True,
    )
    assert response.status_code == 200
    return messages_of(response)


# --- Campaigns ----------------------------------------------------------------------------------


def test_a_convener_creates_a_campaign_with_its_resources_in_order(convener_client):
    response = convener_client.get("/admin/campaigns/campaign/add/")
    page = response.content.decode()
    assert response.status_code == 200
    for legend in (
        "Text",
        "Dates and status",
        "The form&#x27;s fields",
        "Public list and moderation",
        "Abuse limits",
    ):
        assert f">{legend}</" in page, legend
    assert "Save the campaign first." in page

    data = {
        "title": "Awareness Month",
        "slug": "awareness-month",
        "kind": "statement",
        "introduction": "Why",
        "statement": "We stand for **facts**.",
        "status": "draft",
        "signature_goal": "1000",
        "affiliation_field": "optional",
        "phone_field": "hidden",
        "message_field": "required",
        "double_opt_in": "on",
        "public_list": "on",
        "rate_limit_per_ip": "200",
        "rate_limit_per_domain": "300",
        "resources-TOTAL_FORMS": "2",
        "resources-INITIAL_FORMS": "0",
        "resources-MIN_NUM_FORMS": "0",
        "resources-MAX_NUM_FORMS": "1000",
        "resources-0-position": "2",
        "resources-0-title": "Second source",
        "resources-0-url": "https://example.org/second",
        "resources-0-description": "",
        "resources-1-position": "1",
        "resources-1-title": "First source",
        "resources-1-url": "https://example.org/first",
        "resources-1-description": "Read this first.",
    }
    response = convener_client.post("/admin/campaigns/campaign/add/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = Campaign.objects.get(slug="awareness-month")
    assert campaign.statement_html == "<p>We stand for <strong>facts</strong>.</p>"
    assert campaign.phone_field == "hidden"
    assert list(campaign.resources.values_list("title", flat=True)) == [
        "First source",
        "Second source",
    ]

    page = convener_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert 'href="/dashboard/campaigns/awareness-month/"' in page
    assert page.index('value="First source"') < page.index('value="Second source"')


@pytest.mark.parametrize("count", [3, 30])
def test_the_campaign_changelist_links_to_tracking_in_fixed_queries(
    convener_client, django_assert_num_queries, count
):
    for n in range(count):
        CampaignFactory(slug=f"campaign-number-{n}")

    with django_assert_num_queries(CAMPAIGN_CHANGELIST_QUERIES):
        response = convener_client.get("/admin/campaigns/campaign/")

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('href="/dashboard/campaigns/campaign-number-') == count


def test_resources_can_be_changed_by_a_convener(convener):
    assert convener.has_perm("campaigns.add_campaignresource")
    assert convener.has_perm("campaigns.change_campaignresource")
    assert convener.has_perm("campaigns.delete_campaignresource")
    assert not convener.is_superuser


# --- Signatures: the list -----------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_the_signature_changelist_loads_in_fixed_queries(
    convener_client, django_assert_num_queries, count
):
    sector = Sector.objects.get(slug="public")
    campaign = CampaignFactory()
    organizations = Organization.objects.bulk_create(
        Organization(name=f"Org {n}", slug=f"org-{n}", sector=sector) for n in range(count)
    )
    contacts = Contact.objects.bulk_create(
        Contact(given_name=f"Signer{n}", email=f"signer{n}@example.org") for n in range(count)
    )
    Signature.objects.bulk_create(
        Signature(
            campaign=campaign,
            contact=contact,
            organization=organization,
            name=f"Signer {n}",
            confirmed_at=timezone.now(),
        )
        for n, (contact, organization) in enumerate(zip(contacts, organizations, strict=True))
    )

    with django_assert_num_queries(SIGNATURE_CHANGELIST_QUERIES):
        response = convener_client.get(CHANGELIST)

    assert response.status_code == 200
    assert len(changelist_names(response)) == count
    assert f"Org {count - 1}" in response.content.decode()


def test_filters_and_search_find_the_signatures_to_review(convener_client):
    campaign = CampaignFactory()
    SignatureFactory(campaign=campaign, name="Confirmed Carol", email="carol@example.org")
    SignatureFactory(campaign=campaign, name="Unconfirmed Uma", confirmed_at=None)
    SignatureFactory(
        campaign=campaign, name="Invalid Ivan", flagged=True, invalidated_at=timezone.now()
    )
    SignatureFactory(
        campaign=campaign, name="Suggested Sue", organization_suggestion=OrganizationFactory()
    )
    SignatureFactory(campaign=CampaignFactory(), name="Elsewhere Eve", message="Hi")

    def names(query):
        response = convener_client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200
        return sorted(changelist_names(response))

    assert names("confirmed=no") == ["Unconfirmed Uma"]
    assert names("invalidated=yes") == ["Invalid Ivan"]
    assert names("suggestion=yes") == ["Suggested Sue"]
    assert names("flagged__exact=1") == ["Invalid Ivan"]
    assert names(f"campaign__id__exact={campaign.pk}&invalidated=no&suggestion=no") == [
        "Confirmed Carol",
        "Unconfirmed Uma",
    ]
    assert names("q=carol@example") == ["Confirmed Carol"]
    assert names("message_status__exact=pending&q=Eve") == ["Elsewhere Eve"]
    assert convener_client.get(f"{CHANGELIST}?confirmed=%27%3B--").status_code == 200


def test_the_signature_form_shows_derived_fields_read_only(convener_client):
    signature = SignatureFactory(
        share_code="abc123XYZ",
        email_domain="example.org",
        canonical_email="ann@example.org",
        ip_address="203.0.113.5",
        confirmation_sends=2,
    )

    response = convener_client.get(f"/admin/campaigns/signature/{signature.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    for value in ("abc123XYZ", "203.0.113.5", "ann@example.org"):
        assert value in page
    for field in (
        "share_code",
        "ip_address",
        "email_domain",
        "canonical_email",
        "confirmation_sends",
    ):
        assert f'name="{field}"' not in page, field


# --- Signatures: the actions --------------------------------------------------------------------


def test_invalidate_and_accept_as_genuine(convener_client):
    first_campaign, second_campaign = CampaignFactory(), CampaignFactory()
    a = SignatureFactory(campaign=first_campaign, flagged=True, flag_reason="over the limit")
    b = SignatureFactory(campaign=second_campaign)
    c = SignatureFactory(campaign=first_campaign, flagged=True)

    assert act(convener_client, "invalidate", [a, b]) == [
        "Invalidated 2 signatures; they are no longer counted."
    ]
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.invalidated_at is not None and a.flag_reason == "over the limit"
    assert b.flagged and b.flag_reason == "invalidated"

    assert act(convener_client, "accept_as_genuine", [a, c]) == [
        "Accepted 2 flagged signatures as genuine."
    ]
    a.refresh_from_db()
    c.refresh_from_db()
    assert (a.flagged, a.invalidated_at, c.flagged) == (False, None, False)


def test_approve_and_hide_messages(convener_client):
    campaign = CampaignFactory(moderate_messages=True)
    a = SignatureFactory(campaign=campaign, message="Facts first")
    b = SignatureFactory(campaign=campaign, message="Rude")
    silent = SignatureFactory(campaign=campaign)

    assert act(convener_client, "approve_messages", [a, silent]) == ["Approved 1 message."]
    assert act(convener_client, "hide_messages", [b]) == ["Hid 1 message."]

    statuses = dict(Signature.objects.values_list("pk", "message_status"))
    assert statuses == {a.pk: "approved", b.pk: "hidden", silent.pk: "pending"}


def test_accept_and_reject_suggested_organisations(convener_client):
    harbor = OrganizationFactory(name="Safe Harbor")
    accepted = SignatureFactory(organization_suggestion=harbor)
    rejected = SignatureFactory(organization_suggestion=harbor)
    plain = SignatureFactory()

    assert act(convener_client, "accept_suggestion", [accepted, plain]) == [
        "Linked 1 signature to the suggested organisation. 1 signature had no suggestion to decide."
    ]
    assert act(convener_client, "reject_suggestion", [rejected]) == [
        "Left unmatched 1 signature; the suggestion was rejected."
    ]

    accepted.refresh_from_db()
    rejected.refresh_from_db()
    assert (accepted.organization, accepted.organization_suggestion) == (harbor, None)
    assert (rejected.organization, rejected.organization_suggestion) == (None, None)


def test_staff_without_the_conveners_group_cannot_use_the_actions(client, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    client.force_login(clerk)
    signature = SignatureFactory(flagged=True)

    response = client.post(
        CHANGELIST, {"action": "invalidate", ACTION_CHECKBOX_NAME: [signature.pk]}
    )

    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.invalidated_at is None
