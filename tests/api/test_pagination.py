"""Cursor pages (api/pagination.py): every row once while rows change between pages, whatever the
ordering; cursors the API did not issue are a 404, never a 500; one query per page."""

from __future__ import annotations

import base64
import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import filters, generics, serializers
from rest_framework.test import APIRequestFactory

from api.pagination import CURSOR_SALT, SyncCursorPagination
from members.models import Contact, Organization
from tests.api.conftest import client_with_key, key_for
from tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

READ = ["read:members", "read:contacts"]


@pytest.fixture
def client():
    return client_with_key(key_for(scopes=READ))


def pull(client, path, params, *, between=None) -> list[int]:
    """Every page's ids in order, following ``next``; ``between(seen)`` runs after each page."""
    response = client.get(path, params)
    seen = []
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [row["id"] for row in body["results"]]
        if between is not None:
            between(seen)
        if not body["next"]:
            return seen
        response = client.get(body["next"])


def organizations(count, **fields):
    rows = [OrganizationFactory(**fields) for _ in range(count)]
    return [row.pk for row in rows]


def test_by_id_every_row_once_while_rows_are_added_changed_and_deleted(client):
    ids = organizations(7)
    added = []

    def meanwhile(seen):
        if len(seen) == 2:
            Organization.objects.filter(pk=ids[0]).update(city="Macon", modified=timezone.now())
            Organization.objects.filter(pk=ids[5]).delete()
            added.append(OrganizationFactory().pk)

    seen = pull(client, "/api/v1/organizations/", {"page_size": 2}, between=meanwhile)
    expected = [pk for pk in ids if pk != ids[5]] + added
    assert seen == expected


def test_by_descending_id_every_row_once_and_newest_first(client):
    ids = organizations(7)

    def meanwhile(seen):
        if len(seen) == 3:
            Organization.objects.filter(pk=ids[0]).update(city="Macon", modified=timezone.now())

    seen = pull(
        client, "/api/v1/organizations/", {"ordering": "-id", "page_size": 3}, between=meanwhile
    )
    assert seen == sorted(ids, reverse=True)


@pytest.mark.parametrize("ordering", ["modified", "-modified", "created"])
def test_by_a_shared_timestamp_no_unchanged_row_is_skipped_or_repeated(client, ordering):
    """All rows share one ``modified`` (a QuerySet.update in a service); rows already served are
    changed while paging (they move to the newest end, and are served again going up)."""
    ids = organizations(9)
    moment = timezone.now() - datetime.timedelta(hours=1)
    Organization.objects.update(modified=moment, created=moment)
    changed = set()

    def meanwhile(seen):
        pk = seen[-1]
        if pk not in changed:
            changed.add(pk)
            Organization.objects.filter(pk=pk).update(city="Macon", modified=timezone.now())

    seen = pull(
        client, "/api/v1/organizations/", {"ordering": ordering, "page_size": 2}, between=meanwhile
    )
    for pk in set(ids) - changed:
        assert seen.count(pk) == 1, (pk, seen)
    assert set(seen) == set(ids)
    if ordering != "modified":
        assert sorted(seen) == sorted(ids)  # nothing moves past the cursor: once each


@pytest.mark.parametrize("rename", ["Zed", "Aaron"])
def test_by_a_name_many_share_no_unchanged_person_is_skipped_or_repeated(client, rename):
    johns = [ContactFactory(given_name="John").pk for _ in range(5)]
    others = [ContactFactory(given_name=name).pk for name in ("Alice", "Mary", "Zoe")]
    renamed = []

    def meanwhile(seen):
        if not renamed:
            renamed.append(seen[-1])
            Contact.objects.filter(pk=seen[-1]).update(given_name=rename)

    params = {"ordering": "given_name", "page_size": 3}
    seen = pull(client, "/api/v1/contacts/", params, between=meanwhile)
    for pk in set(johns + others) - set(renamed):
        assert seen.count(pk) == 1, (pk, seen)
    assert set(seen) == set(johns + others)
    # Ties are in id order.
    served_johns = [pk for pk in seen if pk in johns and pk not in renamed]
    assert served_johns == sorted(served_johns)


def test_by_descending_name_ties_run_by_descending_id(client):
    ids = organizations(4, name="Same")
    other = organizations(1, name="Another")
    seen = pull(client, "/api/v1/organizations/", {"ordering": "-name", "page_size": 1})
    assert seen == sorted(ids, reverse=True) + other


def test_previous_pages_back_to_the_first(client):
    ids = organizations(5, name="Same")
    response = client.get("/api/v1/organizations/", {"ordering": "name", "page_size": 2})
    first = response.json()
    assert first["previous"] is None
    pages = [first]
    while pages[-1]["next"]:
        pages.append(client.get(pages[-1]["next"]).json())
    assert [row["id"] for page in pages for row in page["results"]] == ids
    back = client.get(pages[-1]["previous"]).json()
    assert back["results"] == pages[-2]["results"]
    back = client.get(back["previous"]).json()
    assert back["results"] == pages[0]["results"]
    assert back["previous"] is None
    assert client.get(back["next"]).json()["results"] == pages[1]["results"]


def test_an_empty_page_past_the_end_links_back(client):
    ids = organizations(3)
    first = client.get("/api/v1/organizations/", {"page_size": 2}).json()
    Organization.objects.filter(pk=ids[2]).delete()
    page = client.get(first["next"]).json()
    assert page["results"] == []
    assert page["next"] is None
    back = client.get(page["previous"]).json()
    assert [row["id"] for row in back["results"]] == ids[:2]


def _signed(cursor) -> str:
    return signing.dumps(cursor, salt=CURSOR_SALT, compress=True)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


GARBAGE = [
    "abc",
    "!!!",
    "%00",
    "x" * 10_000,
    "é",
    _b64("p=abc"),
    _b64("p=1.5"),
    _b64("r=1&p=x"),
    _b64("o=99999999&p=1"),
]


@pytest.mark.parametrize("path", ["organizations", "contacts", "signatures", "webhook-deliveries"])
@pytest.mark.parametrize("cursor", GARBAGE)
def test_a_cursor_the_api_did_not_issue_is_a_404(path, cursor):
    OrganizationFactory()
    scopes = [*READ, "read:campaigns", "write:webhooks"]
    client = client_with_key(key_for(scopes=scopes))
    response = client.get(f"/api/v1/{path}/", {"cursor": cursor})
    assert response.status_code == 404, response.content
    assert response.json() == {"message": "Invalid cursor", "code": "not_found", "errors": {}}


def test_a_tampered_or_misapplied_signed_cursor_is_a_404(client):
    organizations(3)
    page = client.get("/api/v1/organizations/", {"page_size": 1}).json()
    cursor = parse_qs(urlsplit(page["next"]).query)["cursor"][0]
    assert (
        client.get("/api/v1/organizations/", {"cursor": cursor, "page_size": 1}).status_code == 200
    )
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert client.get("/api/v1/organizations/", {"cursor": tampered}).status_code == 404
    # The same cursor with another ordering than it was issued for.
    other = client.get("/api/v1/organizations/", {"cursor": cursor, "ordering": "-name"})
    assert other.status_code == 404
    # Signed with another salt (another use of the secret key).
    wrong_salt = signing.dumps({"o": ["id"], "p": [1]}, salt="elsewhere")
    assert client.get("/api/v1/organizations/", {"cursor": wrong_salt}).status_code == 404


@pytest.mark.parametrize(
    "cursor",
    [
        {"o": ["id"], "p": ["abc"]},
        {"o": ["id"], "p": [[1]]},
        {"o": ["id"], "p": [1, 2]},
        {"o": ["id"], "p": "1"},
        {"o": ["modified", "id"], "p": ["yesterday", 1]},
        {"o": "id"},
        ["id", 1],
    ],
)
def test_even_a_signed_cursor_with_a_wrong_position_is_a_404(client, cursor):
    """Only we can sign; should a cursor of ours still not fit (a field's type changed), it is
    converted by the field, not put into SQL as it is."""
    organizations(2)
    params = {"cursor": _signed(cursor)}
    if isinstance(cursor, dict) and cursor.get("o") == ["modified", "id"]:
        params["ordering"] = "modified"
    response = client.get("/api/v1/organizations/", params)
    assert response.status_code == 404, response.content


