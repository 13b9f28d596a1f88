"""The public member directory: what visitors see, what they never see, and bad input."""

import re

import pytest

from members.models import Organization, Sector, Tag
from tests.factories import AffiliationFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

# Fixed query counts: filter options (sectors, counties), the result count and one page of
# organisations with their sector; an organisation page is the organisation with its sector,
# then its secondary sectors.
LIST_QUERIES = 4
DETAIL_QUERIES = 2


def sector(slug):
    return Sector.objects.get(slug=slug)  # the seven sectors come from a migration


def page_of(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def listed_names(page):
    return re.findall(r'<h2><a href="/members/[^"]+/">([^<]+)</a></h2>', page)


@pytest.fixture
def harbor():
    """A listed, active member with every public field, a contact, a tag and private notes."""
    organization = OrganizationFactory(
        name="Harbor House",
        slug="harbor-house",
        sector=sector("nonprofit"),
        city="Decatur",
        county="DeKalb",
        state="GA",
        description="A shelter for young people leaving exploitation.",
        website="https://harbor.example.org",
        public_email="hello@harbor.example.org",
        public_phone="+14045550123",
        facebook="https://www.facebook.com/harborhouse",
        instagram="@harborhouse",
        x_twitter="@harbor_house",
        linkedin="https://www.linkedin.com/company/harbor-house",
        bluesky="harbor.bsky.social",
        logo="logos/harbor.png",
        internal_notes="Board chair is difficult; renewal at risk.",
    )
    organization.secondary_sectors.add(sector("advocacy"))
    organization.tags.add(Tag.objects.create(name="Hosts trainings", slug="hosts-trainings"))
    contact = ContactFactory(
        given_name="Priya",
        family_name="Confidential",
        email="priya.private@harbor.example.org",
        phone="+14045550188",
    )
    AffiliationFactory(contact=contact, organization=organization)
    return organization


PRIVATE_TEXTS = [
    "priya.private@harbor.example.org",
    "+14045550188",
    "(404) 555-0188",
    "404-555-0188",
    "Priya",
    "Confidential",
    "Hosts trainings",
    "hosts-trainings",
    "Board chair is difficult",
    "renewal at risk",
]


def test_directory_lists_only_listed_active_organisations(client):
    OrganizationFactory(name="Open Door Shelter")
    OrganizationFactory(name="Unlisted Partner", listed=False)
    OrganizationFactory(name="Lapsed Member", status=Organization.Status.LAPSED)
    OrganizationFactory(name="Would-be Member", status=Organization.Status.PROSPECT)
    OrganizationFactory(name="Former Member", status=Organization.Status.WITHDRAWN)

    page = page_of(client, "/members/")

    assert listed_names(page) == ["Open Door Shelter"]
    assert "<strong>1</strong> organisation;" not in page  # one page only: no range shown
    assert "<strong>1</strong> organisation." in page


def test_each_entry_shows_name_sector_place_and_a_short_description(client, harbor):
    page = page_of(client, "/members/")

    assert '<a href="/members/harbor-house/">Harbor House</a>' in page
    assert '<span class="sector">Nonprofit</span>' in page
    assert "Decatur, DeKalb County" in page
    assert "A shelter for young people leaving exploitation." in page


def test_organisation_page_shows_the_public_profile(client, harbor):
    page = page_of(client, "/members/harbor-house/")

    assert "<h1>Harbor House</h1>" in page
    assert '<span class="sector">Nonprofit</span>' in page
    assert '<span class="sector secondary">Advocacy</span>' in page
    assert "A shelter for young people leaving exploitation." in page
    assert 'href="https://harbor.example.org"' in page
    assert 'href="mailto:hello@harbor.example.org"' in page
    assert "(404) 555-0123" in page and 'href="tel:+14045550123"' in page
    assert "Decatur, DeKalb County, GA" in page
    assert 'src="/media/logos/harbor.png" alt="Logo of Harbor House"' in page
    for href in [
        "https://www.facebook.com/harborhouse",
        "https://www.instagram.com/harborhouse",
        "https://x.com/harbor_house",
        "https://www.linkedin.com/company/harbor-house",
        "https://bsky.app/profile/harbor.bsky.social",
    ]:
        assert f'href="{href}"' in page


@pytest.mark.parametrize(
    "url, params",
    [
        ("/members/", {}),
        ("/members/", {"q": "harbor"}),
        ("/members/", {"q": "priya"}),
        ("/members/", {"q": "confidential"}),
        ("/members/", {"sector": "nonprofit", "county": "DeKalb"}),
        ("/members/harbor-house/", {}),
    ],
)
def test_public_pages_never_show_contacts_tags_or_internal_notes(client, harbor, url, params):
    page = page_of(client, url, **params)

    for text in PRIVATE_TEXTS:
        assert text not in page


def test_search_does_not_find_organisations_by_their_contacts_or_notes(client, harbor):
    assert listed_names(page_of(client, "/members/", q="priya")) == []
    assert listed_names(page_of(client, "/members/", q="renewal")) == []
    assert listed_names(page_of(client, "/members/", q="hosts trainings")) == []


@pytest.mark.parametrize(
    "organization",
    [
        {"listed": False},
        {"status": Organization.Status.LAPSED},
        {"status": Organization.Status.PROSPECT},
        {"status": Organization.Status.WITHDRAWN},
    ],
)
def test_organisation_page_is_not_found_unless_listed_and_active(client, organization):
    OrganizationFactory(slug="kept-private", **organization)

    assert client.get("/members/kept-private/").status_code == 404


def test_unknown_organisation_is_not_found(client):
    assert client.get("/members/no-such-organisation/").status_code == 404


def test_filters_by_sector_county_and_search(client):
    OrganizationFactory(
        name="Cedar Legal Aid", sector=sector("nonprofit"), county="Cobb", city="Marietta"
    )
    OrganizationFactory(name="Cedar Academy", sector=sector("education"), county="Cobb")
    OrganizationFactory(
        name="Pine Fund",
        sector=sector("philanthropic"),
        county="Fulton",
        description="Funds legal help for survivors.",
    )

    assert listed_names(page_of(client, "/members/", sector="education")) == ["Cedar Academy"]
    assert listed_names(page_of(client, "/members/", county="Fulton")) == ["Pine Fund"]
    assert listed_names(page_of(client, "/members/", q="cedar")) == [
        "Cedar Academy",
        "Cedar Legal Aid",
    ]
    assert listed_names(page_of(client, "/members/", q="marietta")) == ["Cedar Legal Aid"]
    assert listed_names(page_of(client, "/members/", q="LEGAL")) == [
        "Cedar Legal Aid",
        "Pine Fund",
    ]
    # Every word must match somewhere.
    assert listed_names(page_of(client, "/members/", q="legal survivors")) == ["Pine Fund"]
    page = page_of(client, "/members/", q="cedar", sector="nonprofit", county="Cobb")
    assert listed_names(page) == ["Cedar Legal Aid"]
    assert "<strong>1</strong> organisation matches your filters." in page
    assert '<option value="nonprofit" selected>Nonprofit</option>' in page
    assert '<option value="Cobb" selected>Cobb</option>' in page


def test_county_choices_are_those_of_listed_active_organisations(client):
    OrganizationFactory(county="Henry")
    OrganizationFactory(county="Secretville", listed=False)

    page = page_of(client, "/members/")

    assert '<option value="Henry">Henry</option>' in page
    assert "Secretville" not in page


def test_says_so_when_nothing_matches(client):
    OrganizationFactory(name="Harbor House")

    page = page_of(client, "/members/", q="zebra")

    assert listed_names(page) == []
    assert "No organisation matches your filters." in page


def test_pages_of_24_keep_the_filters(client):
    nonprofit = sector("nonprofit")
    Organization.objects.bulk_create(
        Organization(
            name=f"Shelter {n:02d}", slug=f"shelter-{n}", sector=nonprofit, status="active"
        )
        for n in range(30)
    )
    OrganizationFactory(name="Other Sector Org", sector=sector("private"))

    first = page_of(client, "/members/", sector="nonprofit")
    second = page_of(client, "/members/", sector="nonprofit", page="2")

    assert len(listed_names(first)) == 24
    assert "<strong>30</strong> organisations match your filters; showing 1–24." in first
    assert 'href="?sector=nonprofit&amp;page=2"' in first
    assert listed_names(second) == [f"Shelter {n:02d}" for n in range(24, 30)]
    assert "showing 25–30" in second and "Page 2 of 2" in second
    assert 'href="?sector=nonprofit&amp;page=1"' in second


@pytest.mark.parametrize("number, expected_page", [("abc", 1), ("99999", 2), ("-3", 2), ("", 1)])
def test_bad_page_numbers_show_a_page_not_an_error(client, number, expected_page):
    Organization.objects.bulk_create(
        Organization(name=f"Org {n:02d}", slug=f"org-{n}", sector=sector("public"), status="active")
        for n in range(30)
    )

    page = page_of(client, "/members/", page=number)

    assert f"Page {expected_page} of 2" in page


def test_a_huge_page_number_shows_the_first_page(client):
    OrganizationFactory(name="Harbor House")

    page = page_of(client, "/members/", page="9" * 5000)

    assert listed_names(page) == ["Harbor House"]


def test_unknown_sector_or_county_is_explained_and_ignored(client):
    OrganizationFactory(name="Harbor House")

    page = page_of(client, "/members/", sector="nonexistent", county="Atlantis")

    assert "There is no sector “nonexistent” in the directory; showing every sector." in page
    assert "There is no county “Atlantis” in the directory; showing every county." in page
    assert listed_names(page) == ["Harbor House"]


def test_a_very_long_search_is_shortened_and_said_so(client):
    OrganizationFactory(name="Harbor House")

    page = page_of(client, "/members/", q="harbor " + "x" * 5000)

    assert "only its first 100 characters were used" in page
    assert listed_names(page) == []
    assert "x" * 101 not in page


def test_unsafe_social_values_never_become_script_links(client):
    OrganizationFactory(
        slug="tricky",
        facebook="javascript:alert(1)",
        linkedin="data:text/html,hello",
        website="javascript:alert(2)",  # bulk imports can bypass validation
    )

    page = page_of(client, "/members/tricky/")

    assert 'href="javascript:' not in page and 'href="data:' not in page
    assert 'href="https://www.facebook.com/javascript%3Aalert%281%29"' in page


def test_directory_only_answers_get(client):
    assert client.post("/members/").status_code == 405


def _bulk_organizations(count):
    sectors = list(Sector.objects.all())
    Organization.objects.bulk_create(
        Organization(
            name=f"Member {n:04d}",
            slug=f"member-{n:04d}",
            sector=sectors[n % len(sectors)],
            status=Organization.Status.ACTIVE,
            city="Decatur",
            county=["Fulton", "DeKalb", "Cobb"][n % 3],
            description="Works to end trafficking.",
        )
        for n in range(count)
    )
    through = Organization.secondary_sectors.through
    through.objects.bulk_create(
        through(organization_id=pk, sector_id=sectors[0].pk)
        for pk in Organization.objects.values_list("pk", flat=True)
    )


@pytest.mark.parametrize("count", [10, 1000])
def test_directory_query_count_does_not_grow_with_members(client, django_assert_num_queries, count):
    _bulk_organizations(count)

    with django_assert_num_queries(LIST_QUERIES):
        page = page_of(client, "/members/")
    assert len(listed_names(page)) == min(count, 24)

    with django_assert_num_queries(LIST_QUERIES):
        page = page_of(client, "/members/", sector="public", county="Fulton", q="member", page=2)
    assert "Page 2" in page or count == 10


@pytest.mark.parametrize("count", [10, 1000])
def test_organisation_page_query_count_does_not_grow_with_members(
    client, django_assert_num_queries, count
):
    _bulk_organizations(count)

    with django_assert_num_queries(DETAIL_QUERIES):
        page = page_of(client, "/members/member-0007/")
    assert "<h1>Member 0007</h1>" in page


def test_control_characters_in_the_query_string_are_ignored(client):
    OrganizationFactory(name="Harbor House")

    page = page_of(client, "/members/", q="harbor\x00", sector="\x00", page="\x00")

    assert listed_names(page) == ["Harbor House"]


def test_home_page_links_to_the_directory(client):
    assert '<a href="/members/">Browse the member directory</a>' in page_of(client, "/")
