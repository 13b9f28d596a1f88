"""/api/v1/ campaigns, signatures and toolkits: scopes, what each caller sees, filters, recording
a signature through the API, the one error shape, and constant queries per list."""

import datetime
import itertools

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from campaigns.models import Campaign, CampaignResource, Signature
from tests.api.conftest import client_with_key, key_for
from tests.factories import (
    CampaignFactory,
    OrganizationFactory,
    SignatureFactory,
)
from toolkits import services as toolkit_services
from toolkits.models import Toolkit

pytestmark = pytest.mark.django_db

SITE = "https://coalition.example.org"


_partners = itertools.count(1)


def partner(scopes=("read:campaigns",), **kwargs):
    """A client with a new partner's key (each partner named afresh)."""
    kwargs.setdefault("name", f"Partner {next(_partners)}")
    return client_with_key(key_for(scopes=list(scopes), **kwargs))


def assert_error_shape(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "code", "errors"}
    return body


# --- Scopes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/campaigns/", "/api/v1/signatures/", "/api/v1/toolkits/"])
def test_reading_needs_read_campaigns(path):
    response = partner(scopes=["read:members", "write:signatures"]).get(path)
    body = assert_error_shape(response, 403)
    assert body["message"] == "This needs the read:campaigns scope."


def test_recording_a_signature_needs_write_signatures():
    campaign = CampaignFactory()
    response = partner(scopes=["read:campaigns", "read:contacts"]).post(
        "/api/v1/signatures/",
        {"campaign": campaign.slug, "name": "Ann Lee", "email": "ann@example.org"},
        format="json",
    )
    body = assert_error_shape(response, 403)
    assert body["message"] == "This needs the write:signatures scope."
    assert not Signature.objects.exists()


def test_campaigns_cannot_be_changed_through_the_api(api_convener):
    campaign = CampaignFactory()
    assert api_convener.post("/api/v1/campaigns/", {}, format="json").status_code == 405
    response = api_convener.patch(f"/api/v1/campaigns/{campaign.pk}/", {"title": "X"})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# --- Campaigns ----------------------------------------------------------------------------------


def test_campaigns_show_the_counted_total_and_partners_never_see_drafts(api_convener, settings):
    settings.SITE_URL = SITE
    refreshed = timezone.now()
    open_one = CampaignFactory(
        slug="end-trafficking",
        kind=Campaign.Kind.PETITION,
        signature_count=42,
        signature_count_refreshed_at=refreshed,
    )
    CampaignResource.objects.create(
        campaign=open_one, title="Report", url="https://example.org/report", position=1
    )
    draft = CampaignFactory(status=Campaign.Status.DRAFT)

    rows = partner().get("/api/v1/campaigns/").json()["results"]
    assert [row["id"] for row in rows] == [open_one.pk]
    row = rows[0]
    assert row["signature_count"] == 42
    assert row["url"] == f"{SITE}/campaigns/end-trafficking/"
    assert row["resources"] == [
        {
            "title": "Report",
            "url": "https://example.org/report",
            "description": "",
            "position": 1,
        }
    ]
    assert row["statement_html"].startswith("<p>We stand for facts.")
    assert partner().get(f"/api/v1/campaigns/{draft.pk}/").status_code == 404

    convener_ids = [row["id"] for row in api_convener.get("/api/v1/campaigns/").json()["results"]]
    assert convener_ids == [open_one.pk, draft.pk]


def test_campaign_filters_search_and_ordering():
    petition = CampaignFactory(title="Safe harbour now", kind=Campaign.Kind.PETITION)
    pledge = CampaignFactory(title="Pledge of care", kind=Campaign.Kind.PLEDGE, signature_count=9)
    closed = CampaignFactory(title="Old statement", status=Campaign.Status.CLOSED)
    Campaign.objects.filter(pk=closed.pk).update(
        created=timezone.now() - datetime.timedelta(days=30),
        modified=timezone.now() - datetime.timedelta(days=30),
    )
    client = partner()

    def ids(query):
        response = client.get(f"/api/v1/campaigns/?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("status=closed") == [closed.pk]
    assert ids("kind=pledge") == [pledge.pk]
    assert ids("search=harbour") == [petition.pk]
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert ids(f"modified_since={since.replace('+', '%2B')}") == [petition.pk, pledge.pk]
    assert ids(f"created_since={since.replace('+', '%2B')}") == [petition.pk, pledge.pk]
    assert ids("ordering=-signature_count")[0] == pledge.pk
    assert_error_shape(client.get("/api/v1/campaigns/?status=nonsense"))
    assert_error_shape(client.get("/api/v1/campaigns/?modified_since=yesterday"))


def test_a_campaign_back_in_draft_is_a_deletion_for_a_partner_pulling_changes():
    campaign = CampaignFactory()
    since = timezone.now() - datetime.timedelta(minutes=1)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=Campaign.Status.DRAFT, modified=timezone.now()
    )
    body = partner().get("/api/v1/campaigns/", {"modified_since": since.isoformat()}).json()
    assert body["results"] == []
    assert [row["id"] for row in body["deleted"]] == [campaign.pk]


@pytest.mark.parametrize("rows", [1, 100])
def test_campaign_list_queries_are_constant(rows, django_assert_num_queries):
    for _ in range(rows):
        campaign = CampaignFactory()
        CampaignResource.objects.create(campaign=campaign, title="R", url="https://example.org/")
    client = partner()
    # The key, its last-used stamp, one page of campaigns, their resources.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/campaigns/")
    assert len(response.json()["results"]) == rows


# --- Signatures: reading ------------------------------------------------------------------------


def test_email_and_phone_only_with_read_contacts():
    signature = SignatureFactory(phone="+14045550100", affiliation="Safe Harbor")
    without = partner().get(f"/api/v1/signatures/{signature.pk}/").json()
    assert without["name"] == signature.name
    assert without["affiliation"] == "Safe Harbor"
    assert "email" not in without and "phone" not in without
    assert signature.email not in str(without)

    listed = partner().get("/api/v1/signatures/").json()["results"][0]
    assert "email" not in listed and "phone" not in listed

    with_contacts = partner(scopes=["read:campaigns", "read:contacts"])
    row = with_contacts.get(f"/api/v1/signatures/{signature.pk}/").json()
    assert row["email"] == signature.email
    assert row["phone"] == "+14045550100"


def test_signatures_held_for_review_are_for_conveners_only(api_convener):
    kept = SignatureFactory()
    since = timezone.now() - datetime.timedelta(minutes=1)
    flagged = SignatureFactory(flagged=True, flag_reason="over 200 signatures an hour from IP")
    invalidated = SignatureFactory(
        flagged=True, flag_reason="invalidated", invalidated_at=timezone.now()
    )

    body = partner().get("/api/v1/signatures/", {"modified_since": since.isoformat()}).json()
    assert [row["id"] for row in body["results"]] == [kept.pk]
    assert "flagged" not in body["results"][0] and "flag_reason" not in body["results"][0]
    assert body["results"][0]["counted"] is True
    # A mirror drops what became hidden from it.
    assert {row["id"] for row in body["deleted"]} == {flagged.pk, invalidated.pk}
    assert partner().get(f"/api/v1/signatures/{flagged.pk}/").status_code == 404

    rows = {row["id"]: row for row in api_convener.get("/api/v1/signatures/").json()["results"]}
    assert set(rows) == {kept.pk, flagged.pk, invalidated.pk}
    assert rows[flagged.pk]["flagged"] is True
    assert rows[flagged.pk]["flag_reason"] == "over 200 signatures an hour from IP"
    assert rows[flagged.pk]["counted"] is False
    assert rows[invalidated.pk]["invalidated_at"] is not None
    assert rows[kept.pk]["email"] == kept.email  # conveners see personal data