def test_an_empty_cursor_is_the_first_page(client):
    ids = organizations(2)
    response = client.get("/api/v1/organizations/", {"cursor": ""})
    assert [row["id"] for row in response.json()["results"]] == ids


def _page_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("ordering", ["id", "-modified", "name"])
def test_a_page_costs_the_same_queries_at_1_and_100_rows_and_after_a_cursor(client, ordering):
    client.get("/api/v1/organizations/")  # the key's "last used" stamp, once a minute
    organizations(1)
    one = _page_queries(client, "/api/v1/organizations/", {"ordering": ordering})
    organizations(199)
    first = client.get("/api/v1/organizations/", {"ordering": ordering, "page_size": 100}).json()
    many = _page_queries(client, "/api/v1/organizations/", {"ordering": ordering, "page_size": 100})
    after = _page_queries(client, first["next"])
    assert one == many == after


def test_the_schema_describes_the_page(client):
    schema = client.get("/api/schema/?format=json").json()
    page = schema["components"]["schemas"]["PaginatedOrganizationList"]
    assert set(page["required"]) == {"next", "previous", "results"}
    assert set(page["properties"]) == {"next", "previous", "results", "deleted"}
    parameters = {p["name"] for p in schema["paths"]["/api/v1/organizations/"]["get"]["parameters"]}
    assert {"cursor", "page_size", "ordering"} <= parameters


# --- A nullable ordering field (none of the API's lists has one yet) ----------------------------


class _OrganizationRow(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "joined_on"]


class _ByJoinedOn(generics.ListAPIView):
    authentication_classes = []
    permission_classes = []
    queryset = Organization.objects.all()
    serializer_class = _OrganizationRow
    pagination_class = SyncCursorPagination
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["id", "joined_on"]
    ordering = ["joined_on"]


def _pull_view(params) -> list[tuple[int, str | None]]:
    view = _ByJoinedOn.as_view()
    factory = APIRequestFactory()
    request = factory.get("/rows/", params)
    rows = []
    while True:
        body = view(request).render().data
        rows += [(row["id"], row["joined_on"]) for row in body["results"]]
        if not body["next"]:
            return rows
        request = factory.get(body["next"])


@pytest.mark.parametrize("ordering", ["joined_on", "-joined_on"])
def test_a_nullable_ordering_field_pages_every_row_once_nulls_at_the_top_end(ordering):
    day = datetime.date(2020, 1, 1)
    values = [None, day, None, day + datetime.timedelta(days=1), None, day, None]
    ids = [OrganizationFactory(joined_on=value).pk for value in values]
    rows = _pull_view({"ordering": ordering, "page_size": 2})
    assert sorted(pk for pk, _ in rows) == ids
    nulls = [pk for pk, joined in rows if joined is None]
    dated = [joined for _pk, joined in rows if joined is not None]
    if ordering == "joined_on":
        assert [joined for _pk, joined in rows[-4:]] == [None] * 4
        assert dated == sorted(dated)
        assert nulls == sorted(nulls)
    else:
        assert [joined for _pk, joined in rows[:4]] == [None] * 4
        assert dated == sorted(dated, reverse=True)
        assert nulls == sorted(nulls, reverse=True)


# --- Every list's orderings ---------------------------------------------------------------------


def _orderings():
    from api.urls import router

    for prefix, viewset, _basename in router.registry:
        if viewset.queryset is None or not hasattr(viewset, "list"):
            continue
        for name in getattr(viewset, "ordering_fields", None) or ():
            yield prefix, viewset.queryset.model, name


@pytest.mark.parametrize(("prefix", "model", "name"), list(_orderings()))
def test_every_ordering_a_list_offers_is_a_plain_non_null_field_and_pages(
    api_convener, prefix, model, name
):
    """The cursor keys on model fields only (not relations or annotations); a nullable one would
    page correctly too, but none is offered, so NULLs have no order to document."""
    field = model._meta.get_field(name)
    assert field.concrete and not field.is_relation and not field.null
    for ordering in (name, f"-{name}"):
        response = api_convener.get(f"/api/v1/{prefix}/", {"ordering": ordering, "page_size": 1})
        assert response.status_code == 200, response.content
