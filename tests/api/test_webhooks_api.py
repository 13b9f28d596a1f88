"""/api/v1/webhooks/ and /api/v1/webhook-deliveries/: a partner manages its own endpoints and
reads its own delivery log; conveners see every partner's; nobody else has any."""

import pytest
from django.db import transaction

from api.keys import api_key_create, partner_create
from api.models import WebhookDelivery, WebhookEndpoint
from api.webhooks import webhook_endpoint_create
from members.services import contact_update, organization_update
from tests.api.conftest import client_with_key
from tests.api.webhook_helpers import deliveries_of, partner_with_endpoint
from tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

READS = ["read:members", "read:contacts", "read:campaigns"]
HOOK = "https://hooks.example.org/crm"


@pytest.fixture(autouse=True)
def _production_rules(settings):
    # As in production: https and public addresses only. Names are not resolved on registration.
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


def two_partners():
    """Partners A and B, each with an endpoint, a delivery and a key that may manage them."""
    a, endpoint_a, key_a = partner_with_endpoint(
        name="A", url=HOOK, scopes=[*READS, "write:webhooks"]
    )
    b, endpoint_b, key_b = partner_with_endpoint(
        name="B", url=HOOK, scopes=[*READS, "write:webhooks"]
    )
    contact_update(contact=ContactFactory(), data={"title": "Chair"})
    return (client_with_key(key_a), endpoint_a), (client_with_key(key_b), endpoint_b)


def errors_of(response) -> dict:
    body = response.json()
    assert set(body) == {"message", "code", "errors"}
    return body["errors"]


# --- Endpoints ----------------------------------------------------------------------------------


