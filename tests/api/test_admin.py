"""Conveners manage partners' keys and webhooks in the admin: secrets shown once, the service's
checks as form errors, revoke / rotate / redeliver actions."""

import re

import pytest
from django.contrib.messages import get_messages

from api.keys import api_key_check, partner_create
from api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from tests.api.conftest import client_with_key

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_convener_makes_a_key_sees_it_once_and_revokes_it(convener_client):
    partner = partner_create(name="Action Network sync")
    response = convener_client.post(
        "/admin/api/apikey/add/",
        {"partner": partner.pk, "name": "nightly", "scopes": ["read:members", "read:campaigns"]},
        follow=True,
    )
    [shown] = [m for m in messages_of(response) if "The new key is" in m]
    text = re.search(r"(crm_\S+)", shown).group(1)
    key = ApiKey.objects.get()
    assert key.scopes == ["read:members", "read:campaigns"]
    assert api_key_check(text) == key
    assert text not in convener_client.get(f"/admin/api/apikey/{key.pk}/change/").content.decode()
    assert client_with_key(text).get("/api/v1/sectors/").status_code == 200

    convener_client.post(
        "/admin/api/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
    )

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert client_with_key(text).get("/api/v1/sectors/").status_code == 401


def test_an_endpoint_the_service_refuses_is_a_form_error_and_nothing_is_saved(
    convener_client, settings
):
    settings.WEBHOOK_ALLOW_HTTP = False
    partner = partner_create(name="Partner A")
    from api.keys import api_key_create

    api_key_create(partner=partner, scopes=["read:campaigns"])
    response = convener_client.post(
        "/admin/api/webhookendpoint/add/",
        {
            "partner": partner.pk,
            "url": "http://hooks.example.org/crm",
            "events": ["signature.created", "contact.updated"],
            "description": "",
            "active": "on",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "https" in page  # why the address is refused
    assert "contact.updated" in page  # the event its keys may not receive is named
    assert 'value="http://hooks.example.org/crm"' in page  # the input is kept
    assert not WebhookEndpoint.objects.exists()


def test_a_convener_registers_an_endpoint_sees_the_secret_once_and_rotates_it(
    convener_client, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    partner = partner_create(name="Partner A")
    from api.keys import api_key_create

    api_key_create(partner=partner, scopes=["read:campaigns"])
    response = convener_client.post(
        "/admin/api/webhookendpoint/add/",
        {
            "partner": partner.pk,
            "url": "https://hooks.example.org/crm",
            "events": ["signature.created"],
            "description": "signatures to their CRM",
            "active": "on",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert len(endpoint.secret) >= 32
    assert any(endpoint.secret in m for m in messages_of(response))
    page = convener_client.get(f"/admin/api/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()

    response = convener_client.post(
        "/admin/api/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    old = endpoint.secret
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert any(endpoint.secret in m for m in messages_of(response))


def test_a_failed_delivery_is_sent_again_from_the_admin(
    convener_client, django_capture_on_commit_callbacks
):
    partner = partner_create(name="Partner A")
    endpoint = WebhookEndpoint.objects.create(
        partner=partner, url="https://hooks.example.org/", events=["signature.created"], secret="s"
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="signature.created",
        payload={"id": "x"},
        status=WebhookDelivery.Status.FAILED,
        attempts=31,
    )
    with django_capture_on_commit_callbacks():
        convener_client.post(
            "/admin/api/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING
