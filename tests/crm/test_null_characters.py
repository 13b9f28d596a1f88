"""A NUL character in an API query string is a 400 naming the parameter, never a database
error (PostgreSQL text cannot hold one)."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/sectors/?slug=%00", "slug"),
        ("/api/v1/organizations/?sector=a%00b", "sector"),
        ("/osdi/v1/people?filter=%00", "filter"),
        ("/api/v1/sectors/?%00=1", "non_field_errors"),
    ],
    ids=["sector-slug", "organisation-sector", "osdi-filter", "in-a-name"],
)
def test_the_api_answers_400_naming_the_parameter(path, field):
    response = APIClient().get(path)
    assert response.status_code == 400
    assert response.json() == {
        "message": "A parameter holds a NUL character, which none may.",
        "code": "invalid",
        "errors": {field: ["This may not hold a NUL character."]},
    }


def test_a_nul_character_in_a_json_body_is_a_400_naming_where(api_convener_client):
    response = api_convener_client.post(
        "/api/v1/organizations/",
        {"name": "Harbor", "sector": "\x00", "tags": ["ok", "a\x00b"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "sector": ["This may not hold a NUL character."],
        "tags.1": ["This may not hold a NUL character."],
    }


@pytest.fixture
def api_convener_client(convener):
    client = APIClient()
    client.force_login(convener)
    return client


def test_the_api_speaks_utc(api_convener_client, settings):
    settings.TIME_ZONE = "America/New_York"
    body = api_convener_client.get("/api/v1/sectors/?page_size=1").json()
    assert body["results"][0]["modified"].endswith("Z")
    # A time without an offset is UTC: 23:59 UTC yesterday is before every row.
    import datetime

    yesterday = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    assert api_convener_client.get(f"/api/v1/sectors/?modified_since={yesterday}").json()["results"]
