"""Writes of toolkits: the toolkit and its parts, publishing, and member organisations' links.

Every write validates, then saves inside one transaction. A change to any part also stamps the
toolkit's ``modified``, so whatever is cached per (toolkit, modified) — the e-mail rendering —
is never stale. Markdown (introduction, talking points) is turned into sanitised HTML on save.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from crm.errors import ApplicationError
from crm.markdown import markdown_html
from members.models import Interaction, Organization
from members.services import interaction_record
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
from toolkits.selectors import toolkit_link_problems
from toolkits.validation import LINK_PLACEHOLDER, hashtags_parse, post_length_error

TOOLKIT_FIELDS = {"title", "slug", "status", "campaign", "introduction", "share_link", "hashtags"}
LINK_MAX_LENGTH = OrganizationLink._meta.get_field("url").max_length


def _touch(toolkit_id: int | None) -> None:
    if toolkit_id:
        Toolkit.objects.filter(pk=toolkit_id).update(modified=timezone.now())


# --- The toolkit --------------------------------------------------------------------------------


def hashtags_normalize(text: str) -> str:
    """The hashtags as stored: each with its #, once, separated by single spaces."""
    try:
        return " ".join(hashtags_parse(text))
    except ValueError as error:
        raise ValidationError({"hashtags": str(error)}) from None


def toolkit_save(*, toolkit: Toolkit, check_posts: bool = True) -> Toolkit:
    """Validates and saves a toolkit whose fields are set (the admin's form sets them): renders
    the introduction, tidies the hashtags, and refuses a credible link (or its absence) that
    would put a post over its limit.

    ``check_posts=False`` when the caller has checked the posts against the link itself: the
    admin checks them as they are being edited in the same request, not as stored."""
    toolkit.hashtags = hashtags_normalize(toolkit.hashtags)
    toolkit.introduction_html = markdown_html(toolkit.introduction)
    if not toolkit.slug:
        toolkit.slug = slugify(toolkit.title)[:200]
    with transaction.atomic():
        toolkit.full_clean()
        problems = (
            toolkit_link_problems(toolkit=toolkit, link=toolkit.share_link) if check_posts else []
        )
        if problems:
            raise ValidationError({"share_link": problems})
        toolkit.save()
    return toolkit


def toolkit_create(
    *,
    title: str,
    slug: str = "",
    introduction: str = "",
    share_link: str = "",
    hashtags: str = "",
    campaign=None,
) -> Toolkit:
    """A new draft toolkit."""
    return toolkit_save(
        toolkit=Toolkit(
            title=title,
            slug=slug,
            introduction=introduction,
            share_link=share_link,
            hashtags=hashtags,
            campaign=campaign,
        )
    )


def toolkit_update(*, toolkit: Toolkit, data: dict) -> Toolkit:
    """Changes the named fields of the toolkit (any of TOOLKIT_FIELDS)."""
    unknown = set(data) - TOOLKIT_FIELDS
    if unknown:
        raise ApplicationError(f"A toolkit has no field {', '.join(sorted(unknown))}.")
    for name, value in data.items():
        setattr(toolkit, name, value)
    return toolkit_save(toolkit=toolkit)


def toolkit_publish(*, toolkit: Toolkit) -> Toolkit:
    """Publishes the toolkit: it needs something to share, and every post within its limit."""
    with transaction.atomic():
        toolkit = Toolkit.objects.select_for_update().get(pk=toolkit.pk)
        has_content = (
            TalkingPoint.objects.filter(toolkit=toolkit).exists()
            or SamplePost.objects.filter(toolkit=toolkit).exists()
        )
        if not has_content:
            raise ApplicationError(
                f"“{toolkit.title}” has no talking point and no post yet: add some before "
                "publishing it."
            )
        problems = toolkit_link_problems(toolkit=toolkit, link=toolkit.share_link)
        if problems:
            raise ApplicationError(" ".join(problems))
        if toolkit.status != Toolkit.Status.PUBLISHED:
            toolkit.status = Toolkit.Status.PUBLISHED
            toolkit.save(update_fields=["status", "modified"])
    return toolkit


def toolkit_unpublish(*, toolkit: Toolkit) -> Toolkit:
    """Takes the toolkit back to draft: its public page answers 404 again."""
    with transaction.atomic():
        toolkit = Toolkit.objects.select_for_update().get(pk=toolkit.pk)
        if toolkit.status != Toolkit.Status.DRAFT:
            toolkit.status = Toolkit.Status.DRAFT
            toolkit.save(update_fields=["status", "modified"])
    return toolkit


