"""Callers of the API: partners' keys with chosen scopes, conveners and editors by session."""

import pytest
from rest_framework.test import APIClient

from api.keys import api_key_create, partner_create
from api.scopes import SCOPES
from members.models import Affiliation
from members.services import affiliation_ensure, contact_upsert
from tests.factories import OrganizationFactory

ALL_SCOPES = list(SCOPES)


def key_for(*, scopes=ALL_SCOPES, name="Partner A", organization=None) -> str:
    """A new partner (bound to ``organization`` if given) and the text of its key."""
    partner = partner_create(name=name, organization=organization)
    _key, text = api_key_create(partner=partner, scopes=list(scopes))
    return text


def client_with_key(text: str, *, osdi: bool = False) -> APIClient:
    client = APIClient()
    if osdi:
        client.credentials(HTTP_OSDI_API_TOKEN=text)
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    return client


@pytest.fixture
def partner_client(db):
    """partner_client(scopes=[...], organization=None, name=...) -> an APIClient with a key."""

    def make(**kwargs):
        return client_with_key(key_for(**kwargs))

    return make


@pytest.fixture
def api_convener(convener):
    client = APIClient()
    client.force_login(convener)
    return client


def editor_of(organization, *, email="editor@harbor.example.org"):
    """An editor of ``organization`` with a user account (the member sign-in)."""
    from django.contrib.auth import get_user_model

    contact, _ = contact_upsert(email=email, given_name="Eda", family_name="Editor")
    affiliation_ensure(contact=contact, organization=organization, role=Affiliation.Role.EDITOR)
    user = get_user_model().objects.create_user(email, email=email)
    contact.user = user
    contact.save(update_fields=["user"])
    return user


@pytest.fixture
def editor_client(db):
    """editor_client(organization) -> an APIClient signed in as an editor of it."""

    def make(organization=None):
        organization = organization or OrganizationFactory()
        client = APIClient()
        client.force_login(editor_of(organization))
        return client

    return make
