"""Conveners build toolkits in the admin: each post is checked against its platform's rule as it
is typed, and the message shows under that post; nothing is saved until every post fits."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from crm.roles import CONVENERS, convener_group_ensure
from tests.factories import OrganizationFactory
from tests.toolkits.conftest import DEFAULT_LINK, toolkit_build
from toolkits.models import OrganizationLink, SamplePost, ThreadPost, Toolkit

pytestmark = pytest.mark.django_db

X_OVER = "X posts are limited to 280 characters (links count as 23); this one is 281."
INLINES = ["talking_points", "posts", "graphics", "resources", "org_links"]


def _management(prefix, total=0, initial=0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _toolkit_form(**fields) -> dict:
    data = {
        "title": "Awareness Month",
        "slug": "awareness",
        "status": "draft",
        "campaign": "",
        "introduction": "Share **facts**.",
        "share_link": DEFAULT_LINK,
        "hashtags": "#FactsNotFiction",
    }
    data.update(fields)
    for prefix in INLINES:
        data.update(_management(prefix))
    return data


def _with_posts(data: dict, posts: list[tuple[str, str]]) -> dict:
    data.update(_management("posts", total=len(posts)))
    for index, (platform, text) in enumerate(posts):
        data.update(
            {
                f"posts-{index}-position": str(index),
                f"posts-{index}-talking_point": "",
                f"posts-{index}-platform": platform,
                f"posts-{index}-text": text,
            }
        )
    return data


def test_add_with_a_post_over_its_limit_shows_the_message_and_saves_nothing(admin_client):
    data = _with_posts(_toolkit_form(), [("x", "Fine: {link}"), ("x", "a" * 281)])
    response = admin_client.post(reverse("admin:toolkits_toolkit_add"), data)
    assert response.status_code == 200
    assertContains(response, X_OVER, count=1)
    assert not Toolkit.objects.exists()
    assert not SamplePost.objects.exists()


def test_add_checks_the_post_with_the_link_typed_in_the_same_form(admin_client):
    long_link = "https://example.org/" + "l" * 100
    text = "b" * 200 + " {link}"  # 301 on Bluesky with a 100-character link
    data = _with_posts(_toolkit_form(share_link=long_link), [("bluesky", text)])
    response = admin_client.post(reverse("admin:toolkits_toolkit_add"), data)
    assertContains(response, "Bluesky posts are limited to 300 characters; with its link this one")
    assert not Toolkit.objects.exists()


def test_add_a_valid_toolkit_renders_its_introduction(admin_client):
    data = _with_posts(_toolkit_form(), [("x", "b" * 256 + " {link}")])
    response = admin_client.post(reverse("admin:toolkits_toolkit_add"), data)
    assert response.status_code == 302
    toolkit = Toolkit.objects.get()
    assert toolkit.introduction_html == "<p>Share <strong>facts</strong>.</p>"
    assert SamplePost.objects.get().text == "b" * 256 + " {link}"


def test_a_post_using_link_without_a_toolkit_link_is_refused(admin_client):
    data = _with_posts(_toolkit_form(share_link=""), [("facebook", "Read {link}")])
    response = admin_client.post(reverse("admin:toolkits_toolkit_add"), data)
    assertContains(response, "This post uses {link}, so the toolkit needs a credible link")
    assert not Toolkit.objects.exists()


def test_a_bad_hashtag_is_refused(admin_client):
    response = admin_client.post(
        reverse("admin:toolkits_toolkit_add"), _toolkit_form(hashtags="#end-it")
    )
    assertContains(response, "“#end-it” is not a hashtag")


def test_change_page_has_view_on_site_graphic_preview_and_threads(admin_client, toolkit):
    response = admin_client.get(reverse("admin:toolkits_toolkit_change", args=[toolkit.pk]))
    assert response.status_code == 200
    assertContains(response, "View on site")
    graphic = toolkit.graphics.get()
    assertContains(response, f'<img src="{graphic.image.url}" alt="A blue square saying fact 1"')
    thread = toolkit.threads.get()
    assertContains(response, reverse("admin:toolkits_thread_change", args=[thread.pk]))
    public = reverse("toolkits:detail", args=[toolkit.slug])
    assertContains(response, f'<a href="{public}" class="viewsitelink">View on site</a>', html=True)


def test_an_organisation_link_with_a_bad_address_is_refused_in_the_admin(admin_client, toolkit):
    organization = OrganizationFactory()
    data = _change_form(toolkit)
    data.update(_management("org_links", total=1))
    data.update({"org_links-0-organization": str(organization.pk), "org_links-0-url": "ftp://x"})
    response = admin_client.post(reverse("admin:toolkits_toolkit_change", args=[toolkit.pk]), data)
    assertContains(response, "Please enter a full web address starting with https://")
    assert not OrganizationLink.objects.exists()
    data["org_links-0-url"] = "https://ours.example.org/"
    response = admin_client.post(reverse("admin:toolkits_toolkit_change", args=[toolkit.pk]), data)
    assert response.status_code == 302
    assert OrganizationLink.objects.get().url == "https://ours.example.org/"


def _change_form(toolkit) -> dict:
    """The change form of the toolkit as the admin shows it, unchanged."""
    data = _toolkit_form(
        title=toolkit.title,
        slug=toolkit.slug,
        status=toolkit.status,
        introduction=toolkit.introduction,
        share_link=toolkit.share_link,
        hashtags=toolkit.hashtags,
    )
    points = list(toolkit.talking_points.all())
    data.update(_management("talking_points", total=len(points), initial=len(points)))
    for index, point in enumerate(points):
        data.update(
            {
                f"talking_points-{index}-id": str(point.pk),
                f"talking_points-{index}-toolkit": str(toolkit.pk),
                f"talking_points-{index}-position": str(point.position),
                f"talking_points-{index}-heading": point.heading,
                f"talking_points-{index}-text": point.text,
            }
        )
    posts = list(toolkit.posts.all())
    data.update(_management("posts", total=len(posts), initial=len(posts)))
    for index, post in enumerate(posts):
        data.update(
            {
                f"posts-{index}-id": str(post.pk),
                f"posts-{index}-toolkit": str(toolkit.pk),
                f"posts-{index}-position": str(post.position),
                f"posts-{index}-talking_point": str(post.talking_point_id or ""),
                f"posts-{index}-platform": post.platform,
                f"posts-{index}-text": post.text,
            }
        )
    graphics = list(toolkit.graphics.all())
    data.update(_management("graphics", total=len(graphics), initial=len(graphics)))
    for index, graphic in enumerate(graphics):
        data.update(
            {
                f"graphics-{index}-id": str(graphic.pk),
                f"graphics-{index}-toolkit": str(toolkit.pk),
                f"graphics-{index}-position": str(graphic.position),
                f"graphics-{index}-alt_text": graphic.alt_text,
                f"graphics-{index}-caption": graphic.caption,
            }
        )
    resources = list(toolkit.resources.all())
    data.update(_management("resources", total=len(resources), initial=len(resources)))
    for index, resource in enumerate(resources):
        data.update(
            {
                f"resources-{index}-id": str(resource.pk),
                f"resources-{index}-toolkit": str(toolkit.pk),
                f"resources-{index}-position": str(resource.position),
                f"resources-{index}-title": resource.title,
                f"resources-{index}-url": resource.url,
                f"resources-{index}-description": resource.description,
            }
        )
    return data


def test_change_shows_the_message_under_the_post_that_breaks_the_rule(admin_client, toolkit):
    data = _change_form(toolkit)
    post = toolkit.posts.get()
    data["posts-0-platform"] = "x"
    data["posts-0-text"] = "a" * 281
    response = admin_client.post(reverse("admin:toolkits_toolkit_change", args=[toolkit.pk]), data)
    assertContains(response, X_OVER, count=1)
    post.refresh_from_db()
    assert post.text != "a" * 281


def test_changing_the_toolkit_link_is_checked_against_its_threads(admin_client, toolkit):
    thread = toolkit.threads.get()
    last = thread.posts.last()
    last.text = "t" * 150 + " {link}"
    last.save()
    data = _change_form(toolkit)
    data["share_link"] = "https://example.org/" + "s" * 130
    response = admin_client.post(reverse("admin:toolkits_toolkit_change", args=[toolkit.pk]), data)
    # X counts the link as 23 whatever its length: this link is fine.
    assert response.status_code == 302
    # On Bluesky the link counts in full.
    thread.platform = "bluesky"
    thread.save()
    data["share_link"] = "https://example.org/" + "q" * 140
    response = admin_client.post(reverse("admin:toolkits_toolkit_change", args=[toolkit.pk]), data)
    assertContains(response, "Post 3 of the thread “Thread 1”")
    assertContains(response, "Bluesky posts are limited to 300 characters")


def _thread_form(thread, texts: list[str]) -> dict:
    posts = list(thread.posts.all())
    data = {
        "toolkit": str(thread.toolkit_id),
        "title": thread.title,
        "platform": thread.platform,
        "position": str(thread.position),
        **_management("posts", total=len(texts), initial=len(posts)),
    }
    for index, text in enumerate(texts):
        if index < len(posts):
            data[f"posts-{index}-id"] = str(posts[index].pk)
            data[f"posts-{index}-thread"] = str(thread.pk)
        data[f"posts-{index}-position"] = str(index)
        data[f"posts-{index}-text"] = text
    return data


def test_thread_admin_counts_the_number_toward_the_limit(admin_client, toolkit):
    thread = toolkit.threads.get()
    url = reverse("admin:toolkits_thread_change", args=[thread.pk])
    texts = ["Short one"] * 7 + ["n" * 277]  # with " 8/8": 281
    response = admin_client.post(url, _thread_form(thread, texts))
    assertContains(
        response,
        "X posts are limited to 280 characters (links count as 23); with its number “8/8” this "
        "one is 281.",
        count=1,
    )
    assert thread.posts.count() == 3
    texts[-1] = "n" * 276
    response = admin_client.post(url, _thread_form(thread, texts))
    assert response.status_code == 302
    assert list(thread.posts.values_list("text", flat=True)) == texts
    assert ThreadPost.objects.filter(thread=thread).count() == 8


def test_thread_admin_add_saves_thread_and_posts(admin_client, toolkit):
    data = {
        "toolkit": str(toolkit.pk),
        "title": "New thread",
        "platform": "x",
        "position": "1",
        **_management("posts", total=2),
        "posts-0-position": "0",
        "posts-0-text": "First {link}",
        "posts-1-position": "1",
        "posts-1-text": "Second",
    }
    response = admin_client.post(reverse("admin:toolkits_thread_add"), data)
    assert response.status_code == 302
    thread = toolkit.threads.get(title="New thread")
    assert list(thread.posts.values_list("text", flat=True)) == ["First {link}", "Second"]


def test_publish_action_refuses_an_empty_toolkit(admin_client):
    from toolkits import services

    empty = services.toolkit_create(title="Empty")
    ready = toolkit_build(slug="ready", publish=False)
    response = admin_client.post(
        reverse("admin:toolkits_toolkit_changelist"),
        {"action": "publish", "_selected_action": [empty.pk, ready.pk]},
        follow=True,
    )
    assertContains(response, "“Empty” has no talking point and no post yet")
    assertContains(response, "1 toolkit published.")
    assert Toolkit.objects.get(pk=ready.pk).status == Toolkit.Status.PUBLISHED
    assert Toolkit.objects.get(pk=empty.pk).status == Toolkit.Status.DRAFT


def test_conveners_group_holds_the_toolkit_permissions():
    """The Conveners group is brought up to date after every migrate (crm.roles)."""
    group = convener_group_ensure()
    codenames = set(
        group.permissions.filter(content_type__app_label="toolkits").values_list(
            "codename", flat=True
        )
    )
    assert {"add_toolkit", "change_toolkit", "change_samplepost", "change_thread"} <= codenames
    assert Group.objects.filter(name=CONVENERS).exists()


def test_a_convener_works_on_toolkits_in_the_admin(convener_client, toolkit):
    response = convener_client.get(reverse("admin:toolkits_toolkit_change", args=[toolkit.pk]))
    assert response.status_code == 200
    assertNotContains(response, "403")