# --- Its parts ----------------------------------------------------------------------------------


def _toolkit_of(part) -> Toolkit:
    if isinstance(part, Source):
        return part.talking_point.toolkit
    if isinstance(part, ThreadPost):
        return part.thread.toolkit
    return part.toolkit


def sample_post_problem(*, toolkit: Toolkit, platform: str, text: str) -> str:
    """Why this post cannot be saved in the toolkit as it is, or "": measured with the
    toolkit's credible link in place of ``{link}``."""
    if LINK_PLACEHOLDER in text and not toolkit.share_link:
        return (
            "This post uses {link}, so the toolkit needs a credible link: add one to the "
            "toolkit, or take {link} out of the post."
        )
    return post_length_error(platform, text, link=toolkit.share_link)


def thread_problems(*, toolkit: Toolkit, platform: str, texts: list[str]) -> dict[int, str]:
    """{index: why} for the thread posts (in their order) that break the platform's rule once
    numbered n/N and with the toolkit's link in place."""
    problems = {}
    total = len(texts)
    for index, text in enumerate(texts):
        if LINK_PLACEHOLDER in text and not toolkit.share_link:
            problems[index] = (
                "This post uses {link}, so the toolkit needs a credible link: add one to the "
                "toolkit, or take {link} out of the post."
            )
            continue
        error = post_length_error(
            platform, text, link=toolkit.share_link, number=index + 1, total=total
        )
        if error:
            problems[index] = error
    return problems


def toolkit_part_save(*, part):
    """Validates and saves one part of a toolkit (talking point, source, sample post, graphic,
    resource), rendering a talking point's Markdown, and stamps the toolkit.

    Threads are saved with their posts (``thread_save``): each post's number depends on the
    others, and its limit on the thread's platform."""
    if isinstance(part, Thread | ThreadPost):
        raise ApplicationError("Save threads and their posts with thread_save.")
    with transaction.atomic():
        toolkit = _toolkit_of(part)
        if isinstance(part, TalkingPoint):
            part.text_html = markdown_html(part.text)
        if isinstance(part, SamplePost):
            if part.talking_point_id and part.talking_point.toolkit_id != part.toolkit_id:
                raise ValidationError({"talking_point": "Choose a talking point of this toolkit."})
            error = sample_post_problem(toolkit=toolkit, platform=part.platform, text=part.text)
            if error:
                raise ValidationError({"text": error})
        part.full_clean()
        part.save()
        _touch(toolkit.pk)
    return part


def toolkit_part_delete(*, part) -> None:
    """Deletes one part of a toolkit and stamps the toolkit."""
    with transaction.atomic():
        toolkit_id = _toolkit_of(part).pk
        part.delete()
        _touch(toolkit_id)


def thread_save(
    *, thread: Thread, saved: list[ThreadPost] = (), deleted: list[ThreadPost] = ()
) -> list[ThreadPost]:
    """Saves a thread with its new, changed and deleted posts in one go, then checks the thread
    as it now stands: every post, numbered n/N, within the platform's limit, or nothing is
    kept. Returns the thread's posts in order."""
    with transaction.atomic():
        thread.full_clean()
        thread.save()
        for post in deleted:
            if post.pk:
                post.delete()
        for post in saved:
            post.thread = thread
            post.full_clean()
            post.save()
        posts = list(ThreadPost.objects.filter(thread=thread).order_by("position", "pk"))
        problems = thread_problems(
            toolkit=thread.toolkit, platform=thread.platform, texts=[p.text for p in posts]
        )
        if problems:
            raise ValidationError(
                [f"Post {index + 1}: {error}" for index, error in sorted(problems.items())]
            )
        _touch(thread.toolkit_id)
    return posts


# --- Conveniences for code that builds a toolkit (the demo, tests) ------------------------------


def talking_point_add(
    *,
    toolkit: Toolkit,
    heading: str,
    text: str,
    position: int = 0,
    sources: list[tuple[str, str]] = (),
    posts: list[tuple[str, str]] = (),
) -> TalkingPoint:
    """A talking point with its sources ((title, url), in order) and sample posts ((platform,
    text)), all or nothing."""
    with transaction.atomic():
        point = toolkit_part_save(
            part=TalkingPoint(toolkit=toolkit, heading=heading, text=text, position=position)
        )
        for index, (title, url) in enumerate(sources):
            toolkit_part_save(
                part=Source(talking_point=point, title=title, url=url, position=index)
            )
        for index, (platform, post_text) in enumerate(posts):
            toolkit_part_save(
                part=SamplePost(
                    toolkit=toolkit,
                    talking_point=point,
                    platform=platform,
                    text=post_text,
                    position=index,
                )
            )
    return point


