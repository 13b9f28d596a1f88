"""Core member-directory services: the one write path every feature uses."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from crm.errors import ApplicationError
from crm.roles import convener_group_ensure
from members import services
from members.models import (
    Affiliation,
    ApprovalRequiredField,
    Contact,
    Organization,
    ProfileChange,
    Sector,
    Tombstone,
)
from tests.factories import AffiliationFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def convener():
    user = get_user_model().objects.create_user("convener1", is_staff=True)
    user.groups.add(convener_group_ensure())
    return user


@pytest.fixture
def editor():
    return get_user_model().objects.create_user("editor@example.org")


def test_migrations_create_the_seven_sectors_with_importer_aliases():
    names = list(Sector.objects.values_list("name", flat=True))
    assert names == [
        "Public",
        "Private",
        "Multi-faith",
        "Education",
        "Advocacy",
        "Nonprofit",
        "Philanthropic",
    ]
    assert "501(c)(3)" in Sector.objects.get(slug="nonprofit").aliases


def test_organization_create_gives_a_unique_slug_and_a_match_key():
    sector = Sector.objects.get(slug="nonprofit")
    first = services.organization_create(name="The Harbor House, Inc.", sector=sector)
    second = services.organization_create(name="The Harbor House, Inc.", sector=sector)

    assert (first.slug, second.slug) == ("the-harbor-house-inc", "the-harbor-house-inc-2")
    assert first.match_key == second.match_key == "harbor house"


def test_organization_create_rejects_an_invalid_website_and_saves_nothing():
    with pytest.raises(ValidationError) as error:
        services.organization_create(
            name="Broken Link", sector=Sector.objects.first(), website="not a site"
        )
    assert "website" in error.value.message_dict
    assert not Organization.objects.filter(name="Broken Link").exists()


def test_an_editor_change_to_a_protected_field_waits_for_approval(editor, convener):
    ApprovalRequiredField.objects.create(field="name")
    organization = OrganizationFactory(name="Lantern House", city="Decatur")

    pending = services.organization_update(
        organization=organization, data={"name": "Lantern Home", "city": "Tucker"}, actor=editor
    )

    organization.refresh_from_db()
    assert (organization.name, organization.city) == ("Lantern House", "Tucker")
    assert [(p.field, p.old_value, p.new_value) for p in pending] == [
        ("name", "Lantern House", "Lantern Home")
    ]
    services.profile_change_decide(change=pending[0], approve=True, actor=convener)
    organization.refresh_from_db()
    assert organization.name == "Lantern Home"
    assert organization.match_key == "lantern home"
    assert ProfileChange.objects.get().status == ProfileChange.Status.APPROVED


def test_a_convener_change_to_a_protected_field_applies_at_once(convener):
    ApprovalRequiredField.objects.create(field="sector")
    organization = OrganizationFactory()
    sector = Sector.objects.get(slug="advocacy")

    pending = services.organization_update(
        organization=organization, data={"sector": sector}, actor=convener
    )

    assert pending == []
    organization.refresh_from_db()
    assert organization.sector == sector


def test_a_newer_request_replaces_an_older_pending_one_and_decided_ones_stay_decided(
    editor, convener
):
    ApprovalRequiredField.objects.create(field="name")
    organization = OrganizationFactory(name="Oak House")
    services.organization_update(organization=organization, data={"name": "Oak Home"}, actor=editor)
    services.organization_update(organization=organization, data={"name": "Oak Hall"}, actor=editor)

    statuses = dict(ProfileChange.objects.values_list("new_value", "status"))
    assert statuses == {"Oak Home": "rejected", "Oak Hall": "pending"}
    old = ProfileChange.objects.get(new_value="Oak Home")
    with pytest.raises(ApplicationError, match="already decided"):
        services.profile_change_decide(change=old, approve=True, actor=convener)


def test_only_conveners_decide_profile_changes(editor):
    ApprovalRequiredField.objects.create(field="name")
    organization = OrganizationFactory(name="Pine House")
    [change] = services.organization_update(
        organization=organization, data={"name": "Pine Home"}, actor=editor
    )
    with pytest.raises(ApplicationError, match="Only conveners"):
        services.profile_change_decide(change=change, approve=True, actor=editor)


def test_every_change_is_in_the_history_with_its_author(convener):
    organization = OrganizationFactory(city="Decatur")
    services.organization_update(organization=organization, data={"city": "Tucker"}, actor=convener)

    latest = organization.history.first()
    assert latest.history_user == convener
    delta = latest.diff_against(latest.prev_record)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("city", "Decatur", "Tucker")]


def test_contact_upsert_matches_email_ignoring_case_and_spaces_and_fills_only_blanks():
    contact, created = services.contact_upsert(
        email="  Mei.Chen@Example.org ", given_name="Mei", family_name="Chen", title=""
    )
    again, created_again = services.contact_upsert(
        email="MEI.CHEN@example.org", given_name="M.", family_name="C.", title="Director"
    )

    assert (created, created_again) == (True, False)
    assert again.pk == contact.pk
    again.refresh_from_db()
    assert (again.email, again.given_name, again.title) == (
        "mei.chen@example.org",
        "Mei",
        "Director",
    )
    assert Contact.objects.count() == 1


def test_contact_upsert_refuses_a_broken_email():
    with pytest.raises(ValidationError):
        services.contact_upsert(email="not-an-address", given_name="X")
    assert Contact.objects.count() == 0


def test_affiliation_ensure_is_idempotent():
    contact, organization = ContactFactory(), OrganizationFactory()
    for _ in range(2):
        services.affiliation_ensure(contact=contact, organization=organization, role="primary")
    assert Affiliation.objects.count() == 1


def test_interaction_needs_an_organization_or_a_contact():
    with pytest.raises(ApplicationError):
        services.interaction_record(kind="note", text="Called about the statement")


def test_bulk_status_change_stamps_dates_and_tagging_is_idempotent(convener):
    organizations = OrganizationFactory.create_batch(3, status="active")
    queryset = Organization.objects.filter(pk__in=[o.pk for o in organizations])

    assert (
        services.organizations_set_status(organizations=queryset, status="lapsed", actor=convener)
        == 3
    )
    assert set(queryset.values_list("left_on", flat=True)) != {None}
    tag = services.tag_get_or_create(name="  Hosts   trainings ")
    assert services.tag_get_or_create(name="hosts trainings") == tag
    services.organizations_tag(organizations=queryset, tag=tag)
    services.organizations_tag(organizations=queryset, tag=tag)
    assert Organization.tags.through.objects.count() == 3
    with pytest.raises(ApplicationError):
        services.organizations_set_status(organizations=queryset, status="asleep")


def test_deleting_rows_leaves_tombstones_also_for_cascades():
    affiliation = AffiliationFactory()
    organization_id, affiliation_id = affiliation.organization_id, affiliation.pk

    affiliation.organization.delete()

    remembered = set(Tombstone.objects.values_list("model", "object_id"))
    assert ("members.organization", organization_id) in remembered
    assert ("members.affiliation", affiliation_id) in remembered


def test_sector_aliases_cover_spellings_seen_in_member_spreadsheets():
    assert "gov't" in Sector.objects.get(slug="public").aliases
    assert "survivor advocacy" in Sector.objects.get(slug="advocacy").aliases