def test_signature_filters():
    campaign = CampaignFactory(slug="safe-harbour")
    other = CampaignFactory()
    organization = OrganizationFactory()
    matched = SignatureFactory(campaign=campaign, organization=organization)
    sign_on = SignatureFactory(campaign=other, on_behalf_of=organization)
    unconfirmed = SignatureFactory(campaign=campaign, confirmed_at=None, name="Zed Quill")
    old = SignatureFactory(campaign=other)
    Signature.objects.filter(pk=old.pk).update(
        created=timezone.now() - datetime.timedelta(days=10),
        modified=timezone.now() - datetime.timedelta(days=10),
    )
    client = partner()

    def ids(params):
        response = client.get("/api/v1/signatures/", params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids({"campaign": "safe-harbour"}) == {matched.pk, unconfirmed.pk}
    assert ids({"campaign": str(campaign.pk)}) == {matched.pk, unconfirmed.pk}
    assert ids({"campaign": "no-such-campaign"}) == set()
    assert ids({"campaign": "9" * 40}) == set()
    assert ids({"campaign": "x" * 500}) == set()
    assert_error_shape(client.get("/api/v1/signatures/", {"campaign": "safe\x00harbour"}))
    assert ids({"organization": organization.pk}) == {matched.pk, sign_on.pk}
    assert ids({"organization": "9" * 30}) == set()
    assert ids({"confirmed": "false"}) == {unconfirmed.pk}
    assert ids({"confirmed": "true"}) == {matched.pk, sign_on.pk, old.pk}
    assert ids({"search": "quill"}) == {unconfirmed.pk}
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert ids({"created_since": since}) == {matched.pk, sign_on.pk, unconfirmed.pk}
    assert ids({"modified_since": since}) == {matched.pk, sign_on.pk, unconfirmed.pk}
    assert_error_shape(client.get("/api/v1/signatures/", {"organization": "harbour"}))
    assert_error_shape(client.get("/api/v1/signatures/", {"confirmed": "perhaps"}))


def test_restricted_callers_see_only_their_organisations_signatures(editor_client):
    mine = OrganizationFactory()
    theirs = OrganizationFactory()
    matched = SignatureFactory(organization=mine)
    sign_on = SignatureFactory(on_behalf_of=mine)
    foreign = SignatureFactory(organization=theirs)
    loose = SignatureFactory()

    bound = partner(organization=mine)
    editor = editor_client(mine)
    for client in (bound, editor):
        rows = client.get("/api/v1/signatures/").json()["results"]
        assert {row["id"] for row in rows} == {matched.pk, sign_on.pk}
        for other in (foreign, loose):
            assert client.get(f"/api/v1/signatures/{other.pk}/").status_code == 404
        filtered = client.get("/api/v1/signatures/", {"organization": theirs.pk}).json()
        assert filtered["results"] == []
    # Campaigns and toolkits are public: restricted callers see them all.
    assert len(bound.get("/api/v1/campaigns/").json()["results"]) == 4


def test_deleted_signatures_reach_a_mirror_each_caller_only_its_own():
    mine = OrganizationFactory()
    theirs = OrganizationFactory()
    since = (timezone.now() - datetime.timedelta(minutes=1)).isoformat()
    withdrawn = SignatureFactory(on_behalf_of=mine)
    foreign = SignatureFactory(organization=theirs)
    withdrawn_id = withdrawn.pk
    ids = {withdrawn.pk, foreign.pk}
    withdrawn.delete()
    foreign.delete()

    everyone = partner().get("/api/v1/signatures/", {"modified_since": since}).json()
    assert {row["id"] for row in everyone["deleted"]} == ids
    bound = partner(organization=mine)
    body = bound.get("/api/v1/signatures/", {"modified_since": since}).json()
    assert [row["id"] for row in body["deleted"]] == [withdrawn_id]


@pytest.mark.parametrize("rows", [1, 100])
def test_signature_list_queries_are_constant(rows, django_assert_num_queries):
    campaign = CampaignFactory()
    organization = OrganizationFactory()
    for _ in range(rows):
        SignatureFactory(campaign=campaign, organization=organization)
    client = partner(scopes=["read:campaigns", "read:contacts"])
    # The key, its last-used stamp, one page of signatures.
    with django_assert_num_queries(3):
        response = client.get("/api/v1/signatures/", {"campaign": campaign.slug})
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 100])
def test_signature_list_of_a_bound_partner_is_constant_too(rows, django_assert_num_queries):
    organization = OrganizationFactory()
    for _ in range(rows):
        SignatureFactory(organization=organization)
    client = partner(organization=organization)
    with django_assert_num_queries(3):
        response = client.get("/api/v1/signatures/")
    assert len(response.json()["results"]) == rows