def sample_post_add(
    *, toolkit: Toolkit, platform: str, text: str, talking_point=None, position: int = 0
) -> SamplePost:
    return toolkit_part_save(
        part=SamplePost(
            toolkit=toolkit,
            talking_point=talking_point,
            platform=platform,
            text=text,
            position=position,
        )
    )


def thread_add(
    *, toolkit: Toolkit, title: str, texts: list[str], platform: str = Platform.X, position=0
) -> Thread:
    """A thread and its posts, in order; refused whole if a numbered post is over the limit."""
    thread = Thread(toolkit=toolkit, title=title, platform=platform, position=position)
    thread_save(
        thread=thread,
        saved=[ThreadPost(text=text, position=index) for index, text in enumerate(texts)],
    )
    return thread


def resource_add(
    *, toolkit: Toolkit, title: str, url: str, description: str = "", position: int = 0
) -> Resource:
    return toolkit_part_save(
        part=Resource(
            toolkit=toolkit, title=title, url=url, description=description, position=position
        )
    )


def graphic_add(
    *, toolkit: Toolkit, image, alt_text: str, caption: str = "", position: int = 0
) -> Graphic:
    """A shareable graphic; ``image`` is a file (or a name already in storage)."""
    graphic = Graphic(toolkit=toolkit, alt_text=alt_text, caption=caption, position=position)
    if isinstance(image, str):
        graphic.image.name = image
    else:
        graphic.image = image
    return toolkit_part_save(part=graphic)


# --- Member organisations' own credible links --------------------------------------------------

_url_validator = URLValidator(schemes=["http", "https"])


def link_clean(url: str) -> str:
    """A credible link as stored, or ValidationError({"url": why})."""
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": "Please enter your credible link."})
    if "://" not in url:
        url = f"https://{url}"  # "example.org/facts" typed without its scheme
    if len(url) > LINK_MAX_LENGTH:
        raise ValidationError(
            {
                "url": f"Please use a link of at most {LINK_MAX_LENGTH} characters; this one has "
                f"{len(url):,}."
            }
        )
    try:
        _url_validator(url)
    except ValidationError:
        raise ValidationError(
            {"url": "Please enter a full web address starting with https:// (or http://)."}
        ) from None
    if "@" in urlsplit(url).netloc:
        # "https://polarisproject.org@elsewhere.example/" reads as one site and opens another.
        raise ValidationError(
            {"url": "Please use the page's own address, with no name or password before an @."}
        )
    return url


def organization_link_set(
    *, toolkit: Toolkit, organization: Organization, url: str, by_user=None
) -> tuple[OrganizationLink, bool]:
    """Puts the organisation's own credible link in place of the toolkit's for its sharing.

    Refused, with the posts named, when a post would go over its platform's limit with it.
    Recorded on the organisation's timeline. Returns (link, whether anything changed)."""
    url = link_clean(url)
    problems = toolkit_link_problems(toolkit=toolkit, link=url)
    if problems:
        raise ValidationError(
            {
                "url": ["This link is too long for some of the posts; please use a shorter one."]
                + problems
            }
        )
    with transaction.atomic():
        link, created = OrganizationLink.objects.select_for_update().get_or_create(
            toolkit=toolkit, organization=organization, defaults={"url": url}
        )
        if not created and link.url == url:
            return link, False
        previous = "" if created else link.url
        link.url = url
        link.full_clean()
        link.save()
        interaction_record(
            kind=Interaction.Kind.NOTE,
            organization=organization,
            author=by_user,
            subject="Toolkit link",
            text=(
                f"Credible link for the toolkit “{toolkit.title}” set to {url}"
                + (f" (was {previous})." if previous else ".")
            ),
        )
    return link, True


def organization_link_clear(*, toolkit: Toolkit, organization: Organization, by_user=None) -> bool:
    """Goes back to the toolkit's own credible link; False when the organisation had none."""
    with transaction.atomic():
        link = (
            OrganizationLink.objects.select_for_update()
            .filter(toolkit=toolkit, organization=organization)
            .first()
        )
        if link is None:
            return False
        link.delete()
        interaction_record(
            kind=Interaction.Kind.NOTE,
            organization=organization,
            author=by_user,
            subject="Toolkit link",
            text=(
                f"Own credible link for the toolkit “{toolkit.title}” removed (was {link.url}); "
                "the toolkit's link is used again."
            ),
        )
    return True
