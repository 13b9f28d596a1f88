"""Reads of toolkits: the public list and page, and a toolkit ready to share (page and e-mail).

``toolkit_for_sharing`` loads a toolkit and all its parts in seven queries however many talking
points, posts, threads and graphics it holds (one more for a member organisation's own link), and
returns every post as it is shared: ``{link}`` in place, thread posts numbered, the share URL of
its platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import QuerySet, prefetch_related_objects
from django.urls import reverse

from crm.roles import is_convener
from members.accounts import editor_contact
from members.models import Affiliation, Organization
from toolkits.models import (
    Graphic,
    OrganizationLink,
    Platform,
    Resource,
    SamplePost,
    TalkingPoint,
    Thread,
    Toolkit,
)
from toolkits.validation import (
    LIMITS,
    LINK_PLACEHOLDER,
    hashtags_parse,
    link_substitute,
    post_length,
    post_length_error,
    thread_numbered,
)

# --- The public list and page -------------------------------------------------------------------


def toolkit_public_list() -> QuerySet[Toolkit]:
    """Published toolkits, newest first, with their campaign: one query."""
    return (
        Toolkit.objects.filter(status=Toolkit.Status.PUBLISHED)
        .select_related("campaign")
        .only(
            "pk",
            "title",
            "slug",
            "introduction_html",
            "created",
            "campaign__title",
            "campaign__slug",
            "campaign__status",
        )
        .order_by("-created", "-pk")
    )


def toolkit_public_get(slug: str, *, include_drafts: bool = False) -> Toolkit | None:
    """The toolkit a public page shows, with its campaign, or None: drafts only when
    ``include_drafts`` (a convener's preview)."""
    toolkits = Toolkit.objects.filter(slug=slug).select_related("campaign")
    if not include_drafts:
        toolkits = toolkits.filter(status=Toolkit.Status.PUBLISHED)
    return toolkits.first()


def organization_for_sharing(slug: str) -> Organization | None:
    """The member organisation a ``?org=`` names, with only what the page may show."""
    if not slug:
        return None
    return Organization.objects.filter(slug=slug).only("pk", "name", "slug", "listed").first()


def organization_link_url(*, toolkit: Toolkit, organization: Organization | None) -> str:
    """The organisation's own credible link for this toolkit, or ""."""
    if organization is None:
        return ""
    url = (
        OrganizationLink.objects.filter(toolkit=toolkit, organization=organization)
        .values_list("url", flat=True)
        .first()
    )
    return url or ""


# --- Checking a link against every post ---------------------------------------------------------


def _excerpt(text: str, length: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def toolkit_link_problems(
    *, toolkit: Toolkit, link: str, sample_posts: bool = True, threads: bool = True
) -> list[str]:
    """What would break if the toolkit's posts pointed to ``link``: each post using ``{link}``
    that would then be over its platform's limit (or, with no link, that needs one). Two
    queries at most; none for a toolkit not saved yet."""
    if toolkit.pk is None:
        return []
    problems = []
    if sample_posts:
        for post in SamplePost.objects.filter(toolkit=toolkit, text__contains=LINK_PLACEHOLDER):
            error = _post_problem(post.platform, post.text, link)
            if error:
                problems.append(
                    f"The {post.get_platform_display()} post “{_excerpt(post.text)}”: {error}"
                )
    if threads:
        for thread in Thread.objects.filter(toolkit=toolkit).prefetch_related("posts"):
            posts = list(thread.posts.all())
            for number, post in enumerate(posts, start=1):
                if LINK_PLACEHOLDER not in post.text:
                    continue
                error = _post_problem(thread.platform, post.text, link, number, len(posts))
                if error:
                    problems.append(f"Post {number} of the thread “{thread.title}”: {error}")
    return problems


def _post_problem(platform, text, link, number=None, total=0) -> str:
    if LINK_PLACEHOLDER in text and not link:
        return (
            "it uses {link}, so the toolkit needs a credible link (or take {link} out of the post)."
        )
    return post_length_error(platform, text, link=link, number=number, total=total)


# --- A toolkit ready to share ------------------------------------------------------------------

SHARE_LABELS = {
    Platform.X: "Post on X",
    Platform.FACEBOOK: "Share the link on Facebook",
    Platform.LINKEDIN: "Share the link on LinkedIn",
    Platform.BLUESKY: "Post on Bluesky",
}


def share_url(platform: str, text: str, link: str) -> str:
    """The platform's web share address for a post, or "" (Instagram has none: copy only).

    X and Bluesky take the whole text; Facebook and LinkedIn take only the link, so the text is
    copied and pasted there."""
    if platform == Platform.X:
        return "https://twitter.com/intent/tweet?" + urlencode({"text": text}, quote_via=quote)
    if platform == Platform.BLUESKY:
        return "https://bsky.app/intent/compose?" + urlencode({"text": text}, quote_via=quote)
    if platform == Platform.FACEBOOK and link:
        return "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": link})
    if platform == Platform.LINKEDIN and link:
        return "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": link})
    return ""


@dataclass(frozen=True)
class SharedPost:
    key: str  # unique on the page, used as the HTML id of its text
    platform: str
    platform_label: str
    text: str  # as shared: link in place, numbered in a thread
    length: int
    limit: int
    share_url: str
    share_label: str
    number: int | None = None
    total: int = 0


@dataclass
class SharedTalkingPoint:
    point: TalkingPoint
    sources: list
    posts: list[SharedPost]


@dataclass
class SharedThread:
    thread: Thread
    platform_label: str
    posts: list[SharedPost]


