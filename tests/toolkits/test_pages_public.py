"""The public toolkit pages: every post with its copy button and share link, sources, graphics
with alt text; a member organisation's own link; drafts hidden; a fixed number of queries."""

import html
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from members.models import Affiliation
from tests.factories import AffiliationFactory, CampaignFactory, OrganizationFactory
from tests.toolkits.conftest import DEFAULT_LINK, toolkit_build
from toolkits import services
from toolkits.models import Platform, Toolkit

pytestmark = pytest.mark.django_db

OWN_LINK = "https://ourfacts.example.org/facts"


def _url(toolkit, **query):
    url = reverse("toolkits:detail", args=[toolkit.slug])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def _share_hrefs(content: str) -> list[str]:
    return [
        html.unescape(href) for href in re.findall(r'<a class="share-link" href="([^"]+)"', content)
    ]


def test_page_shows_talking_points_sources_posts_and_graphics(client, toolkit):
    response = client.get(_url(toolkit))
    assert response.status_code == 200
    content = response.content.decode()
    assertContains(response, "<h1>Facts first</h1>", html=True)
    assertContains(response, '<h2 id="talking-points-heading">Talking points</h2>', html=True)
    assertContains(response, "Talking point 1</h3>")
    assertContains(response, "<strong>facts</strong>")  # the introduction's Markdown
    assertContains(response, '<a href="https://sources.example.org/1">Source 1</a>', html=True)
    # The post, with the credible link in place of {link}.
    assertContains(response, f"Post 1.1 about the facts: {DEFAULT_LINK}")
    assertNotContains(response, "{link}")
    # Thread posts numbered n/N.
    for number in (1, 2, 3):
        assertContains(response, f"Thread 1 post {number}: {DEFAULT_LINK} {number}/3")
    # The graphic: image with its alt text, caption, download link.
    graphic = toolkit.graphics.get()
    assertContains(
        response,
        f'<img src="{graphic.image.url}" alt="A blue square saying fact 1" loading="lazy">',
        html=True,
    )
    assertContains(response, "Caption of graphic 1")
    assert f'href="{graphic.image.url}" download' in content
    assertContains(response, "#FactsNotFiction #EndTrafficking")
    assertContains(response, '<a href="https://resources.example.org/1">Resource 1</a>')


def test_every_post_has_a_copy_button_and_its_platforms_share_link(client):
    toolkit = toolkit_build(points=1, posts_per_point=5, threads=1, thread_posts=2)
    response = client.get(_url(toolkit))
    content = response.content.decode()
    post_keys = re.findall(r'<p class="post-text" id="([^"]+)">', content)
    assert len(post_keys) == 5 + 2
    for key in post_keys:
        assert f'<button type="button" class="copy-button" data-copy="{key}">' in content
    assert 'src="/static/js/toolkit.js"' in content
    hrefs = _share_hrefs(content)
    # Instagram has no web share: 4 of the 5 posts and both X thread posts have a link.
    assert len(hrefs) == 4 + 2
    by_host = {urlparse(href).netloc + urlparse(href).path: href for href in hrefs}
    x_texts = [
        parse_qs(urlparse(href).query)["text"][0]
        for href in hrefs
        if href.startswith("https://twitter.com/intent/tweet?")
    ]
    assert x_texts[0] == f"Post 1.1 about the facts: {DEFAULT_LINK}"
    facebook = parse_qs(urlparse(by_host["www.facebook.com/sharer/sharer.php"]).query)
    assert facebook == {"u": [DEFAULT_LINK]}
    linkedin = parse_qs(urlparse(by_host["www.linkedin.com/sharing/share-offsite/"]).query)
    assert linkedin == {"url": [DEFAULT_LINK]}
    bluesky = parse_qs(urlparse(by_host["bsky.app/intent/compose"]).query)
    assert bluesky["text"][0].endswith(DEFAULT_LINK)
    assertContains(response, "Instagram has no share link")
    # Without JavaScript the buttons are hidden and the text stays selectable.
    assert "<noscript><style>.copy-button { display: none; }</style></noscript>" in content


def test_thread_share_links_carry_the_numbered_text(client, toolkit):
    content = client.get(_url(toolkit)).content.decode()
    texts = [
        parse_qs(urlparse(href).query)["text"][0]
        for href in _share_hrefs(content)
        if href.startswith("https://twitter.com/intent/tweet?")
    ]
    texts = [text for text in texts if text.startswith("Thread 1")]
    assert texts == [f"Thread 1 post {n}: {DEFAULT_LINK} {n}/3" for n in (1, 2, 3)]


def test_an_organisations_own_link_replaces_the_default(client, toolkit):
    organization = OrganizationFactory(name="Harbor Light", slug="harbor-light")
    services.organization_link_set(toolkit=toolkit, organization=organization, url=OWN_LINK)
    response = client.get(_url(toolkit, org="harbor-light"))
    assertContains(response, f"Post 1.1 about the facts: {OWN_LINK}")
    assertContains(response, f"Thread 1 post 2: {OWN_LINK} 2/3")
    assertContains(response, "the credible source Harbor Light chose")
    assertNotContains(response, f"about the facts: {DEFAULT_LINK}")
    hrefs = _share_hrefs(response.content.decode())
    assert hrefs and all(DEFAULT_LINK not in href for href in hrefs)
    # Without ?org= the page keeps the toolkit's own link.
    assertContains(client.get(_url(toolkit)), f"Post 1.1 about the facts: {DEFAULT_LINK}")


def test_an_unlisted_organisation_is_not_named(client, toolkit):
    organization = OrganizationFactory(name="Quiet Shelter", slug="quiet", listed=False)
    services.organization_link_set(toolkit=toolkit, organization=organization, url=OWN_LINK)
    response = client.get(_url(toolkit, org="quiet"))
    assertContains(response, f"Post 1.1 about the facts: {OWN_LINK}")
    assertContains(response, "the credible source a member organisation chose")
    assertNotContains(response, "Quiet Shelter")


@pytest.mark.parametrize(
    "org, notice",
    [("no-such-member", True), ("%00", False), ("x" * 500, True), ("<script>", True)],
    ids=["unknown", "nul", "long", "markup"],
)
def test_an_unknown_org_falls_back_to_the_default_link(client, toolkit, org, notice):
    response = client.get(_url(toolkit, org=org))
    assert response.status_code == 200
    assertContains(response, f"Post 1.1 about the facts: {DEFAULT_LINK}")
    assert ("We found no member organisation called" in response.content.decode()) is notice
    assertNotContains(response, "<script>")


def test_an_organisation_without_its_own_link_gets_the_default(client, toolkit):
    OrganizationFactory(slug="no-link")
    response = client.get(_url(toolkit, org="no-link"))
    assertContains(response, f"Post 1.1 about the facts: {DEFAULT_LINK}")
    assertNotContains(response, "We found no member organisation")


def test_no_email_or_phone_of_anyone_on_the_page(client, toolkit):
    organization = OrganizationFactory(slug="harbor-light", public_phone="+14045550100")
    for role in Affiliation.Role.values:
        AffiliationFactory(
            organization=organization,
            role=role,
            contact__email=f"{role}.person@example.org",
            contact__phone="+14045550123",
        )
    services.organization_link_set(toolkit=toolkit, organization=organization, url=OWN_LINK)
    for url in (_url(toolkit), _url(toolkit, org="harbor-light"), reverse("toolkits:index")):
        content = client.get(url).content.decode()
        assert "@example.org" not in content
        assert "555-0123" not in content and "5550123" not in content
        assert "5550100" not in content


def test_a_draft_is_404_for_the_public_and_a_preview_for_conveners(convener_client):
    draft = toolkit_build(slug="draft-kit", publish=False)
    assert draft.status == Toolkit.Status.DRAFT
    public = Client()
    assert public.get(_url(draft)).status_code == 404
    assertNotContains(public.get(reverse("toolkits:index")), "draft-kit")
    response = convener_client.get(_url(draft))
    assertContains(response, "Preview: this toolkit is a draft")


def test_a_draft_is_404_for_a_member_editor(client):
    draft = toolkit_build(slug="draft-kit", publish=False)
    contact = AffiliationFactory(role=Affiliation.Role.EDITOR).contact
    from members import accounts

    client.force_login(accounts._user_for_contact(contact))
    assert client.get(_url(draft)).status_code == 404


def test_the_campaign_is_linked_unless_it_is_a_draft(client):
    toolkit = toolkit_build()
    campaign = CampaignFactory(slug="awareness-month", title="Facts, not fiction")
    services.toolkit_update(toolkit=toolkit, data={"campaign": campaign})
    response = client.get(_url(toolkit))
    assertContains(response, f'href="{reverse("campaigns:sign", args=[campaign.slug])}"')
    campaign.status = "draft"
    campaign.save()
    assertNotContains(client.get(_url(toolkit)), "Facts, not fiction")


def test_index_lists_published_toolkits_only(client):
    toolkit_build(slug="one", title="Toolkit one")
    toolkit_build(slug="two", title="Toolkit two", publish=False)
    response = client.get(reverse("toolkits:index"))
    assertContains(response, "Toolkit one")
    assertNotContains(response, "Toolkit two")


def test_a_post_too_long_with_the_organisations_link_keeps_the_default(client, toolkit):
    organization = OrganizationFactory(slug="long-link")
    long_link = "https://example.org/" + "x" * 60
    services.organization_link_set(toolkit=toolkit, organization=organization, url=long_link)
    # Written after the organisation chose its link: fits with the default, not with theirs.
    services.sample_post_add(
        toolkit=toolkit, platform=Platform.BLUESKY, text="u" * 240 + " {link}", position=9
    )
    response = client.get(_url(toolkit, org="long-link"))
    assertContains(response, "u" * 240 + " " + DEFAULT_LINK)
    assertContains(response, f"Post 1.1 about the facts: {long_link}")


def test_only_get_is_allowed(client, toolkit):
    assert client.post(_url(toolkit)).status_code == 405


# --- Query counts: the same with one of everything and with many ------------------------------

# Toolkit, talking points, sources, posts, threads, thread posts, graphics, resources.
DETAIL_QUERIES = 8
# ... and the organisation named by ?org=, and its own link.
DETAIL_WITH_ORG_QUERIES = 10


@pytest.mark.parametrize("size", [1, 6], ids=["one-of-each", "many"])
def test_detail_query_count(django_assert_num_queries, size):
    toolkit = toolkit_build(
        points=size,
        posts_per_point=size,
        threads=size,
        thread_posts=size + 1,
        graphics=size,
        resources=size,
    )
    organization = OrganizationFactory(slug="harbor-light")
    services.organization_link_set(toolkit=toolkit, organization=organization, url=OWN_LINK)
    client = Client()
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(_url(toolkit))
    assert response.content.decode().count('class="post-text"') == size * size + size * (size + 1)
    with django_assert_num_queries(DETAIL_WITH_ORG_QUERIES):
        response = client.get(_url(toolkit, org="harbor-light"))
    assertContains(response, OWN_LINK)


@pytest.mark.parametrize("count", [1, 5], ids=["one", "many"])
def test_index_query_count(django_assert_num_queries, count):
    campaign = CampaignFactory()
    for index in range(count):
        toolkit = toolkit_build(slug=f"kit-{index}", title=f"Kit {index}", threads=0, graphics=0)
        services.toolkit_update(toolkit=toolkit, data={"campaign": campaign})
    with django_assert_num_queries(1):
        response = Client().get(reverse("toolkits:index"))
    assert response.content.decode().count("For our campaign") == count
