"""Reviewer's demonstrations of defects in the partner API (issue 6). Each test states what a
caller should see; it fails while the defect is there."""

from __future__ import annotations

import base64
import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from members.models import Contact, Organization
from members.services import tag_get_or_create
from tests.api.conftest import client_with_key, editor_of, key_for
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SectorFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

ALL = [
    "read:members",
    "write:members",
    "read:contacts",
    "write:contacts",
    "read:campaigns",
    "write:signatures",
    "read:mailings",
    "write:mailings",
    "write:webhooks",
]


class Two:
    """Organisations A and B: Alice in A, Bob in B, Carol in both."""

    def __init__(self):
        sector = SectorFactory(slug="faith-based")
        self.a = OrganizationFactory(name="Harbor House", sector=sector)
        self.b = OrganizationFactory(name="Bridge Clinic", sector=sector)
        self.b_tag = tag_get_or_create(name="Only on B")
        self.b.tags.add(self.b_tag)
        self.alice = ContactFactory(given_name="Alice", email="alice@harbor.example.org")
        self.bob = ContactFactory(given_name="Bob", email="bob@bridge.example.org", phone="")
        self.carol = ContactFactory(given_name="Carol", email="carol@example.org")
        AffiliationFactory(contact=self.alice, organization=self.a)
        AffiliationFactory(contact=self.bob, organization=self.b)
        self.carol_a = AffiliationFactory(contact=self.carol, organization=self.a)
        AffiliationFactory(contact=self.carol, organization=self.b)
        self.campaign = CampaignFactory(slug="clean-air")


@pytest.fixture
def two():
    return Two()


def bound_to(organization, scopes=ALL, name="Partner A"):
    return client_with_key(key_for(scopes=scopes, organization=organization, name=name))


def result_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- 1. Inputs that give a 500 -----------------------------------------------------------------


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("path", ["organizations", "contacts", "signatures", "webhook-deliveries"])
@pytest.mark.parametrize("raw", ["p=abc", "p=1.5", "r=1&p=x"])
def test_a_tampered_cursor_is_a_400_not_a_500(path, raw):
    """The cursor is the client's to send back; its position is used in SQL unchecked:
    ``id > 'abc'`` raises ValueError in Django, a 500."""
    OrganizationFactory()
    client = client_with_key(key_for(scopes=ALL))
    response = client.get(f"/api/v1/{path}/", {"cursor": _cursor(raw)})
    assert response.status_code in (400, 404), response.status_code
    assert set(response.json()) == {"message", "code", "errors"}


@pytest.mark.parametrize("path", ["organizations/", "contacts/", "signatures/", "webhooks/"])
def test_a_deeply_nested_json_body_is_a_400_not_a_500(path):
    """/osdi/v1/ catches RecursionError in its parser; /api/v1/ uses DRF's JSONParser, which
    does not: 100,000 nested brackets crash the request (RecursionError, a 500)."""
    client = client_with_key(key_for(scopes=ALL))
    body = '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(f"/api/v1/{path}", data=body, content_type="application/json")
    assert response.status_code == 400, response.status_code


# --- 2. Access: what a caller limited to organisation A learns of B ----------------------------


@pytest.mark.parametrize("name", ["organization", "tag", "signed"])
def test_a_bound_partner_cannot_learn_its_peoples_other_memberships_through_filters(two, name):
    """Partner A sees Carol (she is in A) with her affiliation to A only. But the contact filters
    ``organization``, ``tag`` and ``signed`` look at all of a person's affiliations and
    signatures, so A learns that Carol is also in B, in an organisation tagged "Only on B", and
    that she signed a campaign on B's behalf: what the narrowed ``affiliations`` hide.
    (api/views_members.py ContactFilter.filter_organization / filter_tag / filter_signed)"""
    SignatureFactory(campaign=two.campaign, contact=two.carol, on_behalf_of=two.b)
    client = bound_to(two.a)
    listed = result_ids(client.get("/api/v1/contacts/"))
    assert sorted(listed) == sorted([two.alice.pk, two.carol.pk])
    # B's id "filters to nothing, so it cannot be told apart" (api/filters.py IdFilter).
    value = {"organization": two.b.pk, "tag": two.b_tag.slug, "signed": two.campaign.slug}[name]
    assert result_ids(client.get("/api/v1/contacts/", {name: value})) == []


def test_an_editor_cannot_learn_its_peoples_other_memberships_either(two):
    client = APIClient()
    client.force_login(editor_of(two.a))
    assert result_ids(client.get("/api/v1/contacts/", {"organization": two.b.pk})) == []


def test_osdi_signup_by_a_bound_partner_does_not_change_another_organisations_person(two):
    """The person signup helper calls contact_upsert for any address: a key bound to A (with
    write:contacts) fills in the empty fields of Bob, who is B's only, and unsubscribes him
    from every mailing; the 200 (not 201) tells it Bob's address is in the directory. The REST
    create refuses the same (organization_contact_add: "already in the coalition's directory").
    (api/osdi/helpers.py person_signup)"""
    client = client_with_key(key_for(scopes=["write:contacts"], organization=two.a), osdi=True)
    response = client.post(
        "/osdi/v1/people",
        {
            "person": {
                "given_name": "Bobby",
                "email_addresses": [{"address": two.bob.email, "status": "unsubscribed"}],
                "phone_numbers": [{"number": "14045550123"}],
            }
        },
        format="json",
    )
    two.bob.refresh_from_db()
    assert two.bob.email_status == Contact.EmailStatus.SUBSCRIBED
    assert two.bob.phone == ""
    assert response.status_code in (400, 403, 404), response.status_code


def test_osdi_signatures_show_a_bound_partner_no_signature_of_another_organisation(two):
    """/api/v1/signatures/ shows partner A the signatures matched to A or given for A. The OSDI
    selector adds those *referred by* A: Bob's own signature, matched to B, with his name, his
    comment, and links to his person id and to B. (api/osdi/selectors.py signatures)"""
    SignatureFactory(
        campaign=two.campaign,
        contact=two.bob,
        organization=two.b,
        referred_by=two.a,
        name="Bob Bridge",
        message="For the clinic",
    )
    rest = bound_to(two.a, scopes=["read:campaigns"])
    assert result_ids(rest.get("/api/v1/signatures/")) == []
    osdi = client_with_key(
        key_for(scopes=["read:campaigns"], organization=two.a, name="Partner A2"), osdi=True
    )
    response = osdi.get(f"/osdi/v1/petitions/{two.campaign.pk}/signatures")
    assert response.status_code == 200
    assert response.json()["_embedded"]["osdi:signatures"] == []
    assert b"Bob Bridge" not in response.content
    assert f"organizations/{two.b.pk}".encode() not in response.content


def test_a_key_without_read_contacts_cannot_read_people_through_a_write(two):
    """A key with write:contacts and no read:contacts is refused GET /contacts/ (403), but a
    PATCH with an empty body answers with the person (names, title, affiliations), so every
    person can be read by id; likewise POST with a known address answers 200 with them.
    (api/views_members.py ContactViewSet.update/_shown)"""
    client = client_with_key(key_for(scopes=["write:contacts"]))
    assert client.get(f"/api/v1/contacts/{two.bob.pk}/").status_code == 403
    response = client.patch(f"/api/v1/contacts/{two.bob.pk}/", {}, format="json")
    assert "Bob" not in response.content.decode()
    response = client.post(
        "/api/v1/contacts/", {"email": two.bob.email, "given_name": "X"}, format="json"
    )
    assert "Bob" not in response.content.decode()


# --- 3. Sync correctness ------------------------------------------------------------------------


def test_an_erasure_reaches_a_partners_mirror_of_signatures(two, api_convener):
    """A convener erases Bob (DELETE /api/v1/contacts/ID/ signed in). His signature stays,
    anonymised, but members/privacy.py person_erase rewrites it with QuerySet.update(), which
    leaves ``modified`` as it was: a partner's incremental pull neither lists the signature as
    changed nor as deleted, so its mirror keeps Bob's name, e-mail and phone for ever.
    (The same holds for Delivery rows and Interaction.contact.)"""
    signature = SignatureFactory(campaign=two.campaign, contact=two.bob, name="Bob Bridge")
    since = timezone.now()
    assert api_convener.delete(f"/api/v1/contacts/{two.bob.pk}/").status_code == 204
    client = client_with_key(key_for(scopes=ALL))
    body = client.get("/api/v1/signatures/", {"modified_since": since.isoformat()}).json()
    changed = {row["id"]: row for row in body["results"]}
    deleted = {row["id"] for row in body["deleted"]}
    assert signature.pk in changed or signature.pk in deleted, body
    if signature.pk in changed:
        assert changed[signature.pk]["email"] == ""


