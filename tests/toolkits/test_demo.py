"""The demo Awareness Month toolkit: complete, within every limit, and seeded once."""

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from tests.factories import CampaignFactory
from toolkits.demo import TOOLKIT_SLUG, toolkit_demo_seed
from toolkits.models import (
    Graphic,
    OrganizationLink,
    Platform,
    Resource,
    SamplePost,
    Source,
    TalkingPoint,
    Thread,
    ThreadPost,
    Toolkit,
)
from toolkits.selectors import toolkit_for_sharing

pytestmark = pytest.mark.django_db

MODELS = [
    Toolkit,
    TalkingPoint,
    Source,
    SamplePost,
    Thread,
    ThreadPost,
    Graphic,
    Resource,
    OrganizationLink,
]


def _snapshot():
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


def test_seed_creates_a_complete_published_toolkit_linked_to_the_campaign():
    campaign = CampaignFactory(slug="awareness-month")
    toolkit, created = toolkit_demo_seed()
    assert created
    assert toolkit.slug == TOOLKIT_SLUG
    assert toolkit.status == Toolkit.Status.PUBLISHED
    assert toolkit.campaign == campaign
    assert toolkit.introduction_html.startswith("<p>")
    assert toolkit.talking_points.count() >= 5
    for point in toolkit.talking_points.all():
        assert point.sources.exists(), point.heading
        assert point.text_html
    urls = set(Source.objects.values_list("url", flat=True))
    assert {
        "https://polarisproject.org/child-sex-trafficking/",
        "https://www.acf.hhs.gov/otip",
        "https://humantraffickinghotline.org",
    } <= urls
    assert set(toolkit.posts.values_list("platform", flat=True)) == set(Platform.values)
    thread = toolkit.threads.get()
    assert thread.posts.count() == 8
    assert toolkit.resources.count() >= 3
    assert toolkit.hashtags.startswith("#")

    share = toolkit_for_sharing(toolkit)
    posts = [post for point in share.talking_points for post in point.posts]
    posts += [post for item in share.threads for post in item.posts]
    assert all(post.length <= post.limit for post in posts)
    assert [post.text.rsplit(" ", 1)[-1] for post in share.threads[0].posts] == [
        f"{n}/8" for n in range(1, 9)
    ]

    graphics = list(toolkit.graphics.all())
    assert len(graphics) == 2
    for graphic in graphics:
        assert graphic.alt_text and graphic.caption
        with default_storage.open(graphic.image.name) as file:
            image = Image.open(file)
            assert image.format == "PNG" and image.size == (1080, 1080)


def test_seed_without_the_campaign_leaves_it_empty():
    toolkit, _created = toolkit_demo_seed()
    assert toolkit.campaign is None


def test_seeding_twice_changes_nothing():
    toolkit_demo_seed()
    before = _snapshot()
    files = sorted(default_storage.listdir("toolkits")[1])
    toolkit, created = toolkit_demo_seed()
    assert not created
    assert _snapshot() == before
    assert sorted(default_storage.listdir("toolkits")[1]) == files


def test_a_missing_graphic_file_is_drawn_again():
    toolkit, _created = toolkit_demo_seed()
    graphic = toolkit.graphics.first()
    default_storage.delete(graphic.image.name)
    before = _snapshot()
    toolkit_demo_seed()
    assert default_storage.exists(graphic.image.name)
    assert _snapshot() == before