# --- Signatures: recording ----------------------------------------------------------------------

SIGNER = {"name": "Ann Lee", "email": "Ann.Lee@Example.org", "affiliation": "Safe Harbor"}


def signer_client(**kwargs):
    return partner(scopes=["read:campaigns", "write:signatures"], **kwargs)


def test_a_partner_records_a_signature_and_signing_again_lands_on_it():
    campaign = CampaignFactory(slug="end-trafficking")
    client = signer_client()
    response = client.post(
        "/api/v1/signatures/",
        {**SIGNER, "campaign": "end-trafficking", "show_publicly": True, "message": "Yes."},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    stored = Signature.objects.get()
    assert body["id"] == stored.pk
    assert body["campaign"] == campaign.pk
    assert body["name"] == "Ann Lee"
    assert body["share_code"] == stored.share_code
    assert "email" not in body  # the key has no read:contacts
    assert stored.source == Signature.Source.API
    assert stored.email == "ann.lee@example.org"
    assert stored.affiliation == "Safe Harbor"
    assert stored.show_publicly is True
    assert stored.processed_at is None  # linked and confirmed by the task, a moment later

    again = client.post(
        "/api/v1/signatures/",
        {**SIGNER, "email": "ann.lee@example.org", "campaign": campaign.pk, "name": "Ann B. Lee"},
        format="json",
    )
    assert again.status_code == 200, again.content
    assert again.json()["id"] == stored.pk
    assert Signature.objects.count() == 1
    assert Signature.objects.get().resubmission["name"] == "Ann B. Lee"


def test_a_partner_bound_to_an_organisation_is_credited_as_referrer():
    organization = OrganizationFactory()
    campaign = CampaignFactory()
    response = signer_client(organization=organization).post(
        "/api/v1/signatures/", {**SIGNER, "campaign": campaign.slug}, format="json"
    )
    assert response.status_code == 201
    assert Signature.objects.get().referred_by == organization


def test_a_referral_code_credits_the_organisation():
    organization = OrganizationFactory(slug="safe-harbor")
    campaign = CampaignFactory()
    response = signer_client().post(
        "/api/v1/signatures/",
        {**SIGNER, "campaign": campaign.slug, "referral_code": "safe-harbor"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["referred_by"] == organization.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"campaign": "no-such-campaign"}, "campaign"),
        ({"campaign": "9" * 30}, "campaign"),
        ({"email": "not-an-address"}, "email"),
        ({"email": ""}, "email"),
        ({"name": ""}, "name"),
        ({"name": ["Ann"]}, "name"),
        ({"name": "A" * 5000}, "name"),
        ({"show_publicly": "perhaps"}, "show_publicly"),
        ({"phone": "12"}, "phone"),
        ({"phone": {"number": 1}}, "phone"),
        ({"campaign": None}, "campaign"),
        ({"message": "x" * 3000}, "message"),
    ],
    ids=[
        "unknown-campaign",
        "huge-id",
        "invalid-email",
        "no-email",
        "no-name",
        "name-a-list",
        "name-too-long",
        "boolean-not",
        "bad-phone",
        "phone-an-object",
        "campaign-null",
        "message-too-long",
    ],
)
def test_bad_input_is_a_400_naming_the_field(payload, field):
    CampaignFactory(slug="end-trafficking")
    response = signer_client().post(
        "/api/v1/signatures/", {**SIGNER, "campaign": "end-trafficking", **payload}, format="json"
    )
    body = assert_error_shape(response)
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert not Signature.objects.exists()


