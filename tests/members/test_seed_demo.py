"""The demo coalition that `make run` loads."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max
from django.utils import timezone

from campaigns.models import Campaign, Signature
from crm.roles import CONVENERS
from members.models import Affiliation, Contact, Organization, Sector

pytestmark = pytest.mark.django_db

SEVEN_SECTORS = [
    "Public", "Private", "Multi-faith", "Education", "Advocacy", "Nonprofit", "Philanthropic",
]


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())


def test_demo_has_220_plus_members_spread_over_the_seven_sectors(seeded):
    assert list(Sector.objects.values_list("name", flat=True)) == SEVEN_SECTORS
    assert Organization.objects.count() >= 220
    per_sector = Sector.objects.annotate(n=Count("organizations"))
    assert all(sector.n >= 25 for sector in per_sector)
    statuses = set(Organization.objects.values_list("status", flat=True))
    assert {"active", "lapsed", "prospect"} <= statuses


def test_every_demo_member_has_a_primary_contact_with_a_unique_email(seeded):
    with_primary = Organization.objects.filter(affiliations__role=Affiliation.Role.PRIMARY)
    assert with_primary.distinct().count() == Organization.objects.count()
    emails = list(Contact.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails))
    assert all(email == email.lower() and "@" in email for email in emails)


def test_demo_awareness_month_statement_is_open_with_a_few_hundred_signatures(seeded):
    campaign = Campaign.objects.get(slug="awareness-month")
    assert campaign.status == Campaign.Status.OPEN
    assert timezone.localtime(campaign.closes_at).month == 1  # the end of January
    total = campaign.signatures.count()
    assert 200 <= total <= 500
    confirmed = campaign.signatures.filter(confirmed_at__isnull=False).count()
    assert campaign.signature_count == confirmed
    assert campaign.signatures.filter(organization__isnull=False).exists()


def test_running_seed_demo_twice_changes_nothing(seeded, settings):
    def snapshot():
        return [
            (model.__name__, model.objects.count(), model.objects.aggregate(m=Max("modified")))
            for model in (Sector, Organization, Contact, Affiliation, Campaign, Signature)
        ]

    before = snapshot()
    call_command("seed_demo", stdout=io.StringIO())
    assert snapshot() == before


def test_demo_convener_signs_in_to_the_admin_and_sees_the_coalition(seeded, client):
    assert client.login(username="convener", password="awareness-month-demo")

    response = client.get("/admin/members/organization/")

    assert response.status_code == 200
    count = Organization.objects.count()
    assert f"{count} organizations" in response.content.decode()


def test_the_demo_convener_is_staff_in_the_conveners_group_not_a_superuser(seeded):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="convener")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [CONVENERS]
    assert user.has_perm("django_celery_beat.change_periodictask")
    assert user.has_perm("members.change_organization")


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        call_command("seed_demo")
    assert Organization.objects.count() == 0