@dataclass
class ToolkitShare:
    toolkit: Toolkit
    organization: Organization | None
    link: str  # the link the posts point to: the organisation's own, or the toolkit's
    default_link: str
    own_link: bool  # whether the organisation's own link is in use
    page_url: str
    talking_points: list[SharedTalkingPoint] = field(default_factory=list)
    posts: list[SharedPost] = field(default_factory=list)  # posts for the whole toolkit
    threads: list[SharedThread] = field(default_factory=list)
    graphics: list[Graphic] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)

    @property
    def post_count(self) -> int:
        return (
            len(self.posts)
            + sum(len(point.posts) for point in self.talking_points)
            + sum(len(thread.posts) for thread in self.threads)
        )


def _shared_post(*, key, platform, text, link, default_link, number=None, total=0) -> SharedPost:
    shared = link_substitute(text, link)
    if number is not None:
        shared = thread_numbered(shared, number, total)
    length = post_length(platform, shared)
    limit = LIMITS[Platform(platform)]
    if length > limit and link != default_link:
        # A post written after the organisation chose its (longer) link: it keeps to its limit
        # with the toolkit's own link rather than going over.
        return _shared_post(
            key=key,
            platform=platform,
            text=text,
            link=default_link,
            default_link=default_link,
            number=number,
            total=total,
        )
    return SharedPost(
        key=key,
        platform=platform,
        platform_label=Platform(platform).label,
        text=shared,
        length=length,
        limit=limit,
        share_url=share_url(platform, shared, link),
        share_label=SHARE_LABELS.get(platform, ""),
        number=number,
        total=total,
    )


def toolkit_page_url(toolkit: Toolkit, organization: Organization | None = None) -> str:
    """The absolute address of the public page, naming the organisation when there is one."""
    url = f"{settings.SITE_URL}{reverse('toolkits:detail', args=[toolkit.slug])}"
    return f"{url}?{urlencode({'org': organization.slug})}" if organization else url


def toolkit_for_sharing(
    toolkit: Toolkit, organization: Organization | None = None, *, own_link: str | None = None
) -> ToolkitShare:
    """Everything a page or an e-mail shows of the toolkit, as the organisation shares it.

    Seven queries (parts already prefetched on ``toolkit`` are not read again), plus one for
    the organisation's own link unless ``own_link`` is given."""
    if own_link is None:
        own_link = organization_link_url(toolkit=toolkit, organization=organization)
    default_link = toolkit.share_link
    link = own_link or default_link
    prefetch_related_objects(
        [toolkit],
        "talking_points__sources",
        "posts",
        "threads__posts",
        "graphics",
        "resources",
    )

    def shared(post: SamplePost) -> SharedPost:
        return _shared_post(
            key=f"post-{post.pk}",
            platform=post.platform,
            text=post.text,
            link=link,
            default_link=default_link,
        )

    posts_by_point: dict[int | None, list[SharedPost]] = {}
    for post in toolkit.posts.all():
        posts_by_point.setdefault(post.talking_point_id, []).append(shared(post))
    threads = []
    for thread in toolkit.threads.all():
        posts = list(thread.posts.all())
        threads.append(
            SharedThread(
                thread=thread,
                platform_label=Platform(thread.platform).label,
                posts=[
                    _shared_post(
                        key=f"thread-{thread.pk}-{number}",
                        platform=thread.platform,
                        text=post.text,
                        link=link,
                        default_link=default_link,
                        number=number,
                        total=len(posts),
                    )
                    for number, post in enumerate(posts, start=1)
                ],
            )
        )
    try:
        hashtags = hashtags_parse(toolkit.hashtags)
    except ValueError:
        hashtags = toolkit.hashtags.split()
    return ToolkitShare(
        toolkit=toolkit,
        organization=organization,
        link=link,
        default_link=default_link,
        own_link=bool(own_link),
        page_url=toolkit_page_url(toolkit, organization),
        talking_points=[
            SharedTalkingPoint(
                point=point,
                sources=list(point.sources.all()),
                posts=posts_by_point.get(point.pk, []),
            )
            for point in toolkit.talking_points.all()
        ],
        posts=posts_by_point.get(None, []),
        threads=threads,
        graphics=list(toolkit.graphics.all()),
        resources=list(toolkit.resources.all()),
        hashtags=hashtags,
    )


# --- Member organisations' own links ----------------------------------------------------------

# The people of a member organisation who choose the link it shares: its profile editors and
# its primary contacts.
LINK_ROLES = (Affiliation.Role.EDITOR, Affiliation.Role.PRIMARY)


def organizations_linking_for(user) -> QuerySet[Organization]:
    """The organisations whose own credible link this user may set: every one for a convener,
    else those where their contact is a profile editor or the primary contact. Checked on every
    request, so a role taken away takes effect at once."""
    if is_convener(user):
        return Organization.objects.all()
    contact = editor_contact(user)
    if contact is None:
        return Organization.objects.none()
    return Organization.objects.filter(
        pk__in=Affiliation.objects.filter(contact=contact, role__in=LINK_ROLES).values(
            "organization_id"
        )
    )


def organizations_of_member(user) -> list[Organization]:
    """The organisations this person sets links for through their own roles (not as a
    convener), by name."""
    contact = editor_contact(user)
    if contact is None:
        return []
    return list(
        Organization.objects.filter(
            pk__in=Affiliation.objects.filter(contact=contact, role__in=LINK_ROLES).values(
                "organization_id"
            )
        )
        .only("pk", "name", "slug")
        .order_by("name")
    )


def organization_links_of(*, organizations, toolkits) -> dict[tuple[int, int], str]:
    """{(toolkit id, organisation id): url} for these toolkits and organisations, in one query."""
    return {
        (toolkit_id, organization_id): url
        for toolkit_id, organization_id, url in OrganizationLink.objects.filter(
            toolkit__in=toolkits, organization__in=organizations
        ).values_list("toolkit_id", "organization_id", "url")
    }
