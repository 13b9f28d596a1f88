"""Writes of toolkits: Markdown rendered safely, posts refused over their limits, publishing,
and member organisations' own links."""

import pytest
from django.core.exceptions import ValidationError

from crm.errors import ApplicationError
from members.models import Interaction
from tests.factories import OrganizationFactory
from tests.toolkits.conftest import DEFAULT_LINK, toolkit_build
from toolkits import services
from toolkits.models import OrganizationLink, Platform, SamplePost, Thread, ThreadPost, Toolkit

pytestmark = pytest.mark.django_db


def test_markdown_is_rendered_and_sanitised_on_save():
    toolkit = services.toolkit_create(
        title="Facts",
        introduction="Read **this**.<script>alert(1)</script> [x](javascript:alert(2))",
    )
    point = services.talking_point_add(
        toolkit=toolkit, heading="One", text="A *claim* <img src=x onerror=alert(3)>"
    )
    toolkit.refresh_from_db()
    point.refresh_from_db()
    assert "<strong>this</strong>" in toolkit.introduction_html
    assert "<script" not in toolkit.introduction_html
    assert "javascript:" not in toolkit.introduction_html
    assert "<em>claim</em>" in point.text_html
    assert "onerror" not in point.text_html and "<img" not in point.text_html
    assert toolkit.slug == "facts"
    assert toolkit.status == Toolkit.Status.DRAFT


def test_hashtags_are_tidied_and_a_bad_one_is_refused():
    toolkit = services.toolkit_create(title="Facts", hashtags="EndTrafficking, #FactsNotFiction")
    assert toolkit.hashtags == "#EndTrafficking #FactsNotFiction"
    with pytest.raises(ValidationError) as error:
        services.toolkit_update(toolkit=toolkit, data={"hashtags": "#end-trafficking"})
    assert "is not a hashtag" in error.value.message_dict["hashtags"][0]


def test_a_post_over_its_limit_is_refused_with_the_rule(toolkit):
    with pytest.raises(ValidationError) as error:
        services.sample_post_add(toolkit=toolkit, platform=Platform.X, text="z" * 281)
    assert error.value.message_dict["text"] == [
        "X posts are limited to 280 characters (links count as 23); this one is 281."
    ]
    assert not SamplePost.objects.filter(text="z" * 281).exists()


def test_a_post_using_link_needs_a_toolkit_link():
    toolkit = services.toolkit_create(title="No link yet")
    with pytest.raises(ValidationError) as error:
        services.sample_post_add(toolkit=toolkit, platform=Platform.FACEBOOK, text="See {link}")
    assert "needs a credible link" in error.value.message_dict["text"][0]


def test_a_post_cannot_hang_under_another_toolkits_talking_point(toolkit):
    other = toolkit_build(slug="other", publish=False)
    point = other.talking_points.get()
    with pytest.raises(ValidationError) as error:
        services.sample_post_add(
            toolkit=toolkit, platform=Platform.X, text="Hello", talking_point=point
        )
    assert error.value.message_dict["talking_point"] == ["Choose a talking point of this toolkit."]


def test_a_thread_is_refused_whole_when_a_numbered_post_is_over():
    toolkit = services.toolkit_create(title="Threads", share_link=DEFAULT_LINK)
    texts = ["ok"] * 7 + ["y" * 277]  # 277 + " 8/8" = 281
    with pytest.raises(ValidationError) as error:
        services.thread_add(toolkit=toolkit, title="Eight", texts=texts)
    assert error.value.messages == [
        "Post 8: X posts are limited to 280 characters (links count as 23); with its number "
        "“8/8” this one is 281."
    ]
    assert not Thread.objects.exists() and not ThreadPost.objects.exists()
    texts[-1] = "y" * 276
    thread = services.thread_add(toolkit=toolkit, title="Eight", texts=texts)
    assert thread.posts.count() == 8


