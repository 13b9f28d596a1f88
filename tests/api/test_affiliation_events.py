"""A person's organisations are part of them: adding, changing or ending an affiliation through
the API announces contact.updated, to the organisation's own partner too."""

import pytest

from members.models import Affiliation
from members.services import affiliation_ensure
from tests.api.conftest import client_with_key, key_for
from tests.api.webhook_helpers import deliveries_of, partner_with_endpoint
from tests.factories import ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def harbor_and_its_partner():
    harbor = OrganizationFactory(name="Harbor House")
    _partner, endpoint, _key = partner_with_endpoint(
        name="Harbor's CRM", organization=harbor, events=["contact.updated"]
    )
    return harbor, endpoint


def test_adding_changing_and_ending_an_affiliation_is_announced(
    harbor_and_its_partner, django_capture_on_commit_callbacks
):
    harbor, endpoint = harbor_and_its_partner
    person = ContactFactory(given_name="Rosa")
    affiliation_ensure(contact=person, organization=OrganizationFactory(), role="staff")
    client = client_with_key(key_for(scopes=["read:contacts", "write:contacts"], name="Sync"))

    with django_capture_on_commit_callbacks(execute=False):
        created = client.post(
            "/api/v1/affiliations/",
            {"contact": person.pk, "organization": harbor.pk, "role": "staff"},
            format="json",
        )
    assert created.status_code == 201
    [added] = deliveries_of(endpoint, "contact.updated")
    assert added.payload["data"]["id"] == person.pk
    assert [a["organization"] for a in added.payload["data"]["affiliations"]] == [harbor.pk]

    affiliation = Affiliation.objects.get(contact=person, organization=harbor)
    with django_capture_on_commit_callbacks(execute=False):
        client.patch(f"/api/v1/affiliations/{affiliation.pk}/", {"role": "primary"}, format="json")
        client.patch(f"/api/v1/affiliations/{affiliation.pk}/", {"role": "primary"}, format="json")
    changed = deliveries_of(endpoint, "contact.updated")
    assert len(changed) == 2  # the same role again is no change, and no event
    assert changed[-1].payload["data"]["affiliations"][0]["role"] == "primary"

    outsider = ContactFactory(given_name="Bob")
    other = affiliation_ensure(contact=outsider, organization=OrganizationFactory(), role="staff")
    with django_capture_on_commit_callbacks(execute=False):
        assert client.delete(f"/api/v1/affiliations/{other.pk}/").status_code == 204
    assert len(deliveries_of(endpoint, "contact.updated")) == 2  # not Harbor's person: not told