def test_a_person_who_leaves_a_bound_partners_organisation_is_listed_as_deleted(two):
    """Carol is in A and B. Her affiliation with A ends: partner A no longer reaches her (404),
    but its pull of contacts with modified_since neither lists her nor names her under
    ``deleted`` (her contact row was not deleted), so A's mirror keeps her name, e-mail and
    phone. (api/viewsets.py tombstones: only Tombstone rows count for a narrowed caller.)"""
    since = timezone.now()
    client = bound_to(two.a)
    two.carol_a.delete()
    assert client.get(f"/api/v1/contacts/{two.carol.pk}/").status_code == 404
    body = client.get("/api/v1/contacts/", {"modified_since": since.isoformat()}).json()
    assert two.carol.pk in {row["id"] for row in body["deleted"]}, body


def test_cursor_pages_ordered_by_modified_give_every_row_while_rows_change():
    """DRF's cursor keys on the first ordering field only and steps over ties by an offset. With
    ``ordering=modified`` and rows sharing a ``modified`` (any QuerySet.update(modified=now) in
    the services), a row of the first page changed while the partner pages shifts the offset:
    an unchanged row is skipped, and since it is older than the pull, never pulled again.
    (api/viewsets.py ordering_fields; api/pagination.py)"""
    organizations = [OrganizationFactory() for _ in range(5)]
    moment = timezone.now() - datetime.timedelta(hours=1)
    Organization.objects.update(modified=moment)
    client = client_with_key(key_for(scopes=ALL))
    first = client.get("/api/v1/organizations/", {"ordering": "modified", "page_size": 2}).json()
    seen = [row["id"] for row in first["results"]]
    changed = Organization.objects.get(pk=seen[0])
    changed.city = "Macon"
    changed.save()
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    missing = {o.pk for o in organizations} - set(seen)
    assert not missing, f"never served: {missing}"


def test_cursor_pages_ordered_by_a_name_give_every_row_while_rows_change(two):
    """The same with people sharing a given name (common): ordering=given_name, one person of
    the first page renamed while paging, and another John is never served."""
    johns = [ContactFactory(given_name="John") for _ in range(4)]
    client = client_with_key(key_for(scopes=ALL))
    first = client.get("/api/v1/contacts/", {"ordering": "given_name", "page_size": 4}).json()
    seen = [row["id"] for row in first["results"]]
    renamed = Contact.objects.get(pk=seen[-1])
    renamed.given_name = "Zed"
    renamed.save()
    url = first["next"]
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    everyone = {c.pk for c in johns} | {two.alice.pk, two.bob.pk, two.carol.pk}
    assert everyone <= set(seen), f"never served: {everyone - set(seen)}"


# --- 4. Webhooks --------------------------------------------------------------------------------


