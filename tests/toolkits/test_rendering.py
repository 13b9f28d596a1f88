"""A toolkit inside an e-mail: sources, posts by platform, numbered threads, absolute image
addresses with alt text, the link to the page; HTML safe for mail clients, text readable."""

import re

import pytest

from tests.factories import OrganizationFactory
from tests.toolkits.conftest import DEFAULT_LINK, SITE, toolkit_build
from toolkits import services
from toolkits.models import Toolkit
from toolkits.rendering import toolkit_email_parts

pytestmark = pytest.mark.django_db

OWN_LINK = "https://ourfacts.example.org/facts"


def test_html_part_has_sources_posts_numbered_thread_graphics_and_page_link(toolkit):
    html, _text = toolkit_email_parts(toolkit)
    assert '<a href="https://sources.example.org/1" style="color: #0b5cad;">Source 1</a>' in html
    assert f"Post 1.1 about the facts: {DEFAULT_LINK}" in html
    assert "X / Twitter" in html
    for number in (1, 2, 3):
        assert f"Thread 1 post {number}: {DEFAULT_LINK} {number}/3" in html
        assert f"X / Twitter · {number}/3" in html
    graphic = toolkit.graphics.get()
    image_url = f"{SITE}{graphic.image.url}"
    assert f'<img src="{image_url}" alt="A blue square saying fact 1"' in html
    assert f'href="{SITE}/toolkits/facts-first/"' in html
    assert "#FactsNotFiction #EndTrafficking" in html
    assert "Resource 1" in html and "https://resources.example.org/1" in html
    assert "{link}" not in html


def test_html_part_is_mail_safe(toolkit):
    html, _text = toolkit_email_parts(toolkit)
    assert "<script" not in html.lower()
    assert "<style" not in html.lower()
    assert "class=" not in html
    assert 'src="/' not in html and 'href="/' not in html  # every address absolute


def test_text_part_is_readable(toolkit):
    _html, text = toolkit_email_parts(toolkit)
    assert text.startswith("FACTS FIRST\n===========\n")
    assert "Share facts, not rumours." in text  # Markdown emphasis dropped
    assert "1. Talking point 1" in text
    assert "   Claim number 1, backed by a source (https://example.org/0)." in text
    assert "   - Source 1: https://sources.example.org/1" in text
    assert f"[X / Twitter 2/3]\nThread 1 post 2: {DEFAULT_LINK} 2/3" in text
    graphic = toolkit.graphics.get()
    assert f"- {SITE}{graphic.image.url}\n  Alt text: A blue square saying fact 1" in text
    assert f"Open the toolkit online to copy and share each post: {SITE}/toolkits/facts-first/" in (
        text
    )
    assert "<" not in text.replace("<https", "")


def test_an_organisation_gets_its_own_link_and_its_page(toolkit):
    organization = OrganizationFactory(slug="harbor-light")
    services.organization_link_set(toolkit=toolkit, organization=organization, url=OWN_LINK)
    html, text = toolkit_email_parts(toolkit, organization=organization)
    assert f"Post 1.1 about the facts: {OWN_LINK}" in html
    assert f"Thread 1 post 3: {OWN_LINK} 3/3" in text
    assert f"{SITE}/toolkits/facts-first/?org=harbor-light" in html
    assert f"{SITE}/toolkits/facts-first/?org=harbor-light" in text
    assert DEFAULT_LINK not in re.sub(r"Source \d+", "", text)
    # Without the organisation: the toolkit's link, no ?org=.
    html, text = toolkit_email_parts(toolkit)
    assert f"Post 1.1 about the facts: {DEFAULT_LINK}" in text
    assert "?org=" not in html


def test_rendering_is_reused_until_the_toolkit_changes(toolkit, django_assert_num_queries):
    first = toolkit_email_parts(toolkit)
    with django_assert_num_queries(0):
        assert toolkit_email_parts(toolkit) == first
    services.resource_add(toolkit=toolkit, title="A new resource", url="https://new.example.org")
    toolkit = Toolkit.objects.get(pk=toolkit.pk)
    html, _text = toolkit_email_parts(toolkit)
    assert "A new resource" in html


def test_an_organisation_costs_one_query_once_rendered(toolkit, django_assert_num_queries):
    organization = OrganizationFactory(slug="harbor-light")
    toolkit_email_parts(toolkit, organization=organization)
    with django_assert_num_queries(0):
        toolkit_email_parts(toolkit, organization=organization)


def test_organisations_without_a_link_of_their_own_share_one_rendering(
    toolkit, django_assert_num_queries
):
    """A mailing to every member renders the toolkit once, not once per organisation; each
    still gets the address of the page that names it."""
    harbor, bridge = OrganizationFactory(slug="harbor-light"), OrganizationFactory(slug="bridge")
    harbor_html, harbor_text = toolkit_email_parts(toolkit, organization=harbor)
    with django_assert_num_queries(1):  # bridge's own link (none), nothing rendered again
        bridge_html, bridge_text = toolkit_email_parts(toolkit, organization=bridge)
    assert f"{SITE}/toolkits/facts-first/?org=bridge" in bridge_html
    assert f"{SITE}/toolkits/facts-first/?org=bridge" in bridge_text
    assert "harbor-light" not in bridge_html + bridge_text
    assert bridge_html == harbor_html.replace("?org=harbor-light", "?org=bridge")
    assert bridge_text == harbor_text.replace("?org=harbor-light", "?org=bridge")


@pytest.mark.parametrize("size", [1, 5], ids=["one-of-each", "many"])
def test_first_rendering_query_count(django_assert_num_queries, size):
    toolkit = toolkit_build(
        points=size, posts_per_point=size, threads=size, graphics=size, resources=size
    )
    organization = OrganizationFactory(slug="harbor-light")
    # The organisation's link, the toolkit afresh, and its seven parts.
    with django_assert_num_queries(9):
        html, _text = toolkit_email_parts(toolkit, organization=organization)
    assert html.count("<img ") == size


def test_markup_in_posts_is_escaped():
    toolkit = toolkit_build(points=0, threads=0, graphics=0, resources=0, publish=False)
    services.sample_post_add(
        toolkit=toolkit, platform="facebook", text="<b>bold</b> & <script>x()</script>"
    )
    html, text = toolkit_email_parts(Toolkit.objects.get(pk=toolkit.pk))
    assert "&lt;script&gt;x()&lt;/script&gt;" in html and "<script>" not in html
    assert "<b>bold</b> & <script>x()</script>" in text


def test_a_path_written_in_markdown_becomes_an_absolute_link():
    toolkit = toolkit_build(points=0, threads=0, graphics=0, resources=0, publish=False)
    services.talking_point_add(
        toolkit=toolkit, heading="Sign", text="Add your name [here](/campaigns/awareness-month/)."
    )
    html, text = toolkit_email_parts(Toolkit.objects.get(pk=toolkit.pk))
    assert f'href="{SITE}/campaigns/awareness-month/"' in html
    assert "here (/campaigns/awareness-month/)" in text