def test_a_closed_or_draft_campaign_takes_no_signature():
    closed = CampaignFactory(status=Campaign.Status.CLOSED)
    ended = CampaignFactory(closes_at=timezone.now() - datetime.timedelta(hours=1))
    draft = CampaignFactory(status=Campaign.Status.DRAFT)
    client = signer_client()
    for campaign in (closed, ended):
        response = client.post(
            "/api/v1/signatures/", {**SIGNER, "campaign": campaign.slug}, format="json"
        )
        body = assert_error_shape(response)
        assert body["message"] == "This campaign is closed and no longer takes signatures."
    # A draft is not there for a partner.
    response = client.post("/api/v1/signatures/", {**SIGNER, "campaign": draft.pk}, format="json")
    assert "campaign" in assert_error_shape(response)["errors"]
    assert not Signature.objects.exists()


def test_a_campaign_that_requires_a_field_says_so():
    campaign = CampaignFactory(affiliation_field=Campaign.FieldRule.REQUIRED)
    response = signer_client().post(
        "/api/v1/signatures/",
        {"campaign": campaign.slug, "name": "Ann Lee", "email": "ann@example.org"},
        format="json",
    )
    body = assert_error_shape(response)
    assert body["errors"] == {"affiliation": ["Please enter your affiliation."]}


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b'"a string"', b"null", b"\xff\xfe"],
    ids=["malformed", "a-list", "a-string", "null", "not-utf8"],
)
def test_a_body_that_is_not_an_object_is_a_400(raw):
    response = signer_client().post("/api/v1/signatures/", raw, content_type="application/json")
    assert_error_shape(response)
    assert not Signature.objects.exists()


def test_signatures_cannot_be_deleted_through_the_api(api_convener):
    signature = SignatureFactory()
    response = api_convener.delete(f"/api/v1/signatures/{signature.pk}/")
    assert response.status_code == 405
    assert Signature.objects.filter(pk=signature.pk).exists()


def test_unknown_and_out_of_range_ids_are_404():
    client = partner()
    for path in ["/api/v1/signatures/0/", "/api/v1/campaigns/123456/", "/api/v1/toolkits/9/"]:
        assert_error_shape(client.get(path), 404)
    assert_error_shape(client.get("/api/v1/signatures/" + "9" * 40 + "/"), 404)
    assert_error_shape(client.get("/api/v1/signatures/abc/"), 404)


# --- Toolkits -----------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = SITE


def toolkit_make(*, slug="facts-first", points=1, threads=1, thread_posts=3, publish=True):
    from tests.toolkits.conftest import png_bytes

    campaign = CampaignFactory()
    toolkit = toolkit_services.toolkit_create(
        title="Facts first",
        slug=slug,
        introduction="Share **facts**.",
        share_link="https://example.org/facts",
        hashtags="#FactsFirst EndTrafficking",
    )
    Toolkit.objects.filter(pk=toolkit.pk).update(campaign=campaign)
    for index in range(points):
        toolkit_services.talking_point_add(
            toolkit=toolkit,
            heading=f"Point {index + 1}",
            text="A claim.",
            position=index,
            sources=[(f"Source {index + 1}", f"https://sources.example.org/{index + 1}")],
            posts=[("x", f"Post {index + 1}: {{link}}"), ("facebook", "Read this: {link}")],
        )
    for index in range(threads):
        toolkit_services.thread_add(
            toolkit=toolkit,
            title=f"Thread {index + 1}",
            texts=[f"Part {n + 1}" for n in range(thread_posts)],
            position=index,
        )
    toolkit_services.graphic_add(
        toolkit=toolkit,
        image=ContentFile(png_bytes(), name="fact.png"),
        alt_text="A blue square saying fact",
        caption="Share it",
        position=0,
    )
    toolkit_services.resource_add(
        toolkit=toolkit, title="Report", url="https://example.org/report", description="Read."
    )
    if publish:
        toolkit_services.toolkit_publish(toolkit=toolkit)
    return Toolkit.objects.get(pk=toolkit.pk)


