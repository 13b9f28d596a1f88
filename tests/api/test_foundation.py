"""What every endpoint shares: keys and scopes, the error shape, throttling, the schema and docs."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from api.keys import api_key_check, api_key_revoke
from api.models import ApiKey, Partner
from members.models import Sector
from tests.api.conftest import client_with_key, key_for
from tests.factories import OrganizationFactory, SectorFactory

pytestmark = pytest.mark.django_db


def test_create_partner_prints_the_key_last_and_stores_only_its_hash():
    out = io.StringIO()
    call_command(
        "create_partner",
        "Action Network sync",
        "--scopes",
        "read:members,read:campaigns",
        stdout=out,
    )
    key_text = out.getvalue().strip().splitlines()[-1]

    key = ApiKey.objects.get()
    assert key.partner.name == "Action Network sync"
    assert key.scopes == ["read:members", "read:campaigns"]
    assert key_text.startswith(f"crm_{key.prefix}_")
    assert key_text.split("_", 2)[2] not in key.key_hash  # only the hash is stored
    assert api_key_check(key_text) == key
    response = client_with_key(key_text).get("/api/v1/sectors/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["X", "--scopes", "read:everything"], "Unknown scope: read:everything"),
        (["X", "--scopes", " , "], "Give at least one scope"),
        (["X", "--scopes", "read:members", "--organization", "nope"], "No member organisation"),
    ],
    ids=["unknown-scope", "no-scope", "unknown-organisation"],
)
def test_create_partner_refuses_bad_input_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_partner", *args, stdout=io.StringIO())
    assert not Partner.objects.exists()


def test_a_partner_bound_to_an_organisation_is_told_so():
    OrganizationFactory(slug="safe-harbor", name="Safe Harbor")
    out = io.StringIO()
    call_command(
        "create_partner",
        "Harbor's CRM",
        "--scopes",
        "read:members",
        "--organization",
        "safe-harbor",
        stdout=out,
    )
    assert "Reaches only: Safe Harbor" in out.getvalue()
    assert Partner.objects.get().organization.slug == "safe-harbor"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer crm_nothing_here"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-key"},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
    ],
    ids=["none", "unknown-key", "garbage", "basic-auth"],
)
def test_without_a_valid_key_the_answer_is_401_in_the_one_shape(headers):
    response = APIClient().get("/api/v1/sectors/", **headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"message", "code", "errors"}
    assert body["code"] in {"not_authenticated", "authentication_failed"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused():
    text = key_for(scopes=["read:members"])
    api_key_revoke(key=ApiKey.objects.get())
    response = client_with_key(text).get("/api/v1/sectors/")
    assert response.status_code == 401
    assert response.json()["message"] == "The API key is not valid or has been revoked."


def test_a_key_without_the_scope_gets_403_naming_it():
    response = client_with_key(key_for(scopes=["read:campaigns"])).get("/api/v1/sectors/")
    assert response.status_code == 403
    assert response.json() == {
        "message": "This needs the read:members scope.",
        "code": "permission_denied",
        "errors": {},
    }


def test_an_unknown_address_under_the_api_is_a_json_404():
    for path in ["/api/v1/nothing/", "/api/v2/sectors/", "/osdi/v1/nothing"]:
        response = APIClient().get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_a_signed_in_person_without_a_role_is_refused(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("someone"))
    response = client.get("/api/v1/sectors/")
    assert response.status_code == 403
    assert "conveners" in response.json()["message"]


def test_over_the_rate_the_answer_is_429_with_retry_after(settings):
    settings.API_RATE_LIMIT = 3
    client = client_with_key(key_for(scopes=["read:members"]))
    codes = [client.get("/api/v1/sectors/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get("/api/v1/sectors/")
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= settings.API_RATE_WINDOW
    # Another partner's key has a count of its own.
    other = client_with_key(key_for(scopes=["read:members"], name="Partner B"))
    assert other.get("/api/v1/sectors/").status_code == 200


def test_sectors_list_is_cursor_paged_and_constant_in_queries(
    api_convener, django_assert_num_queries
):
    for position in range(7):
        SectorFactory(position=position)
    # The session, its user, the user's group (is a convener), one page of sectors.
    with django_assert_num_queries(4):
        response = api_convener.get("/api/v1/sectors/?page_size=5")
    body = response.json()
    assert [row["id"] for row in body["results"]] == list(
        Sector.objects.order_by("id").values_list("id", flat=True)[:5]
    )
    assert body["next"] and body["previous"] is None
    seen = [row["id"] for row in body["results"]]
    while body["next"]:
        body = api_convener.get(body["next"]).json()
        seen += [row["id"] for row in body["results"]]
    assert seen == list(Sector.objects.order_by("id").values_list("id", flat=True))


def test_the_schema_and_the_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    document = schema.json()
    assert "/api/v1/sectors/" in document["paths"]
    listing = document["paths"]["/api/v1/sectors/"]["get"]
    assert {"400", "401", "403", "429"} <= set(listing["responses"])
    assert "modified_since" in {p["name"] for p in listing["parameters"]}
    docs = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
    assert "cdn" not in docs.lower() and "unpkg" not in docs.lower()


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("0578-06-05T18:53:31+19:12", 200),  # past PostgreSQL's ±15:59, converted to UTC
        ("2026-01-01T00:00:00-23:59", 200),
        ("0001-01-01T00:00:00+05:00", 400),  # before year 1 in UTC
        ("9999-12-31T23:59:59-05:00", 400),  # after year 9999 in UTC
    ],
    ids=["offset-19h", "offset-minus-24h", "before-year-1", "after-year-9999"],
)
def test_any_iso_time_is_read_in_utc_or_refused_never_a_500(api_convener, value, status):
    response = api_convener.get("/api/v1/campaigns/", {"modified_since": value})
    assert response.status_code == status
    if status == 400:
        assert "modified_since" in response.json()["errors"]


def test_an_osdi_filter_time_with_a_wide_offset_is_read_in_utc(db):
    from tests.api.conftest import key_for

    client = client_with_key(key_for(scopes=["read:campaigns"]), osdi=True)
    response = client.get(
        "/osdi/v1/petitions", {"filter": "modified_date gt '0578-06-05T18:53:31+19:12'"}
    )
    assert response.status_code == 200
