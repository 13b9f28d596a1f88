"""/osdi/v1/: OSDI 1.1 resources as Action Network serves them, with our keys and scopes."""

import datetime
import itertools

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.scopes import SCOPES
from campaigns.models import Campaign, Signature
from members.models import Affiliation, Contact, Organization, Tag
from tests.api.conftest import client_with_key, key_for
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

HAL = "application/hal+json"


_partners = itertools.count(1)


def osdi(scopes=tuple(SCOPES), **kwargs) -> APIClient:
    """A client sending a new partner's key in the OSDI-API-Token header."""
    kwargs.setdefault("name", f"Partner {next(_partners)}")
    return client_with_key(key_for(scopes=list(scopes), **kwargs), osdi=True)


def warm(client: APIClient) -> APIClient:
    """After one request the key's last use is fresh: later requests read the key only."""
    client.get("/osdi/v1/")
    return client


def signup_body(email="ada@example.org", **person):
    return {
        "person": {
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email_addresses": [{"address": email, "primary": True}],
            **person,
        },
        "add_tags": ["volunteer"],
    }


# --- Keys, entry point, errors -------------------------------------------------------------------


def test_the_entry_point_links_what_the_key_reaches_in_hal():
    response = osdi(["read:campaigns", "read:members"]).get("/osdi/v1/")
    assert response.status_code == 200
    assert response["Content-Type"] == HAL
    body = response.json()
    assert body["osdi_version"] == "1.1"
    assert body["max_pagesize"] == 100
    assert body["motd"]
    links = body["_links"]
    assert links["self"]["href"] == "http://testserver/osdi/v1/"
    assert links["osdi:petitions"]["href"] == "http://testserver/osdi/v1/petitions"
    assert links["osdi:tags"]["href"] == "http://testserver/osdi/v1/tags"
    assert links["crm:organizations"]["href"] == "http://testserver/osdi/v1/crm:organizations"
    assert "osdi:people" not in links  # the key has no read:contacts
    assert {curie["name"] for curie in links["curies"]} == {"osdi", "crm"}


def test_the_key_goes_in_the_osdi_api_token_header_and_bearer_is_not_needed():
    text = key_for(scopes=["read:members"])
    client = APIClient()
    response = client.get("/osdi/v1/tags", HTTP_OSDI_API_TOKEN=text)
    assert response.status_code == 200
    assert "HTTP_AUTHORIZATION" not in response.wsgi_request.META


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_OSDI_API_TOKEN": "crm_nothing_here"}, {"HTTP_OSDI_API_TOKEN": "garbage"}],
    ids=["none", "unknown-key", "garbage"],
)
def test_without_a_valid_token_the_answer_is_401_in_the_one_shape_with_an_osdi_error(headers):
    response = APIClient().get("/osdi/v1/petitions", **headers)
    assert response.status_code == 401
    assert response["Content-Type"] == HAL
    assert response["WWW-Authenticate"].startswith("OSDI-API-Token")
    body = response.json()
    assert body["code"] in {"not_authenticated", "authentication_failed"}
    assert body["osdi:error"]["response_code"] == 401
    assert body["osdi:error"]["resource_status"][0]["resource"] == "osdi:petition"


@pytest.mark.parametrize(
    ("path", "scopes", "missing"),
    [
        ("/osdi/v1/people", ["read:members", "read:campaigns"], "read:contacts"),
        ("/osdi/v1/petitions", ["read:contacts"], "read:campaigns"),
        ("/osdi/v1/tags", ["read:contacts"], "read:members"),
        ("/osdi/v1/crm:organizations", ["read:campaigns"], "read:members"),
    ],
)
def test_a_key_without_the_scope_gets_403_naming_it(path, scopes, missing):
    response = osdi(scopes).get(path)
    assert response.status_code == 403
    body = response.json()
    assert body["message"] == f"This needs the {missing} scope."
    assert body["osdi:error"]["resource_status"][0]["error_descriptions"][0]["error_code"] == (
        "PERMISSION_DENIED"
    )


def test_people_are_personal_data_so_every_people_address_needs_read_contacts():
    contact = ContactFactory()
    SignatureFactory(contact=contact)
    client = osdi(["read:campaigns", "read:members", "write:signatures"])
    for path in [
        "/osdi/v1/people",
        f"/osdi/v1/people/{contact.pk}",
        f"/osdi/v1/people/{contact.pk}/signatures",
    ]:
        assert client.get(path).status_code == 403, path


@pytest.mark.parametrize(
    "path",
    ["/osdi/v1/nothing", "/osdi/v1/people/12/nothing", "/osdi/v1/petitions/abc"],
)
def test_unknown_addresses_are_json_404s(path):
    response = osdi().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == HAL
    body = response.json()
    assert body["code"] == "not_found"
    assert body["osdi:error"]["response_code"] == 404


def test_unknown_and_huge_ids_are_404s_not_errors():
    client = osdi()
    for path in [
        "/osdi/v1/people/999999",
        "/osdi/v1/people/99999999999999999999999999",
        "/osdi/v1/petitions/999999999999999999",
        "/osdi/v1/tags/5/taggings/7",
    ]:
        assert client.get(path).status_code == 404, path