def test_a_partner_registers_an_endpoint_and_sees_its_secret_once(partner_client):
    client = partner_client(scopes=[*READS, "write:webhooks"])
    response = client.post(
        "/api/v1/webhooks/",
        {"url": HOOK, "events": ["signature.created", "contact.updated"], "description": "CRM"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert created["secret"] == endpoint.secret
    assert created["secret"].startswith("whsec_")
    assert created["partner"] == endpoint.partner_id
    assert created["events"] == ["signature.created", "contact.updated"]
    assert created["active"] is True

    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert [row["id"] for row in listed] == [endpoint.pk]
    assert "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{endpoint.pk}/").json()


def test_a_partner_changes_rotates_and_deletes_its_endpoint(partner_client):
    (client, endpoint), _b = two_partners()
    old_secret = endpoint.secret

    response = client.patch(
        f"/api/v1/webhooks/{endpoint.pk}/",
        {"events": ["organization.updated"], "active": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["events"] == ["organization.updated"]
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.active) == (["organization.updated"], False)

    response = client.put(
        f"/api/v1/webhooks/{endpoint.pk}/",
        {"url": "https://other.example.org/in", "events": ["contact.updated"]},
        format="json",
    )
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.url == "https://other.example.org/in"
    assert endpoint.active is True  # a PUT without it: the default

    response = client.post(f"/api/v1/webhooks/{endpoint.pk}/rotate/")
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json() == {"id": endpoint.pk, "secret": endpoint.secret}
    assert endpoint.secret != old_secret

    assert client.delete(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).exists()


def test_partner_a_never_reaches_partner_bs_endpoints_or_deliveries():
    (client_a, endpoint_a), (_client_b, endpoint_b) = two_partners()
    [delivery_b] = deliveries_of(endpoint_b)
    secret_b = endpoint_b.secret

    assert [row["id"] for row in client_a.get("/api/v1/webhooks/").json()["results"]] == [
        endpoint_a.pk
    ]
    own = [row["id"] for row in client_a.get("/api/v1/webhook-deliveries/").json()["results"]]
    assert own == [d.pk for d in deliveries_of(endpoint_a)]
    assert (
        client_a.get(f"/api/v1/webhook-deliveries/?endpoint={endpoint_b.pk}").json()["results"]
        == []
    )
    for method, path in [
        ("get", f"/api/v1/webhooks/{endpoint_b.pk}/"),
        ("patch", f"/api/v1/webhooks/{endpoint_b.pk}/"),
        ("put", f"/api/v1/webhooks/{endpoint_b.pk}/"),
        ("delete", f"/api/v1/webhooks/{endpoint_b.pk}/"),
        ("post", f"/api/v1/webhooks/{endpoint_b.pk}/rotate/"),
        ("get", f"/api/v1/webhook-deliveries/{delivery_b.pk}/"),
        ("post", f"/api/v1/webhook-deliveries/{delivery_b.pk}/redeliver/"),
    ]:
        response = getattr(client_a, method)(path, {"active": False}, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"
    endpoint_b.refresh_from_db()
    assert endpoint_b.active and endpoint_b.secret == secret_b


def test_a_key_cannot_register_for_another_partner():
    (client_a, _endpoint_a), (_client_b, endpoint_b) = two_partners()
    response = client_a.post(
        "/api/v1/webhooks/",
        {"url": HOOK, "events": ["contact.updated"], "partner": endpoint_b.partner_id},
        format="json",
    )
    assert response.status_code == 400
    assert "partner" in errors_of(response)
    assert WebhookEndpoint.objects.filter(partner_id=endpoint_b.partner_id).count() == 1


def test_conveners_see_and_manage_every_partners_endpoints(api_convener):
    (_a, endpoint_a), (_b, endpoint_b) = two_partners()
    rows = api_convener.get("/api/v1/webhooks/").json()["results"]
    assert [row["id"] for row in rows] == [endpoint_a.pk, endpoint_b.pk]
    only_b = api_convener.get(f"/api/v1/webhooks/?partner={endpoint_b.partner_id}").json()
    assert [row["id"] for row in only_b["results"]] == [endpoint_b.pk]
    deliveries = api_convener.get("/api/v1/webhook-deliveries/").json()["results"]
    assert {row["endpoint"] for row in deliveries} == {endpoint_a.pk, endpoint_b.pk}

    # A convener registers for a partner they name.
    missing = api_convener.post(
        "/api/v1/webhooks/", {"url": HOOK, "events": ["contact.updated"]}, format="json"
    )
    assert missing.status_code == 400
    assert "partner" in errors_of(missing)
    response = api_convener.post(
        "/api/v1/webhooks/",
        {"url": HOOK, "events": ["contact.updated"], "partner": endpoint_b.partner_id},
        format="json",
    )
    assert response.status_code == 201
    assert WebhookEndpoint.objects.filter(partner_id=endpoint_b.partner_id).count() == 2


@pytest.mark.parametrize("path", ["/api/v1/webhooks/", "/api/v1/webhook-deliveries/"])
def test_editors_and_keys_without_the_scope_have_no_webhooks(editor_client, partner_client, path):
    two_partners()
    for client in (editor_client(OrganizationFactory()), partner_client(scopes=READS, name="C")):
        response = client.get(path)
        assert response.status_code == 403
        assert "write:webhooks" in response.json()["message"]
    response = partner_client(scopes=READS, name="D").post(
        "/api/v1/webhooks/", {"url": HOOK, "events": ["contact.updated"]}, format="json"
    )
    assert response.status_code == 403


# --- Bad input: 400 in the one shape, never 500 -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.org/x", "events": ["contact.updated"]}, "url"),
        ({"url": "not a url", "events": ["contact.updated"]}, "url"),
        ({"url": "http://hooks.example.org/x", "events": ["contact.updated"]}, "url"),
        ({"url": "https://127.0.0.1/x", "events": ["contact.updated"]}, "url"),
        ({"url": "https://[::1]/x", "events": ["contact.updated"]}, "url"),
        ({"url": "https://10.1.2.3/x", "events": ["contact.updated"]}, "url"),
        ({"url": "https://169.254.169.254/latest", "events": ["contact.updated"]}, "url"),
        ({"url": "https://localhost/x", "events": ["contact.updated"]}, "url"),
        ({"url": "https://[bad/x", "events": ["contact.updated"]}, "url"),
        ({"url": "https://hooks.example.org:99999/x", "events": ["contact.updated"]}, "url"),
        ({"url": "https://" + "a" * 600 + ".org/", "events": ["contact.updated"]}, "url"),
        ({"url": 12, "events": ["contact.updated"]}, "url"),
        ({"url": HOOK, "events": ["contact.deleted"]}, "events"),
        ({"url": HOOK, "events": []}, "events"),
        ({"url": HOOK, "events": "contact.updated"}, "events"),
        ({"url": HOOK, "events": [{"x": 1}]}, "events"),
        ({"url": HOOK}, "events"),
        ({"url": HOOK, "events": ["contact.updated"], "active": "maybe"}, "active"),
        ({"url": HOOK, "events": ["contact.updated"], "partner": 10**30}, "partner"),
        ({"url": HOOK, "events": ["contact.updated"], "description": "x" * 201}, "description"),
    ],
)
def test_bad_endpoint_input_is_a_400_naming_the_field(partner_client, body, field):
    client = partner_client(scopes=[*READS, "write:webhooks"])
    response = client.post("/api/v1/webhooks/", body, format="json")
    assert response.status_code == 400, response.json()
    assert any(key == field or key.startswith(f"{field}.") for key in errors_of(response))
    assert not WebhookEndpoint.objects.exists()


def test_events_the_partner_may_not_hear_are_refused(partner_client):
    client = partner_client(scopes=["read:members", "write:webhooks"])
    response = client.post(
        "/api/v1/webhooks/", {"url": HOOK, "events": ["contact.updated"]}, format="json"
    )
    assert response.status_code == 400
    assert "read:contacts" in errors_of(response)["events"][0]


def test_malformed_json_and_odd_ids_are_answered_without_a_500(partner_client):
    client = partner_client(scopes=[*READS, "write:webhooks"])
    response = client.generic(
        "POST", "/api/v1/webhooks/", '{"url": "https://x', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    response = client.post("/api/v1/webhooks/", ["not", "an", "object"], format="json")
    assert response.status_code == 400
    for path in [
        "/api/v1/webhooks/99999999999999999999999/",
        "/api/v1/webhooks/-1/",
        "/api/v1/webhooks/abc/",
        "/api/v1/webhook-deliveries/99999999999999999999999/redeliver/",
    ]:
        assert client.get(path).status_code == 404
    for query in ["endpoint=1e30", "endpoint=99999999999999999999999", "status=lost", "event=x"]:
        response = client.get(f"/api/v1/webhook-deliveries/?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "invalid"


def test_a_partner_has_at_most_20_endpoints(partner_client):
    client = partner_client(scopes=[*READS, "write:webhooks"])
    for n in range(20):
        body = {"url": f"{HOOK}/{n}", "events": ["contact.updated"]}
        assert client.post("/api/v1/webhooks/", body, format="json").status_code == 201
    response = client.post(
        "/api/v1/webhooks/", {"url": HOOK, "events": ["contact.updated"]}, format="json"
    )
    assert response.status_code == 400
    assert "at most 20" in response.json()["message"]


# --- The delivery log ---------------------------------------------------------------------------


def test_the_delivery_log_shows_state_and_filters(partner_client):
    (client, endpoint), _b = two_partners()
    organization = OrganizationFactory()
    organization_update(organization=organization, data={"city": "Macon"})
    contact_delivery, org_delivery = deliveries_of(endpoint)
    WebhookDelivery.objects.filter(pk=org_delivery.pk).update(
        status="failed", attempts=32, response_status=500, last_error="HTTP 500: down"
    )

    rows = client.get("/api/v1/webhook-deliveries/").json()["results"]
    assert [row["id"] for row in rows] == [contact_delivery.pk, org_delivery.pk]
    failed = client.get("/api/v1/webhook-deliveries/?status=failed").json()["results"]
    assert [row["id"] for row in failed] == [org_delivery.pk]
    assert failed[0] | {"created": None, "modified": None, "next_attempt_at": None} == {
        "id": org_delivery.pk,
        "endpoint": endpoint.pk,
        "event": "organization.updated",
        "event_id": str(org_delivery.event_id),
        "status": "failed",
        "attempts": 32,
        "response_status": 500,
        "last_error": "HTTP 500: down",
        "next_attempt_at": None,
        "last_attempt_at": None,
        "delivered_at": None,
        "created": None,
        "modified": None,
    }
    by_event = client.get("/api/v1/webhook-deliveries/?event=contact.updated").json()
    assert [row["id"] for row in by_event["results"]] == [contact_delivery.pk]
    by_endpoint = client.get(f"/api/v1/webhook-deliveries/?endpoint={endpoint.pk}").json()
    assert len(by_endpoint["results"]) == 2

    detail = client.get(f"/api/v1/webhook-deliveries/{contact_delivery.pk}/").json()
    assert detail["payload"] == contact_delivery.payload


def test_the_body_sent_is_shown_only_with_read_contacts():
    partner = partner_create(name="Lean")
    _key, full = api_key_create(partner=partner, scopes=[*READS, "write:webhooks"])
    _key, lean = api_key_create(partner=partner, scopes=["write:webhooks"])
    endpoint = webhook_endpoint_create(partner=partner, url=HOOK, events=["contact.updated"])
    contact_update(contact=ContactFactory(email="ada@example.org"), data={"title": "Chair"})
    [delivery] = deliveries_of(endpoint)

    full_view = client_with_key(full).get(f"/api/v1/webhook-deliveries/{delivery.pk}/").json()
    assert full_view["payload"]["data"]["email"] == "ada@example.org"
    lean_view = client_with_key(lean).get(f"/api/v1/webhook-deliveries/{delivery.pk}/").json()
    assert "payload" not in lean_view
    assert "ada@example.org" not in str(lean_view)


def test_redeliver_puts_a_failed_delivery_back_in_line(django_capture_on_commit_callbacks):
    (client, endpoint), _b = two_partners()
    [delivery] = deliveries_of(endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=32)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
    assert len(callbacks) == 1

    # Its endpoint inactive: refused, saying why.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False)
    response = client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 400
    assert "inactive" in response.json()["message"]


# --- Constant queries ---------------------------------------------------------------------------


def _many_deliveries(endpoint, count):
    rows = [
        WebhookDelivery(endpoint=endpoint, event="contact.updated", payload={"n": n})
        for n in range(count)
    ]
    with transaction.atomic():
        WebhookDelivery.objects.bulk_create(rows)


@pytest.mark.parametrize("rows", [1, 100])
def test_lists_run_a_constant_number_of_queries(rows, django_assert_num_queries, api_convener):
    partner, endpoint, key = partner_with_endpoint(
        name="A", url=HOOK, scopes=[*READS, "write:webhooks"]
    )
    for n in range(rows - 1):
        WebhookEndpoint.objects.create(
            partner=partner, url=f"{HOOK}/{n}", events=["contact.updated"], secret="s"
        )
    _many_deliveries(endpoint, rows)
    client = client_with_key(key)
    client.get("/api/v1/webhooks/")  # the key's "last used" stamp, once a minute

    # The key's lookup, then the page.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/webhooks/?page_size=500")
    assert len(response.json()["results"]) == rows
    with django_assert_num_queries(2):
        response = client.get("/api/v1/webhook-deliveries/?page_size=500")
    assert len(response.json()["results"]) == rows

    # A convener: the session, the user, the conveners' group check, then the page.
    with django_assert_num_queries(4):
        response = api_convener.get("/api/v1/webhook-deliveries/?page_size=500")
    assert len(response.json()["results"]) == rows
    with django_assert_num_queries(4):
        response = api_convener.get("/api/v1/webhooks/?page_size=500")
    assert len(response.json()["results"]) == rows


def test_the_schema_describes_the_webhook_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/webhooks/" in schema["paths"]
    assert "/api/v1/webhooks/{id}/rotate/" in schema["paths"]
    assert "/api/v1/webhook-deliveries/{id}/redeliver/" in schema["paths"]
    listing = schema["paths"]["/api/v1/webhooks/"]["get"]
    assert "X-CRM-Signature" in listing["description"]
    parameters = {
        p["name"] for p in schema["paths"]["/api/v1/webhook-deliveries/"]["get"]["parameters"]
    }
    assert {"endpoint", "status", "event", "modified_since"} <= parameters
