"""A member organisation's own credible link: set by its profile editors and primary contacts
(and conveners), refused to everyone else without revealing the organisation."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from members import accounts
from members.models import Affiliation, Interaction
from tests.factories import AffiliationFactory, OrganizationFactory
from tests.toolkits.conftest import DEFAULT_LINK, toolkit_build
from toolkits.models import OrganizationLink

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"
OWN_LINK = "https://alder.example.org/facts"


@pytest.fixture(autouse=True)
def own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "toolkit-account-tests",
        }
    }
    cache.clear()


@pytest.fixture
def world(db):
    a = OrganizationFactory(name="Alder Street Outreach", slug="alder")
    b = OrganizationFactory(name="Birchwood Haven", slug="birchwood")
    people = {}
    for org_key, organization in (("a", a), ("b", b)):
        for role in Affiliation.Role.values:
            people[f"{role}_{org_key}"] = AffiliationFactory(
                organization=organization,
                role=role,
                contact__email=f"{role}-{org_key}@example.org",
            ).contact
    return {"a": a, "b": b, "toolkit": toolkit_build(), **people}


def _client(contact=None) -> Client:
    client = Client()
    if contact is not None:
        client.force_login(accounts._user_for_contact(contact), backend=BACKEND)
    return client


def _link_url(toolkit, organization) -> str:
    return reverse("toolkit_account:link", args=[toolkit.slug, organization.slug])


@pytest.mark.parametrize(
    "who, status",
    [
        ("editor_a", 200),
        ("primary_a", 200),
        ("signatory_a", 404),
        ("staff_a", 404),
        ("editor_b", 404),
        ("primary_b", 404),
    ],
    ids=["editor", "primary", "signatory", "staff", "other-editor", "other-primary"],
)
def test_who_reaches_organisation_a(world, who, status):
    client = _client(world[who])
    url = _link_url(world["toolkit"], world["a"])
    assert client.get(url).status_code == status
    response = client.post(url, {"action": "save", "url": OWN_LINK})
    assert response.status_code == (302 if status == 200 else 404)
    saved = OrganizationLink.objects.filter(organization=world["a"]).exists()
    assert saved is (status == 200)


def test_editor_of_a_cannot_set_or_clear_bs_link(world):
    from toolkits import services

    services.organization_link_set(
        toolkit=world["toolkit"], organization=world["b"], url="https://birch.example.org/"
    )
    client = _client(world["editor_a"])
    url = _link_url(world["toolkit"], world["b"])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "save", "url": OWN_LINK}).status_code == 404
    assert client.post(url, {"action": "clear"}).status_code == 404
    assert OrganizationLink.objects.get(organization=world["b"]).url == "https://birch.example.org/"


def test_anonymous_visitors_are_sent_to_sign_in(world):
    url = _link_url(world["toolkit"], world["a"])
    for response in (Client().get(url), Client().post(url, {"url": OWN_LINK})):
        assertRedirects(
            response,
            f"{reverse('account:sign_in')}?next={url}",
            fetch_redirect_response=False,
        )
    assert not OrganizationLink.objects.exists()
    assertRedirects(
        Client().get(reverse("toolkit_account:index")),
        f"{reverse('account:sign_in')}?next={reverse('toolkit_account:index')}",
        fetch_redirect_response=False,
    )


def test_a_convener_sets_any_organisations_link(world, convener_client, convener):
    url = _link_url(world["toolkit"], world["b"])
    assertContains(convener_client.get(url), "For <strong>Birchwood Haven</strong>")
    response = convener_client.post(url, {"action": "save", "url": OWN_LINK})
    assertRedirects(response, url, fetch_redirect_response=False)
    assert OrganizationLink.objects.get(organization=world["b"]).url == OWN_LINK
    note = Interaction.objects.get(organization=world["b"])
    assert note.author == convener


def test_editor_sets_changes_and_clears_the_link(world):
    client = _client(world["editor_a"])
    url = _link_url(world["toolkit"], world["a"])
    response = client.get(url)
    assertContains(response, f'The toolkit\'s own link: <a href="{DEFAULT_LINK}">')
    assertNotContains(response, "Go back to the toolkit's link")

    response = client.post(url, {"action": "save", "url": "alder.example.org/facts"}, follow=True)
    assertContains(
        response, "Saved: Alder Street Outreach&#x27;s posts for “Facts first” now point to"
    )
    assertContains(response, f'Your own link: <a href="{OWN_LINK}">')
    assert OrganizationLink.objects.get().url == OWN_LINK

    # The public page for the organisation carries it.
    public = Client().get(reverse("toolkits:detail", args=["facts-first"]) + "?org=alder")
    assertContains(public, f"Post 1.1 about the facts: {OWN_LINK}")

    response = client.post(url, {"action": "clear"}, follow=True)
    assertContains(response, "now shares “Facts first” with the toolkit&#x27;s own link")
    assert not OrganizationLink.objects.exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "Please enter your credible link."),
        ("javascript:alert(1)", "Please enter a full web address starting with https://"),
        ("https://example.org/" + "a" * 600, "Please use a link of at most 500 characters"),
        ("not a link at all", "Please enter a full web address starting with https://"),
    ],
    ids=["empty", "javascript", "too-long", "words"],
)
def test_a_bad_link_is_shown_with_its_message_and_nothing_is_saved(world, url, message):
    client = _client(world["editor_a"])
    response = client.post(_link_url(world["toolkit"], world["a"]), {"action": "save", "url": url})
    assert response.status_code == 200
    assertContains(response, message)
    assertContains(response, 'aria-invalid="true"')
    assert not OrganizationLink.objects.exists()


def test_the_form_needs_its_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(accounts._user_for_contact(world["editor_a"]), backend=BACKEND)
    url = _link_url(world["toolkit"], world["a"])
    assert client.post(url, {"action": "save", "url": OWN_LINK}).status_code == 403
    assert not OrganizationLink.objects.exists()


def test_drafts_and_unknown_toolkits_are_404_for_editors(world):
    draft = toolkit_build(slug="draft-kit", publish=False)
    client = _client(world["editor_a"])
    assert client.get(_link_url(draft, world["a"])).status_code == 404
    assert client.get("/account/toolkits/no-such-kit/org/alder/link/").status_code == 404


def test_index_lists_toolkits_and_the_editors_organisations(world, django_assert_num_queries):
    from toolkits import services

    services.organization_link_set(toolkit=world["toolkit"], organization=world["a"], url=OWN_LINK)
    client = _client(world["editor_a"])
    response = client.get(reverse("toolkit_account:index"))
    assertContains(response, "Alder Street Outreach")
    assertContains(response, OWN_LINK)
    assertNotContains(response, "Birchwood")
    assertContains(response, f'href="{_link_url(world["toolkit"], world["a"])}"')


# The session, the user, their contact, their organisations, the toolkits, the links.
ACCOUNT_INDEX_QUERIES = 6


@pytest.mark.parametrize("count", [1, 4], ids=["one", "many"])
def test_index_query_count(django_assert_num_queries, count):
    from toolkits import services

    contact = AffiliationFactory(role=Affiliation.Role.EDITOR).contact
    for index in range(count):
        toolkit = toolkit_build(slug=f"kit-{index}", threads=0, graphics=0)
        organization = (
            contact.organizations.first()
            if index == 0
            else AffiliationFactory(contact=contact, role=Affiliation.Role.PRIMARY).organization
        )
        services.organization_link_set(
            toolkit=toolkit, organization=organization, url=f"https://own.example.org/{index}"
        )
    client = _client(contact)
    with django_assert_num_queries(ACCOUNT_INDEX_QUERIES):
        response = client.get(reverse("toolkit_account:index"))
    content = response.content.decode()
    assert content.count('<th scope="row">') == count * count
    assert content.count("https://own.example.org/") == 2 * count  # each link and its text