def test_methods_a_resource_does_not_take_are_405_in_the_one_shape():
    campaign = CampaignFactory()
    client = osdi()
    for method, path in [
        ("delete", f"/osdi/v1/petitions/{campaign.pk}"),
        ("put", "/osdi/v1/people"),
        ("post", "/osdi/v1/tags"),
        ("get", "/osdi/v1/people/person_signup_helper"),
        ("get", f"/osdi/v1/petitions/{campaign.pk}/record_signature_helper"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 405, (method, path)
        assert response.json()["code"] == "method_not_allowed"


# --- Paging and the filter ----------------------------------------------------------------------


def test_collections_are_paged_with_page_per_page_totals_and_links():
    ids = [CampaignFactory().pk for _ in range(5)]
    client = osdi(["read:campaigns"])
    body = client.get("/osdi/v1/petitions?per_page=2").json()
    assert (body["page"], body["per_page"], body["total_pages"], body["total_records"]) == (
        1,
        2,
        3,
        5,
    )
    assert [item["identifiers"] for item in body["_embedded"]["osdi:petitions"]] == [
        [f"crm:{pk}"] for pk in ids[:2]
    ]
    assert [link["href"] for link in body["_links"]["osdi:petitions"]] == [
        f"http://testserver/osdi/v1/petitions/{pk}" for pk in ids[:2]
    ]
    assert "previous" not in body["_links"]
    seen = []
    while True:
        seen += [item["identifiers"][0] for item in body["_embedded"]["osdi:petitions"]]
        if "next" not in body["_links"]:
            break
        body = client.get(body["_links"]["next"]["href"]).json()
    assert seen == [f"crm:{pk}" for pk in ids]
    assert body["page"] == 3
    assert "page=2" in body["_links"]["previous"]["href"]


def test_per_page_above_the_maximum_is_capped_and_a_page_past_the_end_is_empty():
    CampaignFactory()
    client = osdi(["read:campaigns"])
    body = client.get("/osdi/v1/petitions?per_page=100000").json()
    assert body["per_page"] == 100
    body = client.get("/osdi/v1/petitions?page=999999").json()
    assert body["_embedded"]["osdi:petitions"] == []
    assert body["total_records"] == 1
    assert body["page"] == 999999


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1e3",
        "page=\u00b2",  # a superscript two: a digit to isdigit(), not to int()
        "per_page=0",
        "per_page=x",
        "page=" + "9" * 40,
    ],
)
def test_a_page_that_is_not_a_whole_number_from_1_is_a_clear_400(query):
    CampaignFactory()
    response = osdi(["read:campaigns"]).get(f"/osdi/v1/petitions?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    field = query.split("=")[0]
    assert field in body["errors"]


def _at(day: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC)


def _petitions_modified(days):
    campaigns = []
    for day in days:
        campaign = CampaignFactory()
        Campaign.objects.filter(pk=campaign.pk).update(modified=_at(day), created=_at(day))
        campaigns.append(campaign)
    return campaigns


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("modified_date gt '2026-01-01'", [1, 2]),
        ("modified_date gt '2026-01-01T12:00:00Z'", [2]),
        ("modified_date lt '2026-01-01'", [0]),
        ("modified_date eq '2026-01-01'", [1]),
        ("modified_date ne '2026-01-01'", [0, 2]),
        ("modified_date ge '2026-01-01T10:00:00+00:00'", [1, 2]),
        ("modified_date le '2026-01-01T10:00:00'", [0, 1]),
        ("created_date gt '2026-01-01' and created_date lt '2026-02-01'", [1]),
        ("modified_date lt '2026-01-01' or modified_date gt '2026-02-01'", [0, 2]),
        ("MODIFIED_DATE GT '2026-01-01'".replace("MODIFIED_DATE", "modified_date"), [1, 2]),
        ("modified_date eq '2026-01-01T05:00:00-05:00'", [1]),
    ],
)
def test_the_filter_takes_eq_ne_gt_ge_lt_le_and_or_on_dates(expression, expected):
    campaigns = _petitions_modified(
        ["2025-12-31T23:00:00", "2026-01-01T10:00:00", "2026-03-01T08:00:00"]
    )
    response = osdi(["read:campaigns"]).get("/osdi/v1/petitions", {"filter": expression})
    assert response.status_code == 200, response.json()
    assert [item["identifiers"][0] for item in response.json()["_embedded"]["osdi:petitions"]] == [
        f"crm:{campaigns[index].pk}" for index in expected
    ]


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("modified_date gt 2026-01-01", "single quotes"),
        ("modified_date gt '2026-01-01", "not closed"),
        ("modified_date after '2026-01-01'", "operators"),
        ("colour eq 'red'", "Unknown field 'colour'"),
        ("modified_date gt 'yesterday'", "not 'yesterday'"),
        ("modified_date gt '2026-02-30'", "not '2026-02-30'"),
        ("modified_date eq '9999-12-31'", "out of the range"),
        ("modified_date gt '0001-01-01T00:00:00+05:00'", "out of the range"),
        ("(modified_date gt '2026-01-01')", "Parentheses"),
        ("modified_date gt '2026-01-01' and", "clause should follow"),
        ("modified_date gt '2026-01-01' modified_date", "Expected 'and' or 'or'"),
        ("modified_date", "field operator 'value'"),
        ("modified_date gt '2026-01-01' ;", "not ';'"),
        (" or ".join(["modified_date gt '2026-01-01'"] * 21), "at most 20 clauses"),
        ("x" * 1001, "at most 1000 characters"),
    ],
)
def test_a_malformed_filter_is_a_400_saying_what_was_not_understood(expression, words):
    CampaignFactory()
    response = osdi(["read:campaigns"]).get("/osdi/v1/petitions", {"filter": expression})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert words in body["errors"]["filter"][0]
    description = body["osdi:error"]["resource_status"][0]["error_descriptions"][0]
    assert description["properties"] == ["filter"]


def test_people_filter_by_email_address_ignoring_case():
    ada = ContactFactory(email="ada@example.org")
    ContactFactory(email="bob@example.org")
    body = (
        osdi(["read:contacts"])
        .get("/osdi/v1/people", {"filter": "email_address eq 'ADA@Example.org'"})
        .json()
    )
    assert [item["identifiers"] for item in body["_embedded"]["osdi:people"]] == [[f"crm:{ada.pk}"]]


# --- People ---------------------------------------------------------------------------------------


