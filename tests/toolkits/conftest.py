"""Fixtures of the toolkit tests: uploads in a folder of the test's own, a known site address,
and toolkits built through the services, as conveners build them."""

import io

import pytest
from PIL import Image

from toolkits import services
from toolkits.models import Platform, Toolkit
from toolkits.rendering import toolkit_email_cache_clear

SITE = "https://coalition.example.org"
DEFAULT_LINK = "https://polarisproject.org/child-sex-trafficking/"


@pytest.fixture(autouse=True)
def media_and_site(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = SITE
    toolkit_email_cache_clear()
    yield
    toolkit_email_cache_clear()


def png_bytes(color=(11, 92, 173), size=(40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def toolkit_build(
    *,
    slug="facts-first",
    title="Facts first",
    points=1,
    posts_per_point=1,
    threads=1,
    thread_posts=3,
    graphics=1,
    resources=1,
    publish=True,
    share_link=DEFAULT_LINK,
) -> Toolkit:
    """A toolkit with as many of each part as asked."""
    from django.core.files.base import ContentFile

    toolkit = services.toolkit_create(
        title=title,
        slug=slug,
        introduction="Share **facts**, not rumours.",
        share_link=share_link,
        hashtags="#FactsNotFiction EndTrafficking",
    )
    platforms = list(Platform.values)
    for index in range(points):
        services.talking_point_add(
            toolkit=toolkit,
            heading=f"Talking point {index + 1}",
            text=f"Claim number {index + 1}, backed by [a source](https://example.org/{index}).",
            position=index,
            sources=[(f"Source {index + 1}", f"https://sources.example.org/{index + 1}")],
            posts=[
                (
                    platforms[(index + n) % len(platforms)],
                    f"Post {index + 1}.{n + 1} about the facts: {{link}}",
                )
                for n in range(posts_per_point)
            ],
        )
    for index in range(threads):
        services.thread_add(
            toolkit=toolkit,
            title=f"Thread {index + 1}",
            texts=[f"Thread {index + 1} post {n + 1}: {{link}}" for n in range(thread_posts)],
            position=index,
        )
    for index in range(graphics):
        services.graphic_add(
            toolkit=toolkit,
            image=ContentFile(png_bytes(), name=f"graphic-{index + 1}.png"),
            alt_text=f"A blue square saying fact {index + 1}",
            caption=f"Caption of graphic {index + 1}",
            position=index,
        )
    for index in range(resources):
        services.resource_add(
            toolkit=toolkit,
            title=f"Resource {index + 1}",
            url=f"https://resources.example.org/{index + 1}",
            description="Worth reading.",
            position=index,
        )
    if publish:
        toolkit = services.toolkit_publish(toolkit=toolkit)
    return Toolkit.objects.get(pk=toolkit.pk)


@pytest.fixture
def toolkit(db):
    return toolkit_build()
