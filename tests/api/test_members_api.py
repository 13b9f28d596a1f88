"""The member directory through /api/v1/: tags, organisations, contacts, affiliations and
interactions. CRUD by scope, the one error shape, filters, search, ordering, incremental sync with
tombstones, what callers limited to their own organisation reach, and query counts."""

import datetime

import pytest
from django.utils import timezone

from campaigns.models import Signature
from members.models import (
    Affiliation,
    ApprovalRequiredField,
    Contact,
    Interaction,
    Organization,
    ProfileChange,
    Tag,
    Tombstone,
)
from members.services import interaction_record, tag_get_or_create
from tests.api.conftest import client_with_key, key_for
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SectorFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

READ = ["read:members", "read:contacts"]
WRITE = ["read:members", "write:members", "read:contacts", "write:contacts"]


def partner(scopes=WRITE, organization=None, name="Partner A"):
    return client_with_key(key_for(scopes=scopes, organization=organization, name=name))


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["results"])


def assert_error(response, status, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "code", "errors"}
    if field is not None:
        assert field in body["errors"], body
    return body


class World:
    """Two member organisations and their people: Alice in A, Bob in B, Carol in both."""

    def __init__(self):
        self.faith = SectorFactory(slug="faith-based", name="Faith-based")
        self.public = SectorFactory(slug="public-sector", name="Public sector")
        self.hosts = tag_get_or_create(name="Hosts trainings")
        self.a = OrganizationFactory(
            name="Harbor House", sector=self.faith, county="Fulton", city="Atlanta"
        )
        self.a.tags.add(self.hosts)
        self.b = OrganizationFactory(
            name="Bridge Clinic",
            sector=self.public,
            county="DeKalb",
            status=Organization.Status.PROSPECT,
            internal_notes="Slow to answer.",
            public_email="hello@bridge.example.org",
        )
        self.alice = ContactFactory(given_name="Alice", email="alice@harbor.example.org")
        self.bob = ContactFactory(given_name="Bob", email="bob@bridge.example.org", language="es")
        self.carol = ContactFactory(given_name="Carol", email="carol@example.org")
        self.alice_a = AffiliationFactory(contact=self.alice, organization=self.a)
        self.bob_b = AffiliationFactory(contact=self.bob, organization=self.b)
        self.carol_a = AffiliationFactory(
            contact=self.carol, organization=self.a, role=Affiliation.Role.STAFF
        )
        self.carol_b = AffiliationFactory(
            contact=self.carol, organization=self.b, role=Affiliation.Role.SIGNATORY
        )
        self.note_a = interaction_record(
            kind="call", text="Called about the training.", organization=self.a
        )
        self.note_b = interaction_record(
            kind="meeting", text="Met the director.", organization=self.b, contact=self.bob
        )
        self.campaign = CampaignFactory(slug="clean-air")
        # Bridge Clinic signed as an organisation; Alice signed for herself.
        SignatureFactory(campaign=self.campaign, contact=self.bob, on_behalf_of=self.b)
        SignatureFactory(campaign=self.campaign, contact=self.alice)


@pytest.fixture
def world():
    return World()


# --- Scopes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "read", "write"),
    [
        ("tags", "read:members", "write:members"),
        ("organizations", "read:members", "write:members"),
        ("contacts", "read:contacts", "write:contacts"),
        ("affiliations", "read:contacts", "write:contacts"),
        ("interactions", "read:contacts", "write:contacts"),
    ],
)
def test_each_resource_needs_its_scopes(world, path, read, write):
    others = [scope for scope in WRITE if scope not in (read, write)]
    without = partner(scopes=others)
    body = assert_error(without.get(f"/api/v1/{path}/"), 403)
    assert body["message"] == f"This needs the {read} scope."
    read_only = partner(scopes=[read], name="Reader")
    assert read_only.get(f"/api/v1/{path}/").status_code == 200
    body = assert_error(read_only.post(f"/api/v1/{path}/", {}, format="json"), 403)
    assert body["message"] == f"This needs the {write} scope."
    assert_error(read_only.delete(f"/api/v1/{path}/1/"), 403)


# --- Organisations -----------------------------------------------------------------------------


def test_a_partner_creates_changes_and_deletes_an_organisation(world):
    client = partner()
    response = client.post(
        "/api/v1/organizations/",
        {
            "name": "  Riverside Mosque ",
            "sector": "faith-based",
            "secondary_sectors": [world.public.pk],
            "tags": ["hosts-trainings"],
            "status": "active",
            "public_email": "info@riverside.example.org",
            "county": "Cobb",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    organization = Organization.objects.get(pk=body["id"])
    assert organization.name == "Riverside Mosque"
    assert organization.slug == body["slug"] == "riverside-mosque"
    assert organization.sector == world.faith
    assert list(organization.secondary_sectors.all()) == [world.public]
    assert list(organization.tags.all()) == [world.hosts]
    assert body["sector"] == world.faith.pk and body["tags"] == ["hosts-trainings"]
    assert "internal_notes" not in body

    response = client.patch(
        f"/api/v1/organizations/{organization.pk}/",
        {"status": "lapsed", "tags": [], "sector": world.public.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["pending_changes"] == []
    organization.refresh_from_db()
    assert organization.status == "lapsed" and organization.sector == world.public
    assert not organization.tags.exists()

    response = client.delete(f"/api/v1/organizations/{organization.pk}/")
    assert response.status_code == 204
    assert not Organization.objects.filter(pk=organization.pk).exists()
    tombstone = Tombstone.objects.get(model="members.organization", object_id=organization.pk)
    assert tombstone.organization_ids == [organization.pk]


def test_only_conveners_see_internal_notes(world, api_convener):
    path = f"/api/v1/organizations/{world.b.pk}/"
    assert "internal_notes" not in partner().get(path).json()
    assert api_convener.get(path).json()["internal_notes"] == "Slow to answer."
    response = api_convener.patch(path, {"internal_notes": "Answers now."}, format="json")
    assert response.status_code == 200
    world.b.refresh_from_db()
    assert world.b.internal_notes == "Answers now."


def test_an_organisations_public_email_is_public_data(world):
    body = partner(scopes=["read:members"]).get(f"/api/v1/organizations/{world.b.pk}/").json()
    assert body["public_email"] == "hello@bridge.example.org"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "sector": "no-such-sector"}, "sector"),
        ({"name": "X", "sector": 999999}, "sector"),
        ({"name": "X", "sector": {"slug": "faith-based"}}, "sector"),
        ({"name": "X", "sector": "faith-based", "public_email": "not an address"}, "public_email"),
        ({"name": "X", "sector": "faith-based", "status": "famous"}, "status"),
        ({"name": ["X"], "sector": "faith-based"}, "name"),
        ({"name": "X" * 201, "sector": "faith-based"}, "name"),
        (
            {"name": "X", "sector": "faith-based", "secondary_sectors": [10**30]},
            "secondary_sectors",
        ),
        ({"name": "X", "sector": "faith-based", "secondary_sectors": "1"}, "secondary_sectors"),
        ({"name": "X", "sector": "faith-based", "tags": ["no-such-tag"]}, "tags"),
        ({"name": "X", "sector": "faith-based", "joined_on": "yesterday"}, "joined_on"),
        ({"sector": "faith-based"}, "name"),
    ],
)
def test_invalid_organisations_are_400s_naming_the_field(world, payload, field):
    response = partner().post("/api/v1/organizations/", payload, format="json")
    body = assert_error(response, 400, field)
    assert body["code"] == "invalid"
    assert Organization.objects.count() == 2


def test_malformed_json_and_odd_addresses_are_not_500s(world):
    client = partner()
    response = client.post("/api/v1/organizations/", "{not json", content_type="application/json")
    assert_error(response, 400)
    response = client.post("/api/v1/organizations/", "[1, 2]", content_type="application/json")
    assert_error(response, 400)
    for path in ["99999999999999999999999", "-1", "abc", "1.5"]:
        assert_error(client.get(f"/api/v1/organizations/{path}/"), 404)
        assert_error(client.get(f"/api/v1/contacts/{path}/"), 404)


# --- Tags --------------------------------------------------------------------------------------


def test_tags_crud(world):
    client = partner()
    response = client.post("/api/v1/tags/", {"name": " 2021  signer "}, format="json")
    assert response.status_code == 201, response.content
    tag = Tag.objects.get(pk=response.json()["id"])
    assert tag.name == "2021 signer" and tag.slug == "2021-signer"
    # The same name in another case is the same tag.
    again = client.post("/api/v1/tags/", {"name": "2021 SIGNER"}, format="json")
    assert again.json()["id"] == tag.pk and Tag.objects.count() == 2
    response = client.patch(f"/api/v1/tags/{tag.pk}/", {"name": "Signed 2021"}, format="json")
    assert response.json()["name"] == "Signed 2021"
    assert response.json()["slug"] == "2021-signer"  # partners filter by it: it stays
    assert_error(client.patch(f"/api/v1/tags/{tag.pk}/", {"name": "   "}, format="json"), 400)
    assert_error(
        client.patch(f"/api/v1/tags/{tag.pk}/", {"name": "Hosts trainings"}, format="json"),
        400,
        "name",
    )
    assert client.delete(f"/api/v1/tags/{tag.pk}/").status_code == 204
    assert not Tag.objects.filter(pk=tag.pk).exists()
    assert Tombstone.objects.filter(model="members.tag", object_id=tag.pk).exists()


def test_an_organisations_own_side_does_not_change_tags(world, editor_client):
    bound = partner(organization=world.a)
    for client in (bound, editor_client(world.a)):
        assert_error(client.post("/api/v1/tags/", {"name": "Ours"}, format="json"), 403)
        assert_error(client.delete(f"/api/v1/tags/{world.hosts.pk}/"), 403)
        assert ids(client.get("/api/v1/tags/")) == [world.hosts.pk]
    response = bound.patch(f"/api/v1/organizations/{world.a.pk}/", {"tags": []}, format="json")
    assert_error(response, 400, "tags")
    assert world.a.tags.count() == 1


# --- Contacts ----------------------------------------------------------------------------------


def test_a_partner_creates_finds_changes_and_deletes_a_contact(world):
    client = partner()
    response = client.post(
        "/api/v1/contacts/",
        {
            "given_name": "Dina",
            "family_name": "Diaz",
            "email": " Dina@Example.org ",
            "phone": "+14045550123",
            "organization": world.a.pk,
            "role": "primary",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    dina = Contact.objects.get(pk=body["id"])
    assert dina.email == body["email"] == "dina@example.org"
    assert body["affiliations"] == [
        {"id": dina.affiliations.get().pk, "organization": world.a.pk, "role": "primary"}
    ]
    # The same address again is the same person: kept, only empty fields filled in.
    response = client.post(
        "/api/v1/contacts/",
        {"given_name": "Someone", "email": "DINA@example.org", "title": "Director"},
        format="json",
    )
    assert response.status_code == 200
    dina.refresh_from_db()
    assert (response.json()["id"], dina.given_name, dina.title) == (dina.pk, "Dina", "Director")

    response = client.patch(
        f"/api/v1/contacts/{dina.pk}/", {"given_name": "Dinah", "language": "es"}, format="json"
    )
    assert response.status_code == 200, response.content
    dina.refresh_from_db()
    assert (dina.given_name, dina.language) == ("Dinah", "es")
    assert_error(
        client.patch(f"/api/v1/contacts/{dina.pk}/", {"email": world.bob.email}, format="json"),
        400,
    )

    note = interaction_record(
        kind="note", text="Spoke with Dina.", organization=world.a, contact=dina
    )
    private = interaction_record(kind="note", text="About Dina only.", contact=dina)
    response = client.delete(f"/api/v1/contacts/{dina.pk}/")
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=dina.pk).exists()
    note.refresh_from_db()
    assert note.contact is None  # the organisation's timeline keeps the entry
    assert not Interaction.objects.filter(pk=private.pk).exists()
    tombstone = Tombstone.objects.get(model="members.contact", object_id=dina.pk)
    assert tombstone.organization_ids == [world.a.pk]


def test_a_convener_deleting_a_contact_erases_them(world, api_convener):
    response = api_convener.delete(f"/api/v1/contacts/{world.alice.pk}/")
    assert response.status_code == 204, response.content
    assert not Contact.objects.filter(pk=world.alice.pk).exists()
    signature = Signature.objects.get(campaign=world.campaign, on_behalf_of=None)
    assert signature.email == "" and signature.name == "Erased signer"
    tombstone = Tombstone.objects.get(model="members.contact", object_id=world.alice.pk)
    assert tombstone.organization_ids == [world.a.pk]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"given_name": "X", "email": "not-an-address"}, "email"),
        ({"given_name": "X"}, "email"),
        ({"email": "x@example.org"}, "given_name"),
        ({"given_name": "X", "email": "x@example.org", "language": "fr"}, "language"),
        ({"given_name": "X", "email": "x@example.org", "email_status": 3}, "email_status"),
        ({"given_name": "X", "email": "x@example.org", "organization": 10**30}, "organization"),
        ({"given_name": "X", "email": "x@example.org", "organization": "a"}, "organization"),
        ({"given_name": "X", "email": "x@example.org", "organization": True}, "organization"),
        ({"given_name": "X", "email": "x@example.org", "role": "boss"}, "role"),
    ],
)
def test_invalid_contacts_are_400s_naming_the_field(world, payload, field):
    assert_error(partner().post("/api/v1/contacts/", payload, format="json"), 400, field)
    assert Contact.objects.count() == 3