def test_a_person_has_osdi_fields_and_the_address_of_their_organisation():
    organization = OrganizationFactory(
        name="Safe Harbor", street_address="1 Main St", city="Atlanta", state="GA"
    )
    contact = ContactFactory(
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.org",
        phone="+14045550123",
        email_status=Contact.EmailStatus.UNSUBSCRIBED,
        title="Director",
    )
    AffiliationFactory(contact=contact, organization=organization, role=Affiliation.Role.PRIMARY)
    response = osdi(["read:contacts"]).get(f"/osdi/v1/people/{contact.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == HAL
    body = response.json()
    assert body["identifiers"] == [f"crm:{contact.pk}"]
    assert body["given_name"] == "Ada" and body["family_name"] == "Lovelace"
    assert body["email_addresses"] == [
        {"primary": True, "address": "ada@example.org", "status": "unsubscribed"}
    ]
    assert body["phone_numbers"] == [{"primary": True, "number": "14045550123"}]
    assert body["postal_addresses"] == [
        {
            "primary": True,
            "address_type": "Work",
            "venue": "Safe Harbor",
            "address_lines": ["1 Main St"],
            "locality": "Atlanta",
            "region": "GA",
            "postal_code": "",
        }
    ]
    assert body["employer"] == "Safe Harbor"
    assert body["crm:title"] == "Director"
    assert body["crm:affiliations"] == [
        {"organization": f"crm:{organization.pk}", "name": "Safe Harbor", "role": "primary"}
    ]
    assert body["created_date"].endswith("Z") and body["modified_date"].endswith("Z")
    assert body["_links"]["self"]["href"] == f"http://testserver/osdi/v1/people/{contact.pk}"
    assert body["_links"]["osdi:signatures"]["href"].endswith(f"/people/{contact.pk}/signatures")
    assert body["_links"]["crm:organizations"] == [
        {"href": f"http://testserver/osdi/v1/crm:organizations/{organization.pk}"}
    ]


@pytest.mark.parametrize("rows", [1, 100])
def test_the_people_list_runs_the_same_queries_for_1_and_100_people(
    rows, django_assert_num_queries
):
    organization = OrganizationFactory()
    for _ in range(rows):
        AffiliationFactory(organization=organization)
    client = warm(osdi(["read:contacts"]))
    # The key (with its partner); count; page; affiliations with their organisations.
    with django_assert_num_queries(4):
        response = client.get("/osdi/v1/people?per_page=100")
    assert len(response.json()["_embedded"]["osdi:people"]) == rows


def test_the_signup_helper_twice_with_the_same_email_in_another_case_gives_one_person():
    client = osdi(["read:contacts", "write:contacts"])
    first = client.post("/osdi/v1/people", signup_body("Ada@Example.org"), format="json")
    assert first.status_code == 201
    assert first["Content-Type"] == HAL
    second = client.post(
        "/osdi/v1/people/",
        signup_body(
            " ADA@example.ORG ", given_name="Augusta", phone_numbers=[{"number": "14045550199"}]
        ),
        format="json",
    )
    assert second.status_code == 200
    assert Contact.objects.count() == 1
    contact = Contact.objects.get()
    assert contact.email == "ada@example.org"
    assert contact.given_name == "Ada"  # what was there is kept; only empty fields are filled
    assert contact.phone == "+14045550199"
    body = second.json()
    assert body["identifiers"] == first.json()["identifiers"] == [f"crm:{contact.pk}"]
    assert body["email_addresses"][0]["address"] == "ada@example.org"
    assert body["crm:add_tags_ignored"] == ["volunteer"]  # people carry no tags here


def test_the_signup_helper_is_also_at_the_address_the_entry_point_links():
    client = osdi(["read:contacts", "write:contacts"])
    href = client.get("/osdi/v1/").json()["_links"]["osdi:person_signup_helper"]["href"]
    response = client.post(href, signup_body(), format="json")
    assert response.status_code == 201
    assert Contact.objects.filter(email="ada@example.org").exists()


def test_the_signup_helper_needs_write_contacts_and_without_read_contacts_shows_no_personal_data():
    assert (
        osdi(["read:contacts"]).post("/osdi/v1/people", signup_body(), format="json").status_code
        == 403
    )
    assert not Contact.objects.exists()
    response = osdi(["write:contacts"]).post("/osdi/v1/people", signup_body(), format="json")
    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.get()
    assert body["identifiers"] == [f"crm:{contact.pk}"]
    assert "email_addresses" not in body and "given_name" not in body
    assert "ada@example.org" not in response.content.decode()


def test_the_signup_helper_passes_on_an_unsubscription_but_never_resubscribes():
    contact = ContactFactory(email="ada@example.org", email_status=Contact.EmailStatus.UNSUBSCRIBED)
    client = osdi(["read:contacts", "write:contacts"])
    body = signup_body()
    body["person"]["email_addresses"][0]["status"] = "subscribed"
    assert client.post("/osdi/v1/people", body, format="json").status_code == 200
    contact.refresh_from_db()
    assert contact.email_status == Contact.EmailStatus.UNSUBSCRIBED
    other = ContactFactory(email="bob@example.org")
    body = signup_body("bob@example.org")
    body["person"]["email_addresses"][0]["status"] = "unsubscribed"
    response = client.post("/osdi/v1/people", body, format="json")
    assert response.json()["email_addresses"][0]["status"] == "unsubscribed"
    other.refresh_from_db()
    assert other.email_status == Contact.EmailStatus.UNSUBSCRIBED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "person"),
        ({"person": "ada"}, "person"),
        ({"person": {"given_name": "Ada"}}, "person.email_addresses"),
        ({"person": {"given_name": "Ada", "email_addresses": "a@b.org"}}, "person.email_addresses"),
        (
            {"person": {"given_name": "Ada", "email_addresses": [{"address": 5}]}},
            "person.email_addresses",
        ),
        (signup_body("not-an-address"), "person.email_addresses"),
        (signup_body(given_name=["Ada"]), "person.given_name"),
        (signup_body(given_name=""), "person.given_name"),
        (signup_body(given_name="A" * 101), "person.given_name"),
        (signup_body(phone_numbers=[{"number": "12"}]), "person.phone_numbers"),
        (signup_body(phone_numbers=[{"number": None}]), "person.phone_numbers"),
        (signup_body(phone_numbers={"number": "1"}), "person.phone_numbers"),
        ({**signup_body(), "add_tags": "volunteer"}, "add_tags"),
        ({**signup_body(), "add_tags": [1]}, "add_tags"),
        (
            {
                "person": {
                    **signup_body()["person"],
                    "email_addresses": [{"address": "a@b.org", "status": "maybe"}],
                }
            },
            "person.email_addresses",
        ),
    ],
)
def test_the_signup_helper_refuses_bad_input_with_a_clear_400(body, field):
    response = osdi(["read:contacts", "write:contacts"]).post(
        "/osdi/v1/people", body, format="json"
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("null", "application/json"),
        ('"text"', "application/hal+json"),
        ("a=b", "application/x-www-form-urlencoded"),
        ("\xff\xfe", "application/json"),
    ],
)
def test_garbage_bodies_are_4xx_never_5xx(content, content_type):
    campaign = CampaignFactory()
    client = osdi()
    for path in ["/osdi/v1/people", f"/osdi/v1/petitions/{campaign.pk}/signatures"]:
        response = client.generic("POST", path, content, content_type=content_type)
        assert response.status_code in (400, 415), (path, response.status_code)
        assert "message" in response.json()


