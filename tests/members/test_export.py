"""CSV exports of the directory: what the file holds, that it follows the list, and its cost."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model

from crm.roles import convener_group_ensure
from members.exporting import CONTACT_COLUMNS, ORGANIZATION_COLUMNS, csv_cell
from members.models import Affiliation, Organization, Sector, Tag
from tests.factories import AffiliationFactory, OrganizationFactory
from tests.members.test_admin import directory_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def convener_client(client):
    user = get_user_model().objects.create_user("ada", password="x", is_staff=True)
    user.groups.add(convener_group_ensure())
    client.force_login(user)
    return client


def csv_rows(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+14045550123", "+14045550123"),
        ("+14045550182;ext=12", "+14045550182;ext=12"),
        ("+1 =HYPERLINK()", "'+1 =HYPERLINK()"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Safe Harbor", "Safe Harbor"),
        (None, ""),
        (True, "yes"),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_is_made_plain_text(value, cell):
    assert csv_cell(value) == cell


def test_the_organisation_export_holds_every_column(convener_client):
    public = Sector.objects.get(slug="public")
    education = Sector.objects.get(slug="education")
    organization = OrganizationFactory(
        name="Safe Harbor Atlanta",
        sector=public,
        status=Organization.Status.ACTIVE,
        website="https://safeharbor.example.org",
        public_email="info@safeharbor.example.org",
        public_phone="+14045550123",
        street_address="1 Peachtree St",
        city="Atlanta",
        county="Fulton",
        state="GA",
        postal_code="30303",
    )
    organization.secondary_sectors.add(education)
    organization.tags.add(Tag.objects.create(name="Hosts trainings", slug="hosts-trainings"))
    AffiliationFactory(
        organization=organization,
        contact__given_name="Rosa",
        contact__family_name="Parks",
        contact__email="rosa@harbor.org",
    )

    response = convener_client.get("/admin/members/organization/export/")

    assert "organisations-" in response["Content-Disposition"]
    [row] = csv_rows(response)
    assert list(row) == ORGANIZATION_COLUMNS
    assert row == {
        **row,
        "name": "Safe Harbor Atlanta",
        "sector": public.name,
        "secondary sectors": education.name,
        "status": "Active",
        "website": "https://safeharbor.example.org",
        "public e-mail": "info@safeharbor.example.org",
        "public phone": "+14045550123",
        "street address": "1 Peachtree St",
        "county": "Fulton",
        "tags": "Hosts trainings",
        "primary contact": "Rosa Parks",
        "primary contact e-mail": "rosa@harbor.org",
        "listed": "yes",
    }


def test_the_export_follows_the_lists_filters_and_search_across_every_page(convener_client):
    directory_rows(150)  # more than one page of the list (100 rows)
    OrganizationFactory(name="Bulk Organisation Lapsed", status=Organization.Status.LAPSED)
    OrganizationFactory(name="Unrelated Org")

    response = convener_client.get(
        "/admin/members/organization/export/?status__exact=active&q=Bulk&p=2"
    )

    names = [row["name"] for row in csv_rows(response)]
    assert len(names) == 150
    assert "Bulk Organisation Lapsed" not in names
    assert "Unrelated Org" not in names


def test_an_unknown_filter_sends_the_convener_back_to_the_list(convener_client):
    response = convener_client.get("/admin/members/organization/export/?nonsense=1")

    assert response.status_code == 302
    assert response["Location"] == "/admin/members/organization/?e=1"


def test_exporting_the_selected_organisations_exports_only_those(convener_client):
    chosen = OrganizationFactory(name="Chosen Org")
    OrganizationFactory(name="Other Org")

    response = convener_client.post(
        "/admin/members/organization/",
        {"action": "export_selected_csv", "_selected_action": [chosen.pk]},
    )

    assert [row["name"] for row in csv_rows(response)] == ["Chosen Org"]


def test_the_contact_export_lists_organisations_with_roles(convener_client):
    affiliation = AffiliationFactory(
        organization__name="Safe Harbor Atlanta",
        contact__given_name="Rosa",
        contact__family_name="Parks",
        contact__email="rosa@harbor.org",
        contact__phone="+14045550123",
        contact__language="es",
        role=Affiliation.Role.SIGNATORY,
    )
    AffiliationFactory(
        contact=affiliation.contact,
        organization__name="Atlanta Faith Network",
        role=Affiliation.Role.EDITOR,
    )

    response = convener_client.get("/admin/members/contact/export/?language__exact=es")

    [row] = csv_rows(response)
    assert list(row) == CONTACT_COLUMNS
    assert row == {
        **row,
        "given name": "Rosa",
        "family name": "Parks",
        "e-mail": "rosa@harbor.org",
        "phone": "+14045550123",
        "language": "Español",
        "e-mail status": "Subscribed",
        "organisations": (
            "Atlanta Faith Network (Profile editor); Safe Harbor Atlanta (Signatory)"
        ),
    }


def test_a_contact_export_follows_the_search(convener_client):
    AffiliationFactory(organization__name="Safe Harbor Atlanta", contact__email="rosa@harbor.org")
    AffiliationFactory(organization__name="Other Org", contact__email="sam@other.org")

    response = convener_client.get("/admin/members/contact/export/?q=harbor")

    assert [row["e-mail"] for row in csv_rows(response)] == ["rosa@harbor.org"]


# Session, user, permissions (2), the list's filter choices (sectors, tags) and counts (2), then
# the export's own: organisations: secondary sectors, tags, the rows; contacts: affiliations, rows.
EXPORT_QUERIES = {
    "/admin/members/organization/export/": 11,
    "/admin/members/contact/export/": 9,
}


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("url", list(EXPORT_QUERIES))
def test_an_export_takes_the_same_queries_for_ten_rows_and_a_thousand(
    convener_client, django_assert_num_queries, url, rows
):
    directory_rows(rows)

    with django_assert_num_queries(EXPORT_QUERIES[url]):
        exported = csv_rows(convener_client.get(url))

    assert len(exported) == rows
