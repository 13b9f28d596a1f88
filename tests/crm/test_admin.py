"""Conveners work in the admin; the public never reaches it."""

import pytest
from django.contrib.auth import get_user_model

from crm.roles import convener_group_ensure
from members.models import ImportRun, Interaction, Tag
from tests.factories import AffiliationFactory, OrganizationFactory, SignatureFactory

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    ("/admin/members/sector/", "Sector 0"),
    ("/admin/members/organization/", "Member Organisation"),
    ("/admin/members/contact/", "person"),
    ("/admin/members/affiliation/", "Primary contact"),
    ("/admin/members/tag/", "Hosts trainings"),
    ("/admin/members/interaction/", "Called about the statement"),
    ("/admin/members/tombstone/", "members.organization"),
    ("/admin/members/importrun/", "members.csv"),
    ("/admin/campaigns/campaign/", "Campaign"),
    ("/admin/campaigns/signature/", "Given"),
    ("/admin/django_celery_beat/periodictask/", "Refresh campaign signature counts"),
]


@pytest.fixture
def convener_client(client):
    user = get_user_model().objects.create_user("ada", password="x", is_staff=True)
    user.groups.add(convener_group_ensure())
    client.force_login(user)
    affiliation = AffiliationFactory(organization__sector__name="Sector 0")
    affiliation.organization.tags.add(Tag.objects.create(name="Hosts trainings", slug="hosts"))
    Interaction.objects.create(
        organization=affiliation.organization, text="Called about the statement"
    )
    OrganizationFactory().delete()  # leaves a tombstone
    ImportRun.objects.create(filename="members.csv", content="name\n", created_by=user)
    SignatureFactory()
    return client


@pytest.mark.parametrize(("url", "expected"), ADMIN_PAGES)
def test_a_convener_sees_every_list_with_its_rows(convener_client, url, expected):
    response = convener_client.get(url)

    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.parametrize(("url", "_expected"), ADMIN_PAGES)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, url, _expected):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_migrate_gives_every_install_a_conveners_group_with_campaign_permissions():
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    Group.objects.filter(name="Conveners").delete()

    call_command("migrate", verbosity=0)

    codenames = set(
        Group.objects.get(name="Conveners").permissions.values_list("codename", flat=True)
    )
    assert {"add_campaignresource", "change_signature", "change_organization"} <= codenames