def test_nul_characters_and_bodies_nested_too_deep_are_400s():
    campaign = CampaignFactory()
    client = osdi()
    for path in ["/osdi/v1/people", f"/osdi/v1/petitions/{campaign.pk}/signatures"]:
        response = client.post(path, signup_body(given_name="Ada\x00"), format="json")
        assert response.status_code == 400
        assert "NUL" in response.json()["errors"]["non_field_errors"][0]
        response = client.generic("POST", path, "[" * 100_000, content_type="application/json")
        assert response.status_code == 400
    response = client.get("/osdi/v1/people", {"filter": "given_name eq 'a\x00'"})
    assert response.status_code == 400
    assert not Contact.objects.exists()


def test_a_phone_number_too_long_to_store_is_a_400():
    body = signup_body(phone_numbers=[{"number": "14045550123", "extension": "9" * 40}])
    response = osdi().post("/osdi/v1/people", body, format="json")
    assert response.status_code == 400
    assert "person.phone_numbers" in response.json()["errors"]


# --- Petitions and signatures -------------------------------------------------------------------


def test_a_petition_is_a_campaign_with_its_counted_signatures():
    campaign = CampaignFactory(
        title="Stop trafficking", introduction="Why *this*.", statement="We **stand**."
    )
    SignatureFactory.create_batch(2, campaign=campaign)
    SignatureFactory(campaign=campaign, confirmed_at=None)  # not confirmed: not counted
    SignatureFactory(campaign=campaign, flagged=True)  # held back: not counted
    CampaignFactory(status=Campaign.Status.DRAFT)  # drafts are not shown
    body = osdi(["read:campaigns"]).get("/osdi/v1/petitions").json()
    assert body["total_records"] == 1
    petition = body["_embedded"]["osdi:petitions"][0]
    assert petition["title"] == "Stop trafficking"
    assert petition["total_signatures"] == 2
    assert "<em>this</em>" in petition["description"]
    assert "<strong>stand</strong>" in petition["petition_text"]
    assert petition["browser_url"].endswith(f"/campaigns/{campaign.slug}/")
    links = petition["_links"]
    assert links["osdi:signatures"]["href"].endswith(f"/petitions/{campaign.pk}/signatures")
    assert links["osdi:record_signature_helper"]["href"].endswith(
        f"/petitions/{campaign.pk}/record_signature_helper"
    )
    item = osdi(["read:campaigns"]).get(f"/osdi/v1/petitions/{campaign.pk}").json()
    assert item["total_signatures"] == 2


@pytest.mark.parametrize("rows", [1, 100])
def test_the_petitions_list_runs_the_same_queries_for_1_and_100(rows, django_assert_num_queries):
    for _ in range(rows):
        SignatureFactory(campaign=CampaignFactory())
    client = warm(osdi(["read:campaigns"]))
    with django_assert_num_queries(3):  # the key; count; page with counted signatures
        response = client.get("/osdi/v1/petitions?per_page=100")
    assert len(response.json()["_embedded"]["osdi:petitions"]) == rows


def test_signatures_of_a_petition_and_of_a_person_link_both():
    campaign = CampaignFactory()
    organization = OrganizationFactory()
    contact = ContactFactory()
    signature = SignatureFactory(
        campaign=campaign, contact=contact, message="For my daughter.", organization=organization
    )
    SignatureFactory(campaign=campaign, flagged=True)
    SignatureFactory(contact=contact)  # another campaign
    client = osdi(["read:campaigns", "read:contacts"])
    body = client.get(f"/osdi/v1/petitions/{campaign.pk}/signatures").json()
    assert body["total_records"] == 1
    item = body["_embedded"]["osdi:signatures"][0]
    assert item["identifiers"] == [f"crm:{signature.pk}"]
    assert item["comments"] == "For my daughter."
    assert item["crm:status"] == "confirmed"
    assert item["_links"]["osdi:petition"]["href"].endswith(f"/osdi/v1/petitions/{campaign.pk}")
    assert item["_links"]["osdi:person"]["href"].endswith(f"/osdi/v1/people/{contact.pk}")
    assert item["_links"]["crm:organization"]["href"].endswith(
        f"/crm:organizations/{organization.pk}"
    )
    assert "email" not in str(item)
    assert client.get(item["_links"]["self"]["href"]).json()["identifiers"] == item["identifiers"]
    by_person = client.get(f"/osdi/v1/people/{contact.pk}/signatures").json()
    assert by_person["total_records"] == 2
    assert (
        client.get(f"/osdi/v1/people/{contact.pk}/signatures/{signature.pk}").json()["comments"]
        == "For my daughter."
    )
    other = ContactFactory()
    assert client.get(f"/osdi/v1/people/{other.pk}/signatures/{signature.pk}").status_code == 404