def test_toolkits_list_published_ones_in_short_and_retrieve_gives_every_part(media):
    toolkit = toolkit_make()
    toolkit_make(slug="draft-one", publish=False)
    client = partner()

    rows = client.get("/api/v1/toolkits/").json()["results"]
    assert [row["id"] for row in rows] == [toolkit.pk]
    assert set(rows[0]) == {
        "id",
        "title",
        "slug",
        "url",
        "campaign",
        "introduction_html",
        "share_link",
        "hashtags",
        "created",
        "modified",
    }
    assert rows[0]["url"] == f"{SITE}/toolkits/facts-first/"

    full = client.get(f"/api/v1/toolkits/{toolkit.pk}/").json()
    assert full["campaign"]["id"] == toolkit.campaign_id
    assert full["hashtags"] == ["#FactsFirst", "#EndTrafficking"]
    point = full["talking_points"][0]
    assert point["heading"] == "Point 1"
    assert point["sources"] == [{"title": "Source 1", "url": "https://sources.example.org/1"}]
    x_post = next(post for post in point["posts"] if post["platform"] == "x")
    assert x_post["text"] == "Post 1: https://example.org/facts"
    assert x_post["share_url"].startswith("https://twitter.com/intent/tweet?")
    thread = full["threads"][0]
    assert [post["text"] for post in thread["posts"]] == ["Part 1 1/3", "Part 2 2/3", "Part 3 3/3"]
    assert [(post["number"], post["total"]) for post in thread["posts"]] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]
    graphic = full["graphics"][0]
    assert graphic["image_url"].startswith(f"{SITE}/media/toolkits/fact")
    assert graphic["alt_text"] == "A blue square saying fact"
    assert graphic["caption"] == "Share it"
    assert full["resources"] == [
        {"title": "Report", "url": "https://example.org/report", "description": "Read."}
    ]
    draft = Toolkit.objects.get(slug="draft-one")
    assert client.get(f"/api/v1/toolkits/{draft.pk}/").status_code == 404


@pytest.mark.parametrize("rows", [1, 100])
def test_toolkit_list_queries_are_constant(rows, media, django_assert_num_queries):
    campaign = CampaignFactory()
    Toolkit.objects.bulk_create(
        Toolkit(title=f"T{n}", slug=f"t-{n}", status=Toolkit.Status.PUBLISHED, campaign=campaign)
        for n in range(rows)
    )
    client = partner()
    with django_assert_num_queries(3):
        response = client.get("/api/v1/toolkits/")
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("size", [1, 8])
def test_a_toolkit_is_read_in_constant_queries(size, media, django_assert_num_queries):
    toolkit = toolkit_make(points=size, threads=size, thread_posts=size + 1)
    client = partner()
    # The key, its stamp, the toolkit with its campaign, then toolkit_for_sharing's six:
    # talking points, their sources, posts, threads, their posts, graphics, resources.
    with django_assert_num_queries(10):
        response = client.get(f"/api/v1/toolkits/{toolkit.pk}/")
    assert len(response.json()["talking_points"]) == size


def test_the_schema_describes_these_endpoints_filters_and_bodies(client):
    document = client.get("/api/schema/?format=json").json()
    paths = document["paths"]
    signatures = paths["/api/v1/signatures/"]
    names = {parameter["name"] for parameter in signatures["get"]["parameters"]}
    assert {"campaign", "organization", "confirmed", "modified_since", "created_since"} <= names
    assert {"200", "201", "400", "403"} <= set(signatures["post"]["responses"])
    body = signatures["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    create = document["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert {"campaign", "name", "email"} <= set(create["required"])
    campaigns = {p["name"] for p in paths["/api/v1/campaigns/"]["get"]["parameters"]}
    assert {"status", "kind", "modified_since", "created_since", "search", "ordering"} <= campaigns
    signature = document["components"]["schemas"]["Signature"]
    # What depends on the caller is optional.
    assert not {"email", "phone", "flagged"} & set(signature["required"])