def test_a_key_that_writes_people_but_cannot_read_them_gets_no_addresses_back(world):
    client = partner(scopes=["write:contacts"])
    response = client.post(
        "/api/v1/contacts/",
        {"given_name": "Bob", "email": world.bob.email, "phone": "+14045550100"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == world.bob.pk
    assert not {"email", "phone", "phone_raw"} & set(body)


# --- Affiliations and interactions -------------------------------------------------------------


def test_affiliations_crud(world):
    client = partner()
    payload = {"contact": world.bob.pk, "organization": world.a.pk, "role": "staff"}
    response = client.post("/api/v1/affiliations/", payload, format="json")
    assert response.status_code == 201, response.content
    affiliation = Affiliation.objects.get(pk=response.json()["id"])
    again = client.post("/api/v1/affiliations/", payload, format="json")
    assert again.json()["id"] == affiliation.pk  # the role the person already has
    response = client.patch(
        f"/api/v1/affiliations/{affiliation.pk}/", {"role": "editor"}, format="json"
    )
    assert response.json()["role"] == "editor"
    affiliation.refresh_from_db()
    assert affiliation.role == "editor"
    assert_error(
        client.patch(
            f"/api/v1/affiliations/{affiliation.pk}/", {"organization": world.b.pk}, format="json"
        ),
        400,
        "organization",
    )
    assert_error(
        client.patch(f"/api/v1/affiliations/{affiliation.pk}/", {"role": "boss"}, format="json"),
        400,
        "role",
    )
    assert_error(
        client.post("/api/v1/affiliations/", {**payload, "contact": 999999}, format="json"),
        400,
        "contact",
    )
    assert client.delete(f"/api/v1/affiliations/{affiliation.pk}/").status_code == 204
    assert not Affiliation.objects.filter(pk=affiliation.pk).exists()
    tombstone = Tombstone.objects.get(model="members.affiliation", object_id=affiliation.pk)
    assert tombstone.organization_ids == [world.a.pk]


def test_interactions_crud(world, api_convener):
    client = partner()
    response = client.post(
        "/api/v1/interactions/",
        {
            "kind": "meeting",
            "organization": world.a.pk,
            "contact": world.alice.pk,
            "subject": "Training",
            "text": "Planned the spring training.",
            "occurred_at": "2026-03-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    interaction = Interaction.objects.get(pk=response.json()["id"])
    assert interaction.occurred_at == datetime.datetime(2026, 3, 1, 10, tzinfo=datetime.UTC)
    assert interaction.author is None
    response = client.patch(
        f"/api/v1/interactions/{interaction.pk}/", {"text": "Planned it."}, format="json"
    )
    assert response.json()["text"] == "Planned it."
    assert_error(
        client.patch(
            f"/api/v1/interactions/{interaction.pk}/",
            {"organization": None, "contact": None},
            format="json",
        ),
        400,
        "organization",
    )
    assert_error(
        client.post("/api/v1/interactions/", {"kind": "note", "text": "Orphan"}, format="json"),
        400,
        "organization",
    )
    assert_error(
        client.post(
            "/api/v1/interactions/",
            {"kind": "gossip", "text": "x", "organization": world.a.pk},
            format="json",
        ),
        400,
        "kind",
    )
    by_convener = api_convener.post(
        "/api/v1/interactions/",
        {"kind": "note", "text": "Mine.", "organization": world.b.pk},
        format="json",
    )
    assert Interaction.objects.get(pk=by_convener.json()["id"]).author is not None
    assert client.delete(f"/api/v1/interactions/{interaction.pk}/").status_code == 204
    tombstone = Tombstone.objects.get(model="members.interaction", object_id=interaction.pk)
    assert tombstone.organization_ids == [world.a.pk]


# --- Filters, search, ordering -----------------------------------------------------------------


def test_organisation_filters(world):
    client = partner(scopes=READ)
    a, b = world.a.pk, world.b.pk
    for query, expected in [
        ("sector=faith-based", [a]),
        (f"sector={world.public.pk}", [b]),
        ("status=prospect", [b]),
        ("county=dekalb", [b]),
        ("tag=hosts-trainings", [a]),
        ("signed=clean-air", [b]),
        ("not_signed=clean-air", [a]),
        ("listed=true", [a, b]),
        ("search=harbor", [a]),
        ("search=atlanta", [a]),
    ]:
        assert ids(client.get(f"/api/v1/organizations/?{query}")) == expected, query
    for query, field in [
        ("sector=nothing", "sector"),
        ("status=famous", "status"),
        ("tag=nothing", "tag"),
        ("signed=no-such-campaign", "signed"),
        ("modified_since=last-week", "modified_since"),
        ("created_since=2026-13-45", "created_since"),
    ]:
        assert_error(client.get(f"/api/v1/organizations/?{query}"), 400, field)


def test_contact_filters(world):
    client = partner(scopes=READ)
    alice, bob, carol = world.alice.pk, world.bob.pk, world.carol.pk
    for query, expected in [
        (f"organization={world.a.pk}", [alice, carol]),
        (f"organization={world.b.pk}", [bob, carol]),
        ("organization=999999", []),
        ("tag=hosts-trainings", [alice, carol]),
        ("email=ALICE@Harbor.example.org", [alice]),
        ("language=es", [bob]),
        ("email_status=subscribed", [alice, bob, carol]),
        ("signed=clean-air", [alice, bob]),
        ("not_signed=clean-air", [carol]),
        ("search=carol", [carol]),
    ]:
        assert ids(client.get(f"/api/v1/contacts/?{query}")) == expected, query
    for query, field in [
        ("organization=abc", "organization"),
        (f"organization={10**30}", "organization"),
        ("language=fr", "language"),
        ("email_status=happy", "email_status"),
    ]:
        assert_error(client.get(f"/api/v1/contacts/?{query}"), 400, field)


def test_affiliation_and_interaction_filters(world):
    client = partner(scopes=READ)
    for query, expected in [
        (f"contact={world.carol.pk}", [world.carol_a.pk, world.carol_b.pk]),
        (f"organization={world.b.pk}", [world.bob_b.pk, world.carol_b.pk]),
        ("role=signatory", [world.carol_b.pk]),
        ("search=bridge", [world.bob_b.pk, world.carol_b.pk]),
    ]:
        assert ids(client.get(f"/api/v1/affiliations/?{query}")) == expected, query
    Interaction.objects.filter(pk=world.note_a.pk).update(
        occurred_at=timezone.now() - datetime.timedelta(days=30)
    )
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat().replace("+", "%2B")
    for query, expected in [
        (f"organization={world.a.pk}", [world.note_a.pk]),
        (f"contact={world.bob.pk}", [world.note_b.pk]),
        ("kind=call", [world.note_a.pk]),
        (f"occurred_since={since}", [world.note_b.pk]),
        ("search=director", [world.note_b.pk]),
    ]:
        assert ids(client.get(f"/api/v1/interactions/?{query}")) == expected, query
    assert_error(client.get("/api/v1/interactions/?kind=gossip"), 400, "kind")


def test_ordering(world):
    client = partner(scopes=READ)
    names = [
        row["name"] for row in client.get("/api/v1/organizations/?ordering=name").json()["results"]
    ]
    assert names == ["Bridge Clinic", "Harbor House"]
    names = [
        row["name"] for row in client.get("/api/v1/organizations/?ordering=-name").json()["results"]
    ]
    assert names == ["Harbor House", "Bridge Clinic"]
    people = client.get("/api/v1/contacts/?ordering=-given_name").json()["results"]
    assert [row["given_name"] for row in people] == ["Carol", "Bob", "Alice"]
    notes = client.get("/api/v1/interactions/?ordering=-id").json()["results"]
    assert [row["id"] for row in notes] == [world.note_b.pk, world.note_a.pk]


# --- Incremental sync --------------------------------------------------------------------------


def test_modified_since_gives_changes_and_deletions_on_the_first_page_only(world):
    client = partner()
    since = timezone.now()
    Organization.objects.filter(pk=world.a.pk).update(
        modified=since + datetime.timedelta(seconds=1)
    )
    doomed = OrganizationFactory(sector=world.faith)
    more = [OrganizationFactory(sector=world.faith) for _ in range(2)]
    doomed_id = doomed.pk
    client.delete(f"/api/v1/organizations/{doomed_id}/")
    query = f"modified_since={since.isoformat().replace('+', '%2B')}&page_size=2"
    first = client.get(f"/api/v1/organizations/?{query}").json()
    assert [row["id"] for row in first["results"]] == [world.a.pk, more[0].pk]
    assert [row["id"] for row in first["deleted"]] == [doomed_id]
    second = client.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [more[1].pk]
    assert "deleted" not in second
    assert "deleted" not in client.get("/api/v1/organizations/").json()


def test_a_restricted_caller_learns_only_of_its_own_deletions(world):
    since = timezone.now().isoformat().replace("+", "%2B")
    carol, bob = world.carol.pk, world.bob.pk
    alice_a, bob_b, note_a, note_b = (
        world.alice_a.pk,
        world.bob_b.pk,
        world.note_a.pk,
        world.note_b.pk,
    )
    world.bob.delete()  # Bridge Clinic's person, with his affiliation and note
    world.note_a.delete()
    world.carol.delete()  # in both organisations
    world.alice_a.delete()
    bound = partner(organization=world.a, scopes=READ)
    everyone = partner(scopes=READ, name="Partner B")

    def deleted(client, path):
        response = client.get(f"/api/v1/{path}/?modified_since={since}")
        assert response.status_code == 200, response.content
        return sorted(row["id"] for row in response.json()["deleted"])

    # Alice left A (her affiliation deleted; she stays in the directory): gone for A too.
    assert deleted(bound, "contacts") == sorted([world.alice.pk, carol])
    assert deleted(everyone, "contacts") == sorted([bob, carol])
    assert deleted(bound, "affiliations") == sorted([alice_a, world.carol_a.pk])
    assert deleted(everyone, "affiliations") == sorted(
        [alice_a, bob_b, world.carol_a.pk, world.carol_b.pk]
    )
    assert deleted(bound, "interactions") == [note_a]
    assert deleted(everyone, "interactions") == sorted([note_a, note_b])
    Organization.objects.get(pk=world.b.pk).delete()
    assert deleted(bound, "organizations") == []
    assert deleted(everyone, "organizations") == [world.b.pk]


def test_tombstones_of_campaigns_signatures_toolkits_and_mailings(world):
    from mailings.models import Mailing
    from tests.factories import MailingFactory
    from toolkits.models import Toolkit

    signature = Signature.objects.get(on_behalf_of=world.b)
    signature.delete()
    assert Tombstone.objects.get(model="campaigns.signature").organization_ids == [world.b.pk]
    mailing = MailingFactory()
    mailing_id = mailing.pk
    mailing.delete()
    assert Tombstone.objects.filter(model="mailings.mailing", object_id=mailing_id).exists()
    toolkit = Toolkit.objects.create(campaign=world.campaign, title="Kit", slug="kit")
    toolkit_id = toolkit.pk
    toolkit.delete()
    assert Tombstone.objects.filter(model="toolkits.toolkit", object_id=toolkit_id).exists()
    campaign_id = world.campaign.pk
    assert not Mailing.objects.exists()
    world.campaign.delete()
    assert Tombstone.objects.filter(model="campaigns.campaign", object_id=campaign_id).exists()
    assert Tombstone.objects.filter(model="campaigns.signature").count() == 2
    assert not Tombstone.objects.filter(model="mailings.delivery").exists()


# --- Callers limited to their own organisation -------------------------------------------------


@pytest.fixture
def limited(world, editor_client):
    """An editor of A (signed in) and a partner's key bound to A."""
    return {
        "editor": editor_client(world.a),
        "bound": partner(organization=world.a, name="Harbor's CRM"),
    }


@pytest.mark.parametrize("who", ["editor", "bound"])
def test_a_restricted_caller_sees_its_organisation_and_its_people_only(world, limited, who):
    client = limited[who]
    assert ids(client.get("/api/v1/organizations/")) == [world.a.pk]
    assert ids(client.get("/api/v1/organizations/?status=prospect")) == []
    assert_error(client.get(f"/api/v1/organizations/{world.b.pk}/"), 404)
    people = client.get("/api/v1/contacts/").json()["results"]
    editor = Contact.objects.filter(user__isnull=False).values_list("pk", flat=True)
    assert sorted(row["id"] for row in people) == sorted([world.alice.pk, world.carol.pk, *editor])
    carol = next(row for row in people if row["id"] == world.carol.pk)
    assert [row["organization"] for row in carol["affiliations"]] == [world.a.pk]
    assert_error(client.get(f"/api/v1/contacts/{world.bob.pk}/"), 404)
    affiliations = client.get("/api/v1/affiliations/").json()["results"]
    assert {row["organization"] for row in affiliations} == {world.a.pk}
    assert_error(client.get(f"/api/v1/affiliations/{world.bob_b.pk}/"), 404)
    assert ids(client.get("/api/v1/interactions/")) == [world.note_a.pk]
    assert_error(client.get(f"/api/v1/interactions/{world.note_b.pk}/"), 404)
    # Carol is in B too, but A is not told so: filtered by B, A's people are nobody.
    assert ids(client.get(f"/api/v1/contacts/?organization={world.b.pk}")) == []
    assert ids(client.get(f"/api/v1/contacts/?organization={world.a.pk}")) == sorted(
        [world.alice.pk, world.carol.pk, *editor]
    )


@pytest.mark.parametrize("who", ["editor", "bound"])
def test_a_restricted_caller_changes_its_organisation_only(world, limited, who):
    client = limited[who]
    ApprovalRequiredField.objects.create(field="name")
    response = client.patch(
        f"/api/v1/organizations/{world.a.pk}/",
        {"city": "Decatur", "name": "Harbor House Inc."},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["city"] == "Decatur" and body["name"] == "Harbor House"
    assert body["pending_changes"] == [
        {"field": "name", "new_value": "Harbor House Inc.", "status": "pending"}
    ]
    world.a.refresh_from_db()
    assert (world.a.city, world.a.name) == ("Decatur", "Harbor House")
    change = ProfileChange.objects.get(organization=world.a)
    assert (change.field, change.new_value) == ("name", "Harbor House Inc.")

    assert_error(
        client.patch(f"/api/v1/organizations/{world.b.pk}/", {"city": "X"}, format="json"), 404
    )
    assert_error(client.delete(f"/api/v1/organizations/{world.b.pk}/"), 404)
    assert_error(client.delete(f"/api/v1/organizations/{world.a.pk}/"), 403)
    assert_error(
        client.post(
            "/api/v1/organizations/", {"name": "New", "sector": "faith-based"}, format="json"
        ),
        403,
    )
    world.b.refresh_from_db()
    assert world.b.city == "" and Organization.objects.count() == 2


def test_an_editor_cannot_write_people(world, limited):
    client = limited["editor"]
    assert_error(
        client.post("/api/v1/contacts/", {"given_name": "X", "email": "x@example.org"}), 403
    )
    assert_error(client.delete(f"/api/v1/affiliations/{world.alice_a.pk}/"), 403)


def test_a_bound_partner_writes_its_own_people_only(world, limited):
    client = limited["bound"]
    response = client.post(
        "/api/v1/contacts/", {"given_name": "Dina", "email": "dina@example.org"}, format="json"
    )
    assert_error(response, 400, "organization")
    response = client.post(
        "/api/v1/contacts/",
        {"given_name": "Dina", "email": "dina@example.org", "organization": world.a.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    dina = Contact.objects.get(email="dina@example.org")
    assert dina.affiliations.get().organization == world.a
    # Bob is held by the directory outside A: the partner cannot attach him (nor learn of him).
    response = client.post(
        "/api/v1/contacts/",
        {"given_name": "Bob", "email": world.bob.email, "organization": world.a.pk},
        format="json",
    )
    assert_error(response, 400, "email")
    assert not world.bob.affiliations.filter(organization=world.a).exists()
    response = client.post(
        "/api/v1/contacts/",
        {"given_name": "X", "email": "x@example.org", "organization": world.b.pk},
        format="json",
    )
    assert_error(response, 400, "organization")
    # Carol is in B too: A's partner does not rewrite her.
    assert_error(
        client.patch(f"/api/v1/contacts/{world.carol.pk}/", {"given_name": "C"}, format="json"),
        403,
    )
    assert_error(client.delete(f"/api/v1/contacts/{world.carol.pk}/"), 403)
    assert (
        client.patch(f"/api/v1/contacts/{dina.pk}/", {"title": "Chair"}, format="json").json()[
            "title"
        ]
        == "Chair"
    )
    # Affiliations and interactions: in A only, with A's people only.
    response = client.post(
        "/api/v1/affiliations/",
        {"contact": world.bob.pk, "organization": world.a.pk, "role": "staff"},
        format="json",
    )
    assert_error(response, 400, "contact")
    response = client.post(
        "/api/v1/affiliations/",
        {"contact": world.alice.pk, "organization": world.b.pk, "role": "staff"},
        format="json",
    )
    assert_error(response, 400, "organization")
    response = client.post(
        "/api/v1/interactions/", {"kind": "note", "text": "x", "contact": dina.pk}, format="json"
    )
    assert_error(response, 400, "organization")
    response = client.post(
        "/api/v1/interactions/",
        {"kind": "note", "text": "Welcome call.", "organization": world.a.pk, "contact": dina.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert_error(client.delete(f"/api/v1/interactions/{world.note_b.pk}/"), 404)
    assert client.delete(f"/api/v1/contacts/{dina.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=dina.pk).exists()


# --- Query counts ------------------------------------------------------------------------------


def _rows(path, n):
    sector = SectorFactory(slug="faith-based")
    tags = [tag_get_or_create(name=f"Tag {i}") for i in range(2)]
    for i in range(n):
        if path == "tags":
            tag_get_or_create(name=f"Label {i}")
            continue
        organization = OrganizationFactory(sector=sector)
        organization.tags.add(*tags)
        organization.secondary_sectors.add(sector)
        contact = ContactFactory()
        AffiliationFactory(contact=contact, organization=organization)
        AffiliationFactory(contact=contact, organization=organization, role="staff")
        interaction_record(kind="note", text="x", organization=organization, contact=contact)


# Each: the key, its last_used stamp, the page, and the page's related rows.
@pytest.mark.parametrize(
    ("path", "queries"),
    [
        ("tags", 3),
        ("organizations", 5),  # + the page's tags, + its secondary sectors
        ("contacts", 4),  # + the page's affiliations
        ("affiliations", 3),
        ("interactions", 3),
    ],
)
@pytest.mark.parametrize("n", [1, 100])
def test_every_list_runs_a_constant_number_of_queries(path, queries, n, django_assert_num_queries):
    _rows(path, n)
    client = partner()
    with django_assert_num_queries(queries):
        response = client.get(f"/api/v1/{path}/?page_size=500")
    results = response.json()["results"]
    assert len(results) >= n


@pytest.mark.parametrize("n", [1, 100])
def test_a_restricted_list_runs_a_constant_number_of_queries(n, django_assert_num_queries):
    _rows("contacts", n)
    organization = Organization.objects.first()
    for contact in Contact.objects.all():
        AffiliationFactory(contact=contact, organization=organization, role="signatory")
    client = partner(organization=organization)
    # The key, its stamp, the page, its affiliations (in the partner's organisation) and the
    # deletions the partner may learn of.
    with django_assert_num_queries(5):
        response = client.get("/api/v1/contacts/?page_size=500&modified_since=2020-01-01T00:00Z")
    assert len(response.json()["results"]) == n


def test_a_restricted_caller_may_put_back_what_it_read(world, limited):
    client = limited["bound"]
    body = client.get(f"/api/v1/organizations/{world.a.pk}/").json()
    body["city"] = "Marietta"
    response = client.put(f"/api/v1/organizations/{world.a.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["hosts-trainings"]
    world.a.refresh_from_db()
    assert world.a.city == "Marietta"


def test_a_bound_partner_does_not_remove_its_organisations_only_editor(world, limited):
    client = limited["bound"]
    editor = Affiliation.objects.get(organization=world.a, role=Affiliation.Role.EDITOR)
    body = assert_error(client.delete(f"/api/v1/affiliations/{editor.pk}/"), 400)
    assert "only profile editor" in body["message"]
    assert Affiliation.objects.filter(pk=editor.pk).exists()
    assert client.delete(f"/api/v1/affiliations/{world.alice_a.pk}/").status_code == 204


def test_sector_deletions_reach_every_caller(world, limited):
    since = timezone.now().isoformat().replace("+", "%2B")
    unused = SectorFactory(slug="unused")
    unused_id = unused.pk
    unused.delete()
    for client in (limited["bound"], partner(scopes=["read:members"], name="Reader")):
        body = client.get(f"/api/v1/sectors/?modified_since={since}").json()
        assert [row["id"] for row in body["deleted"]] == [unused_id]


@pytest.mark.parametrize("value", ["²", "١٢", "0", "-3", " ", "9" * 40, "\x00"])
def test_odd_sector_ids_and_slugs_are_400s(world, value):
    client = partner()
    assert_error(client.get("/api/v1/organizations/", {"sector": value}), 400, "sector")
    response = client.post("/api/v1/organizations/", {"name": "X", "sector": value}, format="json")
    assert_error(response, 400, "sector")
    response = client.post(
        "/api/v1/contacts/",
        {"given_name": "X", "email": "x@example.org", "organization": value},
        format="json",
    )
    assert_error(response, 400, "organization")


# --- Review of issue 6: findings fixed here ----------------------------------------------------


def _stale(model, *rows):
    """Stamps rows as last changed an hour ago, so a change now stands out."""
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    model.objects.filter(pk__in=[row.pk for row in rows]).update(modified=an_hour_ago)
    return an_hour_ago


@pytest.mark.parametrize("who", ["editor", "bound"])
@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "active"), ("joined_on", "2001-01-01"), ("left_on", "2001-01-01")],
)
def test_the_organisations_own_side_does_not_set_its_membership(world, limited, who, field, value):
    world.a.status = Organization.Status.PROSPECT
    world.a.save()
    client = limited[who]
    response = client.patch(
        f"/api/v1/organizations/{world.a.pk}/", {field: value, "city": "Decatur"}, format="json"
    )
    body = assert_error(response, 400, field)
    assert "convener" in body["errors"][field][0]
    world.a.refresh_from_db()
    assert (world.a.status, world.a.joined_on, world.a.left_on, world.a.city) == (
        "prospect",
        None,
        None,
        "Atlanta",
    )
    assert not ProfileChange.objects.exists()
    # The current value is no change: a PUT of what was read goes through.
    current = client.get(f"/api/v1/organizations/{world.a.pk}/").json()[field]
    response = client.patch(
        f"/api/v1/organizations/{world.a.pk}/", {field: current, "city": "Decatur"}, format="json"
    )
    assert response.status_code == 200, response.content
    world.a.refresh_from_db()
    assert world.a.city == "Decatur"


def test_the_coalition_sets_membership(world, api_convener):
    for client in (api_convener, partner()):
        response = client.patch(
            f"/api/v1/organizations/{world.b.pk}/",
            {"status": "active", "joined_on": "2024-05-01"},
            format="json",
        )
        assert response.status_code == 200, response.content
        world.b.refresh_from_db()
        assert (world.b.status, str(world.b.joined_on)) == ("active", "2024-05-01")
        world.b.status = Organization.Status.PROSPECT
        world.b.save()


def test_the_schema_says_who_sets_membership(api_convener):
    schema = api_convener.get("/api/schema/?format=json").json()
    organization = schema["components"]["schemas"]["Organization"]["properties"]
    for field in ("status", "joined_on", "left_on"):
        assert "conveners" in organization[field]["description"], field


def test_a_bound_partners_filters_look_at_its_own_organisation_only(world):
    """Carol signed for B and is in B (tagged); A sees her role in A only, and filters on it."""
    housing = CampaignFactory(slug="housing")
    signature = SignatureFactory(campaign=housing, contact=world.carol, on_behalf_of=world.b)
    world.b.tags.add(tag_get_or_create(name="Clinics"))
    client = partner(organization=world.a, scopes=READ)
    alice, carol = world.alice.pk, world.carol.pk
    for query, expected in [
        (f"organization={world.a.pk}", [alice, carol]),
        (f"organization={world.b.pk}", []),
        ("tag=hosts-trainings", [alice, carol]),
        ("tag=clinics", []),
        ("signed=housing", []),
        ("not_signed=housing", [alice, carol]),
        # Alice's own signature is matched to no organisation: not A's to know of.
        ("signed=clean-air", []),
    ]:
        assert ids(client.get(f"/api/v1/contacts/?{query}")) == expected, query
    # A signature given on A's behalf (or matched to A) is A's to know of.
    signature.on_behalf_of = world.a
    signature.save()
    assert ids(client.get("/api/v1/contacts/?signed=housing")) == [carol]
    assert ids(client.get("/api/v1/contacts/?not_signed=housing")) == [alice]
    # Callers not limited to an organisation filter on everything, as before.
    everyone = partner(scopes=READ, name="Partner B")
    assert ids(everyone.get("/api/v1/contacts/?tag=clinics")) == [world.bob.pk, carol]
    assert ids(everyone.get("/api/v1/contacts/?signed=clean-air")) == [alice, world.bob.pk]


@pytest.mark.parametrize("path", ["contacts", "organizations"])
@pytest.mark.parametrize("name", ["signed", "not_signed"])
def test_a_draft_campaign_is_an_unknown_slug_to_all_but_conveners(world, api_convener, path, name):
    from campaigns.models import Campaign

    CampaignFactory(slug="secret-plan", status=Campaign.Status.DRAFT)
    for client in (partner(), partner(organization=world.a, name="Bound")):
        draft = client.get(f"/api/v1/{path}/", {name: "secret-plan"})
        unknown = client.get(f"/api/v1/{path}/", {name: "no-such-plan"})
        assert_error(draft, 400, name)
        assert draft.json()["errors"][name] == [
            message.replace("no-such-plan", "secret-plan")
            for message in unknown.json()["errors"][name]
        ]
    assert api_convener.get(f"/api/v1/{path}/", {name: "secret-plan"}).status_code == 200


def test_a_key_that_writes_people_but_cannot_read_them_gets_ids_only(world):
    client = partner(scopes=["write:contacts"])
    response = client.patch(f"/api/v1/contacts/{world.bob.pk}/", {"title": "Nurse"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"id": world.bob.pk}
    world.bob.refresh_from_db()
    assert world.bob.title == "Nurse"
    response = client.post(
        "/api/v1/contacts/", {"given_name": "Nina", "email": "nina@example.org"}, format="json"
    )
    assert response.status_code == 201
    assert response.json() == {"id": Contact.objects.get(email="nina@example.org").pk}
    response = client.patch(f"/api/v1/interactions/{world.note_b.pk}/", {}, format="json")
    assert response.json() == {"id": world.note_b.pk}
    response = client.post(
        "/api/v1/affiliations/",
        {"contact": world.bob.pk, "organization": world.a.pk, "role": "staff"},
        format="json",
    )
    assert set(response.json()) == {"id"}
    # With read:contacts too, the person as the list shows them.
    reader = partner(scopes=["read:contacts", "write:contacts"], name="Reader")
    response = reader.patch(f"/api/v1/contacts/{world.bob.pk}/", {}, format="json")
    assert response.json()["given_name"] == "Bob"


def test_a_change_of_nothing_changes_nothing(world, api_convener):
    from api.models import WebhookDelivery
    from tests.api.webhook_helpers import partner_with_endpoint

    partner_with_endpoint(events=["contact.updated", "organization.updated"], name="Hook")
    bob_before = _stale(Contact, world.bob)
    b_before = _stale(Organization, world.b)
    client = partner(scopes=["write:contacts", "write:members"])
    for body in ({}, {"given_name": "Bob", "email": world.bob.email.upper(), "language": "es"}):
        response = client.patch(f"/api/v1/contacts/{world.bob.pk}/", body, format="json")
        assert response.status_code == 200, response.content
    for body in ({}, {"city": world.b.city, "status": world.b.status}):
        response = api_convener.patch(f"/api/v1/organizations/{world.b.pk}/", body, format="json")
        assert response.status_code == 200, response.content
    world.bob.refresh_from_db()
    world.b.refresh_from_db()
    assert (world.bob.modified, world.b.modified) == (bob_before, b_before)
    assert not WebhookDelivery.objects.exists()


def test_only_a_convener_changes_the_address_someone_signs_in_with(world, api_convener):
    from tests.api.conftest import editor_of

    editor = Contact.objects.get(user=editor_of(world.a, email="eda@harbor.example.org"))
    for client in (partner(), partner(organization=world.a, name="Bound")):
        response = client.patch(
            f"/api/v1/contacts/{editor.pk}/", {"email": "mine@evil.example"}, format="json"
        )
        body = assert_error(response, 400, "email")
        assert "only a convener" in body["errors"]["email"][0]
        # Their other details, and their address as it is (any case), are not refused.
        response = client.patch(
            f"/api/v1/contacts/{editor.pk}/",
            {"email": "EDA@harbor.example.org", "title": "Director"},
            format="json",
        )
        assert response.status_code == 200, response.content
    editor.refresh_from_db()
    assert (editor.email, editor.title) == ("eda@harbor.example.org", "Director")
    response = api_convener.patch(
        f"/api/v1/contacts/{editor.pk}/", {"email": "eda@newharbor.example.org"}, format="json"
    )
    assert response.status_code == 200, response.content
    editor.refresh_from_db()
    assert editor.email == "eda@newharbor.example.org"


def test_a_key_deleting_a_person_stamps_their_signatures_and_deliveries(world):
    from mailings.models import Delivery
    from tests.factories import MailingFactory

    signature = Signature.objects.get(contact=world.alice)
    delivery = Delivery.objects.create(
        mailing=MailingFactory(), contact=world.alice, email=world.alice.email
    )
    before = _stale(Signature, signature)
    _stale(Delivery, delivery)
    assert partner().delete(f"/api/v1/contacts/{world.alice.pk}/").status_code == 204
    signature.refresh_from_db()
    delivery.refresh_from_db()
    assert signature.contact is None and signature.modified > before
    assert delivery.contact is None and delivery.modified > before
    assert signature.email == world.alice.email  # a key removes the entry, it does not erase


def test_an_erasure_stamps_every_row_it_rewrites(world, api_convener):
    from mailings.models import Delivery
    from tests.factories import MailingFactory

    signature = Signature.objects.get(contact=world.bob)
    delivery = Delivery.objects.create(
        mailing=MailingFactory(), contact=world.bob, email=world.bob.email
    )
    mention = interaction_record(
        kind="note", text=f"Wrote to {world.bob.email}.", organization=world.a
    )
    before = _stale(Signature, signature)
    _stale(Delivery, delivery)
    _stale(Interaction, mention, world.note_b)
    assert api_convener.delete(f"/api/v1/contacts/{world.bob.pk}/").status_code == 204
    for row in (signature, delivery, mention, world.note_b):
        row.refresh_from_db()
        assert row.modified > before, row
    assert (signature.email, delivery.email, world.note_b.contact) == ("", "", None)
    assert world.bob.email not in mention.text


def test_a_person_who_leaves_is_deleted_for_their_organisation_only(world):
    since = timezone.now().isoformat().replace("+", "%2B")
    bound_a = partner(organization=world.a, scopes=READ)
    bound_b = partner(organization=world.b, scopes=READ, name="Partner B")
    everyone = partner(scopes=READ, name="Everyone")
    writer = partner(name="Writer")
    dora = ContactFactory(given_name="Dora")
    AffiliationFactory(contact=dora, organization=world.a, role="staff")
    dora_primary = AffiliationFactory(contact=dora, organization=world.a, role="primary")

    def deleted(client):
        response = client.get(f"/api/v1/contacts/?modified_since={since}")
        assert response.status_code == 200, response.content
        return sorted(row["id"] for row in response.json()["deleted"])

    # Carol leaves A through the API: A no longer reaches her; B and everyone still do.
    assert writer.delete(f"/api/v1/affiliations/{world.carol_a.pk}/").status_code == 204
    # Dora loses one of her two roles in A: she is still A's.
    dora_primary.delete()
    assert deleted(bound_a) == [world.carol.pk]
    assert deleted(bound_b) == deleted(everyone) == []
    # Carol's affiliations changed: everyone else pulls her again.
    assert world.carol.pk in ids(everyone.get(f"/api/v1/contacts/?modified_since={since}"))
    # Back in A: no longer deleted for A, and pulled again as changed.
    response = writer.post(
        "/api/v1/affiliations/",
        {"contact": world.carol.pk, "organization": world.a.pk, "role": "staff"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert deleted(bound_a) == []
    assert world.carol.pk in ids(bound_a.get(f"/api/v1/contacts/?modified_since={since}"))
    # A person deleted with their roles is named once.
    alice = world.alice.pk
    world.alice.delete()
    assert deleted(bound_a) == [alice]


def test_every_way_of_adding_a_person_to_an_organisation_is_heard_once(world, api_convener):
    from api.models import WebhookDelivery
    from members.accounts import organization_contact_add
    from members.services import contact_add
    from tests.api.webhook_helpers import deliveries_of, partner_with_endpoint

    _partner, endpoint, _key = partner_with_endpoint(
        organization=world.a, events=["contact.updated"], name="Bound to A"
    )

    def heard():
        rows = [d.payload["data"] for d in deliveries_of(endpoint, "contact.updated")]
        WebhookDelivery.objects.filter(endpoint=endpoint).delete()
        return [(row["given_name"], [a["role"] for a in row["affiliations"]]) for row in rows]

    # The editors' path (members.accounts), as the editors' page and a bound key take it.
    organization_contact_add(
        organization=world.a,
        data={"email": "eva@example.org", "given_name": "Eva"},
        role="staff",
        actor=None,
    )
    assert heard() == [("Eva", ["staff"])]
    # A new role for someone already there: one event; the same role again: none.
    eva = Contact.objects.get(email="eva@example.org")
    contact_add(
        data={"email": eva.email, "given_name": "Eva"}, organization=world.a, role="primary"
    )
    assert heard() == [("Eva", ["staff", "primary"])]
    contact_add(
        data={"email": eva.email, "given_name": "Eva"}, organization=world.a, role="primary"
    )
    assert heard() == []
    # Someone of B given a role in A: A hears of them, with their role in A only.
    contact_add(data={"email": world.bob.email, "given_name": "Bob"}, organization=world.a)
    assert heard() == [("Bob", ["staff"])]