def test_a_bound_partner_hears_of_a_person_added_to_its_organisation(two, api_convener):
    """contact_add (and organization_contact_add, the editors' path) call contact_upsert, which
    emits contact.updated before the affiliation exists; api.webhooks._about then finds no
    organisation, so a partner bound to A is never told of a new person of A (and an unbound
    partner gets them with "affiliations": [])."""
    from api.models import WebhookDelivery
    from tests.api.webhook_helpers import partner_with_endpoint

    _partner, endpoint, _key = partner_with_endpoint(
        organization=two.a, events=["contact.updated"], name="Bound to A"
    )
    response = api_convener.post(
        "/api/v1/contacts/",
        {"email": "dora@harbor.example.org", "given_name": "Dora", "organization": two.a.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    payloads = [d.payload["data"] for d in WebhookDelivery.objects.filter(endpoint=endpoint)]
    assert [p["given_name"] for p in payloads] == ["Dora"]
    assert payloads[0]["affiliations"] != []


def test_a_webhook_is_not_sent_to_a_private_address_a_name_resolves_to_at_connect(
    settings, monkeypatch
):
    """_address_check resolves the endpoint's name and refuses private addresses, then requests
    resolves the name again to connect: a name whose DNS answers a public address the first time
    and 127.0.0.1 the next (DNS rebinding, TTL 0) gets the signed POST to the server's own
    network. (api/webhooks.py _post / _address_check)"""
    import socket

    from api.models import WebhookDelivery, WebhookEndpoint
    from api.webhooks import webhook_delivery_send
    from tests.api.webhook_helpers import Receiver, partner_with_endpoint

    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # to register; refused again below
    receiver = Receiver()
    try:
        _partner, endpoint, _key = partner_with_endpoint(
            url=f"http://rebind.example.org:{receiver.port}/ok"
        )
        settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
        real = socket.getaddrinfo
        # TEST-NET-3 (RFC 5737): public by the rule, routed nowhere; the send must go there
        # (and fail within the timeout), never to the second answer.
        settings.WEBHOOK_TIMEOUT = 1
        answers = iter(["203.0.113.7"])

        def rebinding(host, port, *args, **kwargs):
            if host == "rebind.example.org":
                address = next(answers, "127.0.0.1")
                return real(address, port, *args, **kwargs)
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        delivery = WebhookDelivery.objects.create(
            endpoint=WebhookEndpoint.objects.get(pk=endpoint.pk),
            event="contact.updated",
            payload={"data": {"email": "secret@example.org"}},
            next_attempt_at=timezone.now(),
        )
        webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
        assert receiver.requests == [], "the POST reached 127.0.0.1"
    finally:
        receiver.close()


def test_an_organisations_own_side_cannot_change_its_membership_status_or_dates(two):
    """The editors' profile form says "status, tags, notes and dates stay with conveners"
    (members/forms_account.py OrganizationProfileForm). Through the API the organisation's own
    editor, or a key bound to it, PATCHes status, joined_on and left_on, and they apply at once
    unless a convener happened to list them under "fields needing approval" (none by default):
    a prospect makes itself an active member (the default audience of every mailing).
    (api/views_members.py OrganizationViewSet.update, api/serializers_members.py)"""
    two.a.status = Organization.Status.PROSPECT
    two.a.save()
    client = APIClient()
    client.force_login(editor_of(two.a))
    response = client.patch(
        f"/api/v1/organizations/{two.a.pk}/",
        {"status": "active", "joined_on": "2001-01-01"},
        format="json",
    )
    two.a.refresh_from_db()
    assert two.a.status == Organization.Status.PROSPECT, response.json()
    assert two.a.joined_on is None
    bound = bound_to(two.a, scopes=["read:members", "write:members"])
    bound.patch(f"/api/v1/organizations/{two.a.pk}/", {"left_on": "2001-01-01"}, format="json")
    two.a.refresh_from_db()
    assert two.a.left_on is None


def test_the_osdi_signature_helper_does_not_hand_a_bound_partner_someone_elses_signature(two):
    """Bob signed (double opt-in, confirmed) with a message and B as his affiliation. A key
    bound to A, with write:signatures and read:campaigns, POSTs the record signature helper with
    Bob's address: the answer is Bob's existing signature as stored (processed at once, his
    pending change waiting for his confirmation): his earlier message and affiliation, and
    links to his person id and to B. /api/v1/signatures/ answers "the signature as submitted,
    not another org's view of the person's earlier one"; OSDI does not.
    (api/osdi/views.py PetitionSignaturesView.post, helpers.signature_record_helper)"""
    campaign = CampaignFactory(slug="housing-now", double_opt_in=True)
    SignatureFactory(
        campaign=campaign,
        contact=two.bob,
        email=two.bob.email,
        canonical_email=two.bob.email,
        organization=two.b,
        name="Bob Bridge",
        affiliation="Bridge Clinic",
        message="Private words for the coalition",
        processed_at=timezone.now(),
    )
    client = client_with_key(
        key_for(scopes=["write:signatures", "read:campaigns"], organization=two.a), osdi=True
    )
    response = client.post(
        f"/osdi/v1/petitions/{campaign.pk}/record_signature_helper",
        {"person": {"given_name": "Someone", "email_addresses": [{"address": two.bob.email}]}},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    text = response.content.decode()
    assert "Private words" not in text
    assert "Bridge Clinic" not in text
    assert f"organizations/{two.b.pk}" not in text


def test_a_partner_key_cannot_take_over_an_editors_sign_in_by_changing_their_address(two):
    """Sign-in links go to the contact's e-mail address (members/accounts.py sign_in_link_send
    renames the user to it). A coalition key with write:contacts PATCHes the address of A's
    editor to one it holds, asks the public sign-in page for a link, and signs in as A's editor
    (and signatory: signing campaigns on A's behalf). The web keeps people with a sign-in account
    out of others' hands (contact_editable_by); the API checks only the organisation.
    (api/views_members.py ContactViewSet.perform_update / _only_theirs)"""
    user = editor_of(two.a, email="editor@harbor.example.org")
    editor = Contact.objects.get(user=user)
    client = client_with_key(key_for(scopes=["write:contacts"]))
    client.patch(
        f"/api/v1/contacts/{editor.pk}/", {"email": "attacker@evil.example"}, format="json"
    )
    editor.refresh_from_db()
    assert editor.email == "editor@harbor.example.org"