def test_a_new_toolkit_link_that_breaks_a_bluesky_post_is_refused(toolkit):
    services.sample_post_add(toolkit=toolkit, platform=Platform.BLUESKY, text="w" * 240 + " {link}")
    with pytest.raises(ValidationError) as error:
        services.toolkit_update(
            toolkit=toolkit, data={"share_link": "https://example.org/" + "long/" * 20}
        )
    assert (
        "Bluesky posts are limited to 300 characters" in error.value.message_dict["share_link"][0]
    )
    assert Toolkit.objects.get(pk=toolkit.pk).share_link == DEFAULT_LINK


def test_publishing_needs_content():
    empty = services.toolkit_create(title="Empty")
    with pytest.raises(ApplicationError, match="no talking point and no post yet"):
        services.toolkit_publish(toolkit=empty)
    assert Toolkit.objects.get(pk=empty.pk).status == Toolkit.Status.DRAFT


def test_a_part_changed_stamps_the_toolkit(toolkit):
    before = toolkit.modified
    services.resource_add(toolkit=toolkit, title="More", url="https://example.org/more")
    assert Toolkit.objects.get(pk=toolkit.pk).modified > before


# --- Member organisations' links ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url, message",
    [
        ("", "Please enter your credible link."),
        ("javascript:alert(1)", "Please enter a full web address starting with https://"),
        ("ftp://files.example.org/x", "Please enter a full web address starting with https://"),
        ("https://", "Please enter a full web address starting with https://"),
        ("https://example.org/" + "a" * 500, "Please use a link of at most 500 characters"),
    ],
    ids=["empty", "javascript", "ftp", "no-host", "too-long"],
)
def test_organization_link_is_validated(toolkit, url, message):
    organization = OrganizationFactory()
    with pytest.raises(ValidationError) as error:
        services.organization_link_set(toolkit=toolkit, organization=organization, url=url)
    assert error.value.message_dict["url"][0].startswith(message)
    assert not OrganizationLink.objects.exists()


def test_organization_link_set_change_and_clear_are_recorded(toolkit, admin_user):
    organization = OrganizationFactory()
    link, changed = services.organization_link_set(
        toolkit=toolkit, organization=organization, url="ourfacts.example.org/facts", by_user=None
    )
    assert changed and link.url == "https://ourfacts.example.org/facts"
    _link, changed = services.organization_link_set(
        toolkit=toolkit, organization=organization, url="https://ourfacts.example.org/facts"
    )
    assert not changed
    services.organization_link_set(
        toolkit=toolkit,
        organization=organization,
        url="https://ourfacts.example.org/new",
        by_user=admin_user,
    )
    assert OrganizationLink.objects.get().url == "https://ourfacts.example.org/new"
    assert services.organization_link_clear(
        toolkit=toolkit, organization=organization, by_user=admin_user
    )
    assert not services.organization_link_clear(toolkit=toolkit, organization=organization)
    assert not OrganizationLink.objects.exists()
    notes = list(
        Interaction.objects.filter(organization=organization)
        .order_by("occurred_at", "pk")
        .values_list("text", flat=True)
    )
    assert notes == [
        "Credible link for the toolkit “Facts first” set to https://ourfacts.example.org/facts.",
        "Credible link for the toolkit “Facts first” set to https://ourfacts.example.org/new "
        "(was https://ourfacts.example.org/facts).",
        "Own credible link for the toolkit “Facts first” removed (was "
        "https://ourfacts.example.org/new); the toolkit's link is used again.",
    ]


def test_organization_link_too_long_for_a_bluesky_post_is_refused(toolkit):
    services.sample_post_add(toolkit=toolkit, platform=Platform.BLUESKY, text="v" * 200 + " {link}")
    organization = OrganizationFactory()
    with pytest.raises(ValidationError) as error:
        services.organization_link_set(
            toolkit=toolkit,
            organization=organization,
            url="https://example.org/" + "x" * 120,
        )
    messages = error.value.message_dict["url"]
    assert messages[0] == "This link is too long for some of the posts; please use a shorter one."
    assert messages[1].startswith("The Bluesky post “vvvv")
    assert "Bluesky posts are limited to 300 characters" in messages[1]
    assert not OrganizationLink.objects.exists()
