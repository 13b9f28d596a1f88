"""The convener dashboard: who may see it, and that its figures and lists match the database."""

import datetime
import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from simple_history.utils import bulk_create_with_history

from members import services
from members.models import Affiliation, Contact, Organization, ProfileChange, Sector
from tests.factories import AffiliationFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

# Session, user and Conveners group (3); sector counts by status, contact count, pending
# approvals, organisations without a primary contact and how many (5); latest history and the
# records before them for organisations, contacts and affiliations (6); lapsed members (1);
# the campaigns panel: campaigns with their queues (1), busy IP addresses and domains (2).
DASHBOARD_QUERIES = 18


def sector(slug):
    return Sector.objects.get(slug=slug)


def dashboard(client):
    response = client.get("/dashboard/")
    assert response.status_code == 200
    return response.content.decode()


def table_rows(page, table_id):
    """The text of each row of the table with this id, as lists of cell texts."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
    return rows


def visible_text(html):
    """What a reader sees or hears: no tags, text only for screen readers left out."""
    html = re.sub(r'<span class="visually-hidden">.*?</span>', "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def section(page, heading_id):
    """The HTML of the section headed by the element with this id."""
    return re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S).group(
        1
    )


# --- Who may see it -------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/dashboard/"


def test_staff_who_are_not_conveners_are_refused(client):
    client.force_login(get_user_model().objects.create_user("clerk", is_staff=True))

    assert client.get("/dashboard/").status_code == 403


def test_member_editors_are_refused(client):
    user = get_user_model().objects.create_user("editor@example.org")
    ContactFactory(user=user)
    client.force_login(user)

    assert client.get("/dashboard/").status_code == 403


def test_conveners_and_superusers_see_it(client, convener):
    client.force_login(convener)
    assert "<h1>Convener dashboard</h1>" in dashboard(client)

    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
    assert "<h1>Convener dashboard</h1>" in dashboard(client)


# --- Figures ----------------------------------------------------------------------------------


def test_members_by_sector_and_status_match_the_database(convener_client):
    statuses = {"active": 3, "prospect": 2, "lapsed": 1}
    for status, count in statuses.items():
        OrganizationFactory.create_batch(count, sector=sector("nonprofit"), status=status)
    OrganizationFactory.create_batch(2, sector=sector("education"), status="withdrawn")
    OrganizationFactory(sector=sector("education"), status="active", listed=False)
    ContactFactory.create_batch(4)
    ProfileChange.objects.create(
        organization=Organization.objects.first(), field="name", new_value="New"
    )
    ProfileChange.objects.create(
        organization=Organization.objects.first(),
        field="website",
        status=ProfileChange.Status.APPROVED,
    )

    page = dashboard(convener_client)

    by_sector = table_rows(page, "by-sector-table")
    assert by_sector[0] == ["Sector", "Active", "Prospect", "Lapsed", "Withdrawn", "Total"]
    assert ["Nonprofit", "3", "2", "1", "0", "6"] in by_sector
    assert ["Education", "1", "0", "0", "2", "3"] in by_sector
    assert ["Public", "0", "0", "0", "0", "0"] in by_sector
    assert len(by_sector) == 1 + Sector.objects.count()
    assert table_rows(page, "by-status-table") == [
        ["Status", "Organisations"],
        ["Active", "4"],
        ["Prospect", "2"],
        ["Lapsed", "1"],
        ["Withdrawn", "2"],
        ["All", "9"],
    ]
    totals = visible_text(section(page, "totals-heading"))
    assert "9 organisations" in totals
    assert "4 active members" in totals
    assert f"{Contact.objects.count()} contacts" in totals
    assert "1 profile change waiting for approval" in totals
    assert 'href="/admin/members/profilechange/?status__exact=pending"' in page


def test_charts_are_inline_svg_described_by_their_tables(convener_client):
    OrganizationFactory(sector=sector("advocacy"), status="active")

    page = dashboard(convener_client)

    assert (
        '<svg class="chart" role="img" viewBox="0 0 400 322" width="100%" '
        'preserveAspectRatio="xMinYMin meet" aria-labelledby="by-sector-heading" '
        'aria-describedby="by-sector-table">'
    ) in page
    assert 'aria-describedby="by-status-table"' in page
    assert "<title>Advocacy: 1 active</title>" in page
    assert "<script" not in page


# --- Recent changes ---------------------------------------------------------------------------


def test_recent_changes_show_an_edit_with_its_author_and_old_and_new_values(
    convener_client, convener
):
    organization = services.organization_create(
        name="Harbor House", sector=sector("nonprofit"), city="Decatur", actor=convener
    )
    services.organization_update(
        organization=organization,
        data={"city": "Tucker", "sector": sector("advocacy")},
        actor=convener,
    )

    changes = section(dashboard(convener_client), "recent-heading")
    text = visible_text(changes)

    assert "Ada Convener changed the organisation Harbor House" in text
    assert "City: Decatur → Tucker" in text
    assert "Sector: Nonprofit → Advocacy" in text
    assert "Ada Convener created the organisation Harbor House" in text
    assert f'href="/admin/members/organization/{organization.pk}/change/"' in changes
    # Newest first.
    assert text.index("changed the organisation") < text.index("created the organisation")


def test_recent_changes_show_contact_edits_and_stop_at_the_latest_20(convener_client, convener):
    organization = services.organization_create(
        name="Cedar Fund", sector=sector("philanthropic"), actor=convener
    )
    contact, _ = services.contact_upsert(
        email="ines@example.org", given_name="Ines", family_name="Osei", actor=convener
    )
    services.affiliation_ensure(
        contact=contact, organization=organization, role="primary", actor=convener
    )
    for n in range(25):
        services.contact_update(contact=contact, data={"title": f"Title {n}"}, actor=convener)

    changes = section(dashboard(convener_client), "recent-heading")
    text = visible_text(changes)

    assert changes.count("<time ") == 20
    assert "Ada Convener changed the contact Ines Osei Job title: Title 23 → Title 24" in text
    assert f'href="/admin/members/contact/{contact.pk}/change/"' in changes
    # The oldest records (organisation and affiliation created) fell off the list of 20.
    assert "Cedar Fund" not in text


def test_recent_changes_name_the_affiliation(convener_client, convener):
    organization = services.organization_create(
        name="Cedar Fund", sector=sector("philanthropic"), actor=convener
    )
    contact, _ = services.contact_upsert(
        email="ines@example.org", given_name="Ines", family_name="Osei", actor=convener
    )
    services.affiliation_ensure(
        contact=contact, organization=organization, role="primary", actor=convener
    )

    text = visible_text(dashboard(convener_client))

    assert (
        "Ada Convener created the affiliation of Ines Osei as primary contact of Cedar Fund" in text
    )


def test_a_change_without_an_earlier_record_says_so(convener_client, convener):
    Organization.objects.bulk_create(
        [Organization(name="Loaded In Bulk", slug="bulk", sector=sector("public"))]
    )
    services.organization_update(
        organization=Organization.objects.get(slug="bulk"), data={"city": "Tucker"}, actor=convener
    )

    changes = section(dashboard(convener_client), "recent-heading")

    assert "Loaded In Bulk" in changes
    assert "The earlier values were not recorded" in changes


# --- Lists that need attention ----------------------------------------------------------------


def test_lapsed_members_link_to_their_admin_page(convener_client):
    lapsed = OrganizationFactory(
        name="Quiet Chapel",
        status=Organization.Status.LAPSED,
        left_on=datetime.date(2025, 3, 14),
    )
    OrganizationFactory(name="Busy Clinic", status=Organization.Status.ACTIVE)

    lapsed_section = section(dashboard(convener_client), "lapsed-heading")

    assert "Lapsed members (1)" in lapsed_section
    assert f'href="/admin/members/organization/{lapsed.pk}/change/">Quiet Chapel</a>' in (
        lapsed_section
    )
    assert "left 14 Mar 2025" in lapsed_section
    assert "Busy Clinic" not in lapsed_section


def test_active_members_without_a_primary_contact_are_listed(convener_client):
    alone = OrganizationFactory(name="Alone Academy")
    staffed_only = OrganizationFactory(name="Staff Only Shelter")
    AffiliationFactory(organization=staffed_only, role=Affiliation.Role.STAFF)
    AffiliationFactory(organization=OrganizationFactory(name="Well Run Fund"))
    OrganizationFactory(name="Lapsed Alone", status=Organization.Status.LAPSED)

    missing = section(dashboard(convener_client), "no-primary-heading")

    assert "Active members without a primary contact (2)" in missing
    assert f'href="/admin/members/organization/{alone.pk}/change/">Alone Academy</a>' in missing
    assert "Staff Only Shelter" in missing
    assert "Well Run Fund" not in missing
    assert "Lapsed Alone" not in missing


# --- Queries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [10, 1000])
def test_dashboard_query_count_does_not_grow_with_members(
    convener_client, convener, django_assert_num_queries, count
):
    sectors = list(Sector.objects.all())
    statuses = list(Organization.Status)
    organizations = bulk_create_with_history(
        [
            Organization(
                name=f"Member {n:04d}",
                slug=f"member-{n:04d}",
                sector=sectors[n % len(sectors)],
                status=statuses[n % len(statuses)],
                left_on=datetime.date(2025, 1, 1) if n % 4 == 2 else None,
            )
            for n in range(count)
        ],
        Organization,
        default_user=convener,
    )
    contacts = bulk_create_with_history(
        [Contact(given_name=f"P{n}", email=f"p{n}@example.org") for n in range(count)],
        Contact,
        default_user=convener,
    )
    bulk_create_with_history(
        [
            Affiliation(contact=contact, organization=organization, role="primary")
            for contact, organization in zip(contacts[::2], organizations[::2], strict=True)
        ],
        Affiliation,
        default_user=convener,
    )
    # Edits with earlier versions, so every history table has diffs to show.
    for organization in Organization.objects.order_by("pk")[:3]:
        services.organization_update(
            organization=organization, data={"city": "Tucker"}, actor=convener
        )
    for contact in Contact.objects.order_by("pk")[:3]:
        services.contact_update(contact=contact, data={"title": "Director"}, actor=convener)

    with django_assert_num_queries(DASHBOARD_QUERIES):
        page = dashboard(convener_client)

    assert page.count("<time ") == 20
    assert "changed the contact P0 Job title: (empty) → Director" in visible_text(page)
    assert table_rows(page, "by-status-table")[-1] == ["All", f"{count:,}"]