@pytest.mark.parametrize("rows", [1, 100])
def test_signature_lists_run_the_same_queries_for_1_and_100(rows, django_assert_num_queries):
    campaign = CampaignFactory()
    contact = ContactFactory()
    SignatureFactory(campaign=campaign, contact=contact)
    for _ in range(rows - 1):
        SignatureFactory(campaign=campaign)
    for _ in range(rows - 1):
        SignatureFactory(contact=contact, campaign=CampaignFactory())
    client = warm(osdi(["read:campaigns", "read:contacts"]))
    # The key; the petition; count; page.
    with django_assert_num_queries(4):
        body = client.get(f"/osdi/v1/petitions/{campaign.pk}/signatures?per_page=100").json()
    assert len(body["_embedded"]["osdi:signatures"]) == rows
    # The key; the person and their affiliations; count; page.
    with django_assert_num_queries(5):
        body = client.get(f"/osdi/v1/people/{contact.pk}/signatures?per_page=100").json()
    assert len(body["_embedded"]["osdi:signatures"]) == rows


def test_the_record_signature_helper_creates_a_new_person_and_their_signature():
    campaign = CampaignFactory(double_opt_in=False)
    client = osdi(["write:signatures", "read:contacts", "read:campaigns"])
    response = client.post(
        f"/osdi/v1/petitions/{campaign.pk}/signatures/",
        {
            **signup_body("Grace@Example.org", given_name="Grace", family_name="Hopper"),
            "comment": "Yes.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response["Content-Type"] == HAL
    contact = Contact.objects.get(email="grace@example.org")
    assert (contact.given_name, contact.family_name) == ("Grace", "Hopper")
    signature = Signature.objects.get()
    assert signature.campaign == campaign
    assert signature.contact == contact
    assert signature.source == Signature.Source.API
    assert signature.message == "Yes."
    assert signature.confirmed_at is not None  # no double opt-in, processed at once
    body = response.json()
    assert body["identifiers"] == [f"crm:{signature.pk}"]
    assert body["comments"] == "Yes."
    assert body["crm:status"] == "confirmed"
    assert body["_links"]["osdi:person"]["href"].endswith(f"/osdi/v1/people/{contact.pk}")
    assert body["_links"]["osdi:petition"]["href"].endswith(f"/osdi/v1/petitions/{campaign.pk}")
    assert body["_embedded"]["osdi:person"]["email_addresses"][0]["address"] == (
        "grace@example.org"
    )
    petition = client.get(f"/osdi/v1/petitions/{campaign.pk}").json()
    assert petition["total_signatures"] == 1


def test_the_record_signature_helper_matches_a_person_and_signing_again_is_one_signature():
    contact = ContactFactory(email="ada@example.org", given_name="Ada", family_name="Lovelace")
    campaign = CampaignFactory(double_opt_in=True)
    client = osdi(["write:signatures"])
    url = f"/osdi/v1/petitions/{campaign.pk}/record_signature_helper"
    first = client.post(url, signup_body("ADA@example.org"), format="json")
    assert first.status_code == 201
    assert first.json()["crm:status"] == "unconfirmed"  # waits for the e-mailed link
    assert "_embedded" not in first.json()  # no read:contacts: the person is only linked
    second = client.post(
        url, {**signup_body("ada@example.org"), "comments": "Again"}, format="json"
    )
    assert second.status_code == 200
    assert Contact.objects.count() == 1
    assert Signature.objects.get().contact == contact
    assert first.json()["identifiers"] == second.json()["identifiers"]


def test_the_record_signature_helper_refuses_a_closed_campaign_and_a_bad_address_clearly():
    closed = CampaignFactory(status=Campaign.Status.CLOSED)
    client = osdi(["write:signatures"])
    response = client.post(
        f"/osdi/v1/petitions/{closed.pk}/signatures", signup_body(), format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "This campaign is closed and no longer takes signatures."
    open_campaign = CampaignFactory()
    response = client.post(
        f"/osdi/v1/petitions/{open_campaign.pk}/signatures", signup_body("nope@"), format="json"
    )
    assert response.status_code == 400
    assert "person.email_addresses" in response.json()["errors"]
    required = CampaignFactory(message_field=Campaign.FieldRule.REQUIRED)
    response = client.post(
        f"/osdi/v1/petitions/{required.pk}/signatures", signup_body(), format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"comments": ["Please enter a message."]}
    draft = CampaignFactory(status=Campaign.Status.DRAFT)
    response = client.post(
        f"/osdi/v1/petitions/{draft.pk}/signatures", signup_body(), format="json"
    )
    assert response.status_code == 404
    assert not Signature.objects.exists() and not Contact.objects.exists()


def test_the_record_signature_helper_keeps_the_line_breaks_of_comments_and_the_referrer():
    member = OrganizationFactory(slug="safe-harbor")
    campaign = CampaignFactory()
    body = {
        **signup_body(employer="Safe Harbor"),
        "comments": "First line.\nSecond line.",
        "referrer_data": {"referrer": "safe-harbor"},
        "crm:show_publicly": True,
    }
    response = osdi(["write:signatures"]).post(
        f"/osdi/v1/petitions/{campaign.pk}/signatures", body, format="json"
    )
    assert response.status_code == 201
    signature = Signature.objects.get()
    assert signature.message == "First line.\nSecond line."
    assert signature.referred_by == member
    assert signature.affiliation == "Safe Harbor"
    assert signature.show_publicly is True


def test_the_record_signature_helper_needs_write_signatures():
    campaign = CampaignFactory()
    response = osdi(["read:campaigns", "write:contacts"]).post(
        f"/osdi/v1/petitions/{campaign.pk}/signatures", signup_body(), format="json"
    )
    assert response.status_code == 403
    assert response.json()["message"] == "This needs the write:signatures scope."


# --- Tags, taggings, organisations ------------------------------------------------------------


def test_tags_and_their_taggings_on_organisations():
    tag = Tag.objects.create(name="Hosts trainings", slug="hosts-trainings")
    organization = OrganizationFactory()
    organization.tags.add(tag)
    client = osdi(["read:members"])
    body = client.get("/osdi/v1/tags").json()
    assert [item["name"] for item in body["_embedded"]["osdi:tags"]] == ["Hosts trainings"]
    taggings_href = body["_embedded"]["osdi:tags"][0]["_links"]["osdi:taggings"]["href"]
    taggings = client.get(taggings_href).json()
    assert taggings["total_records"] == 1
    tagging = taggings["_embedded"]["osdi:taggings"][0]
    assert tagging["item_type"] == "crm:organization"
    assert tagging["_links"]["crm:organization"]["href"].endswith(
        f"/crm:organizations/{organization.pk}"
    )
    assert tagging["_links"]["osdi:tag"]["href"].endswith(f"/tags/{tag.pk}")
    assert client.get(tagging["_links"]["self"]["href"]).json() == tagging
    by_organization = client.get(f"/osdi/v1/crm:organizations/{organization.pk}/taggings").json()
    assert by_organization["_embedded"]["osdi:taggings"] == [tagging]
    response = client.get(taggings_href, {"filter": "modified_date gt '2026-01-01'"})
    assert response.status_code == 400
    assert response.json()["errors"]["filter"] == ["This collection takes no filter."]


@pytest.mark.parametrize("rows", [1, 100])
def test_tag_and_tagging_lists_run_the_same_queries_for_1_and_100(rows, django_assert_num_queries):
    tag = Tag.objects.create(name="T", slug="t")
    for index in range(rows):
        OrganizationFactory().tags.add(tag)
        if index:
            Tag.objects.create(name=f"T{index}", slug=f"t{index}")
    client = warm(osdi(["read:members"]))
    with django_assert_num_queries(3):  # the key; count; page
        assert (
            len(client.get("/osdi/v1/tags?per_page=100").json()["_embedded"]["osdi:tags"]) == rows
        )
    with django_assert_num_queries(4):  # the key; the tag; count; page
        body = client.get(f"/osdi/v1/tags/{tag.pk}/taggings?per_page=100").json()
    assert len(body["_embedded"]["osdi:taggings"]) == rows


def test_member_organisations_are_a_namespaced_resource_of_our_own():
    tag = Tag.objects.create(name="Faith", slug="faith")
    organization = OrganizationFactory(
        name="Safe Harbor",
        city="Atlanta",
        public_email="info@harbor.example.org",
        internal_notes="secret",
    )
    organization.tags.add(tag)
    OrganizationFactory(status=Organization.Status.LAPSED)
    client = osdi(["read:members"])
    body = client.get("/osdi/v1/crm:organizations", {"filter": "status eq 'active'"}).json()
    assert body["total_records"] == 1
    item = body["_embedded"]["crm:organizations"][0]
    assert item["name"] == "Safe Harbor"
    assert item["tags"] == ["Faith"]
    assert item["sector"]["slug"] == organization.sector.slug
    assert item["email"] == "info@harbor.example.org"
    assert "secret" not in str(item)
    assert item["_links"]["self"]["href"] == (
        f"http://testserver/osdi/v1/crm:organizations/{organization.pk}"
    )
    assert client.get(item["_links"]["self"]["href"]).json() == item


@pytest.mark.parametrize("rows", [1, 100])
def test_the_organisations_list_runs_the_same_queries_for_1_and_100(
    rows, django_assert_num_queries
):
    tag = Tag.objects.create(name="T", slug="t")
    for _ in range(rows):
        OrganizationFactory().tags.add(tag)
    client = warm(osdi(["read:members"]))
    with django_assert_num_queries(4):  # the key; count; page with sectors; tags
        body = client.get("/osdi/v1/crm:organizations?per_page=100").json()
    assert len(body["_embedded"]["crm:organizations"]) == rows


# --- A partner bound to one organisation --------------------------------------------------------


def test_a_partner_bound_to_an_organisation_reaches_only_its_people_signatures_and_organisation():
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    tag = Tag.objects.create(name="T", slug="t")
    mine.tags.add(tag)
    theirs.tags.add(tag)
    staff = ContactFactory()
    AffiliationFactory(contact=staff, organization=mine)
    AffiliationFactory(contact=staff, organization=theirs)  # their other membership is not ours
    stranger = AffiliationFactory(organization=theirs).contact
    campaign = CampaignFactory()
    our_signature = SignatureFactory(campaign=campaign, contact=staff, organization=mine)
    their_signature = SignatureFactory(campaign=campaign, contact=stranger, organization=theirs)
    client = osdi(organization=mine)

    people = client.get("/osdi/v1/people").json()
    assert [item["identifiers"] for item in people["_embedded"]["osdi:people"]] == [
        [f"crm:{staff.pk}"]
    ]
    assert [
        a["organization"] for a in people["_embedded"]["osdi:people"][0]["crm:affiliations"]
    ] == [f"crm:{mine.pk}"]
    assert client.get(f"/osdi/v1/people/{stranger.pk}").status_code == 404
    signatures = client.get(f"/osdi/v1/petitions/{campaign.pk}/signatures").json()
    assert [item["identifiers"] for item in signatures["_embedded"]["osdi:signatures"]] == [
        [f"crm:{our_signature.pk}"]
    ]
    assert (
        client.get(f"/osdi/v1/petitions/{campaign.pk}/signatures/{their_signature.pk}").status_code
        == 404
    )
    organizations = client.get("/osdi/v1/crm:organizations").json()
    assert organizations["total_records"] == 1
    assert client.get(f"/osdi/v1/crm:organizations/{theirs.pk}").status_code == 404
    taggings = client.get(f"/osdi/v1/tags/{tag.pk}/taggings").json()
    assert taggings["total_records"] == 1
    assert client.get(f"/osdi/v1/crm:organizations/{theirs.pk}/taggings").status_code == 404
    # The campaigns and the tags are the coalition's public side: all of them.
    assert client.get("/osdi/v1/petitions").json()["total_records"] == 1
    assert client.get("/osdi/v1/tags").json()["total_records"] == 1


def test_a_bound_partner_records_signatures_credited_to_it_and_is_answered_what_it_sent():
    """Its signatures are credited to its organisation (referred_by) and answered as submitted.
    It lists those matched to its organisation, as /api/v1/signatures/ does, not those it only
    brought in: their signers may be anyone's."""
    mine = OrganizationFactory(name="Harbor House", match_key="harbor house")
    campaign = CampaignFactory(double_opt_in=False)
    client = osdi(organization=mine)
    url = f"/osdi/v1/petitions/{campaign.pk}/signatures"
    response = client.post(url, {**signup_body(), "comments": "Count me in."}, format="json")
    assert response.status_code == 201
    signature = Signature.objects.get()
    assert signature.referred_by == mine
    body = response.json()
    assert body["identifiers"] == [f"crm:{signature.pk}"]
    assert (body["comments"], body["crm:name"]) == ("Count me in.", "Ada Lovelace")
    assert body["crm:status"] == "confirmed"  # this submission's own status
    assert "osdi:person" not in body["_links"] and "_embedded" not in body  # not its person
    assert client.get(body["_links"]["self"]["href"]).status_code == 404
    assert client.get(url).json()["total_records"] == 0

    staff = client.post(
        url, signup_body("grace@example.org", employer="Harbor House"), format="json"
    )
    assert staff.status_code == 201
    matched = Signature.objects.get(email="grace@example.org")
    assert matched.organization == mine
    assert client.get(staff.json()["_links"]["self"]["href"]).status_code == 200
    assert staff.json()["_links"]["crm:organization"]["href"].endswith(
        f"/osdi/v1/crm:organizations/{mine.pk}"
    )
    assert client.get(url).json()["total_records"] == 1


def test_a_bound_partner_signing_for_its_own_person_sees_them_but_not_their_other_signature():
    """Carol is in A and B; her signature was matched to B. Partner A posts her address: it is
    answered what it sent, linked to Carol (she is A's) with her A affiliation only."""
    mine, theirs = OrganizationFactory(), OrganizationFactory(name="Bridge Clinic")
    carol = ContactFactory(email="carol@example.org", given_name="Carol")
    AffiliationFactory(contact=carol, organization=mine)
    AffiliationFactory(contact=carol, organization=theirs)
    campaign = CampaignFactory(double_opt_in=True)
    SignatureFactory(
        campaign=campaign,
        contact=carol,
        email=carol.email,
        canonical_email=carol.email,
        organization=theirs,
        affiliation="Bridge Clinic",
        message="Words for B",
        processed_at=timezone.now(),
    )
    client = osdi(["write:signatures", "read:campaigns", "read:contacts"], organization=mine)
    response = client.post(
        f"/osdi/v1/petitions/{campaign.pk}/record_signature_helper",
        signup_body("carol@example.org", given_name="Carol"),
        format="json",
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Words for B" not in text and "Bridge Clinic" not in text
    assert f"organizations/{theirs.pk}" not in text
    body = response.json()
    assert body["_links"]["osdi:person"]["href"].endswith(f"/osdi/v1/people/{carol.pk}")
    person = body["_embedded"]["osdi:person"]
    assert [a["organization"] for a in person["crm:affiliations"]] == [f"crm:{mine.pk}"]


def test_a_bound_partner_passes_on_unsubscriptions_of_its_own_and_new_signers_only():
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    own = AffiliationFactory(organization=mine, contact__email="own@example.org").contact
    other = AffiliationFactory(organization=theirs, contact__email="other@example.org").contact
    campaign = CampaignFactory(double_opt_in=False)
    client = osdi(["write:signatures"], organization=mine)
    answers = []
    for email in ("own@example.org", "other@example.org", "new@example.org"):
        body = signup_body(email)
        body["person"]["email_addresses"][0]["status"] = "unsubscribed"
        response = client.post(f"/osdi/v1/petitions/{campaign.pk}/signatures", body, format="json")
        assert response.status_code == 201
        body = response.json()
        links = sorted(body.pop("_links"))
        for varying in ("identifiers", "created_date", "modified_date"):
            body.pop(varying)
        answers.append((body, links))
    assert answers[1] == answers[2]  # the answer does not tell another's person from a new one
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.email_status == Contact.EmailStatus.UNSUBSCRIBED
    assert other.email_status == Contact.EmailStatus.SUBSCRIBED
    assert Contact.objects.get(email="new@example.org").email_status == (
        Contact.EmailStatus.UNSUBSCRIBED
    )


def test_an_editor_signed_in_reaches_the_osdi_resources_of_their_organisation(editor_client):
    organization = OrganizationFactory()
    client = editor_client(organization)
    body = client.get("/osdi/v1/crm:organizations").json()
    assert [item["identifiers"] for item in body["_embedded"]["crm:organizations"]] == [
        [f"crm:{organization.pk}"]
    ]
    # Only their organisation's people: the editor themself.
    people = client.get("/osdi/v1/people").json()
    assert people["total_records"] == 1


def test_dates_are_utc_with_a_z():
    campaign = CampaignFactory()
    moment = timezone.now().replace(microsecond=123456)
    Campaign.objects.filter(pk=campaign.pk).update(modified=moment)
    body = osdi(["read:campaigns"]).get(f"/osdi/v1/petitions/{campaign.pk}").json()
    assert body["modified_date"] == moment.astimezone(datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.123456Z"
    )
    again = osdi(["read:campaigns"]).get(
        "/osdi/v1/petitions", {"filter": f"modified_date ge '{body['modified_date']}'"}
    )
    assert again.json()["total_records"] == 1


def test_a_bound_partner_signing_up_someone_else_is_refused_and_changes_nothing():
    """As /api/v1/contacts/ (organization_contact_add): a person the directory holds outside the
    partner's organisation is neither changed, unsubscribed nor shown."""
    mine = OrganizationFactory()
    ada = ContactFactory(email="ada@example.org", given_name="Ada", family_name="", phone="")
    body = signup_body(given_name="Eve", phone_numbers=[{"number": "14045550123"}])
    body["person"]["email_addresses"][0]["status"] = "unsubscribed"
    response = osdi(organization=mine).post("/osdi/v1/people", body, format="json")
    assert response.status_code == 400
    [message] = response.json()["errors"]["person.email_addresses"]
    assert "already in the coalition's directory" in message
    assert "Ada" not in response.content.decode()
    ada.refresh_from_db()
    assert (ada.family_name, ada.phone) == ("", "")
    assert ada.email_status == Contact.EmailStatus.SUBSCRIBED
    assert not ada.affiliations.exists()


def test_a_bound_partner_signs_up_new_people_and_its_own_into_its_organisation():
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    carol = ContactFactory(email="carol@example.org", given_name="Carol", phone="")
    AffiliationFactory(contact=carol, organization=mine, role=Affiliation.Role.PRIMARY)
    AffiliationFactory(contact=carol, organization=theirs)
    client = osdi(["read:contacts", "write:contacts"], organization=mine)
    new = client.post("/osdi/v1/people", signup_body(), format="json")
    assert new.status_code == 201
    ada = Contact.objects.get(email="ada@example.org")
    assert list(ada.affiliations.values_list("organization", "role")) == [
        (mine.pk, Affiliation.Role.STAFF)
    ]
    body = signup_body("carol@example.org", phone_numbers=[{"number": "14045550123"}])
    body["person"]["email_addresses"][0]["status"] = "unsubscribed"
    own = client.post("/osdi/v1/people", body, format="json")
    assert own.status_code == 200
    carol.refresh_from_db()
    assert carol.phone == "+14045550123"
    assert carol.email_status == Contact.EmailStatus.UNSUBSCRIBED
    affiliations = own.json()["crm:affiliations"]
    assert {a["organization"] for a in affiliations} == {f"crm:{mine.pk}"}


ODD_QUERIES = [
    {"filter": "modified_date gt '2026-01-01'"},
    {"filter": "'"},
    {"filter": "and or and"},
    {"filter": "modified_date gt ''"},
    {"filter": "email_address eq 'x' or given_name ne 'y'"},
    {"filter": "\u202e\U0001f600 eq '\U0001f600'"},
    {"page": "2", "per_page": "1"},
    {"page": "99999999999999"},
    {"per_page": "-5"},
    {"page": "\u0661"},  # an Arabic-Indic digit: isdigit() is true, int() reads it
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_every_collection_answers_odd_queries_without_a_server_error(query):
    tag = Tag.objects.create(name="T", slug="t")
    organization = OrganizationFactory()
    organization.tags.add(tag)
    signature = SignatureFactory(organization=organization)
    contact, campaign = signature.contact, signature.campaign
    client = osdi()
    for path in [
        "/osdi/v1/",
        "/osdi/v1/people",
        f"/osdi/v1/people/{contact.pk}/signatures",
        "/osdi/v1/petitions",
        f"/osdi/v1/petitions/{campaign.pk}/signatures",
        "/osdi/v1/tags",
        f"/osdi/v1/tags/{tag.pk}/taggings",
        "/osdi/v1/crm:organizations",
        f"/osdi/v1/crm:organizations/{organization.pk}/taggings",
    ]:
        response = client.get(path, query)
        assert response.status_code in (200, 400), (path, query, response.status_code)
        assert response["Content-Type"] == HAL
        if response.status_code == 400:
            assert response.json()["code"] == "invalid"


def test_options_and_head_are_answered_and_head_needs_the_scope_get_needs():
    client = osdi()
    assert client.options("/osdi/v1/people").status_code == 200
    assert client.head("/osdi/v1/petitions").status_code == 200
    assert osdi(["read:campaigns"]).head("/osdi/v1/people").status_code == 403


@pytest.mark.parametrize("rows", [1, 100])
def test_an_organisations_taggings_run_the_same_queries_for_1_and_100(
    rows, django_assert_num_queries
):
    organization = OrganizationFactory()
    organization.tags.add(
        *[Tag.objects.create(name=f"T{index}", slug=f"t{index}") for index in range(rows)]
    )
    client = warm(osdi(["read:members"]))
    with django_assert_num_queries(5):  # the key; the organisation and its tags; count; page
        body = client.get(f"/osdi/v1/crm:organizations/{organization.pk}/taggings?per_page=100")
    assert len(body.json()["_embedded"]["osdi:taggings"]) == rows


def test_processing_a_signature_now_is_a_no_op_once_it_is_processed():
    from campaigns.services import signature_process_now

    signature = SignatureFactory()
    before = Signature.objects.values().get(pk=signature.pk)
    assert signature_process_now(signature_id=signature.pk).pk == signature.pk
    assert Signature.objects.values().get(pk=signature.pk) == before
    assert signature_process_now(signature_id=signature.pk + 1000) is None
