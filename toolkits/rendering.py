"""A toolkit inside an e-mail: HTML (inline styles, no scripts) and plain text.

A mailing renders the same toolkit for thousands of recipients, so the result is kept in this
process per (toolkit, its ``modified`` stamp, the link it shares): services stamp the toolkit
on every change to it or its parts, so an edit is seen at once; the organisation's address of
the public page (``?org=``) is filled in afterwards, so a mailing to every member keeps one
rendering per distinct link, not one per organisation. A member organisation's own link is
read again at most every LINK_SECONDS.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from urllib.parse import urlencode

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import escape

from members.models import Organization
from toolkits.models import Toolkit
from toolkits.selectors import organization_link_url, toolkit_for_sharing

CACHE_SIZE = 128
LINK_SECONDS = 60

_lock = threading.Lock()
_rendered: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
_links: dict[tuple[int, int], tuple[float, str]] = {}


def toolkit_email_cache_clear() -> None:
    with _lock:
        _rendered.clear()
        _links.clear()


def _own_link(toolkit: Toolkit, organization: Organization | None) -> str:
    if organization is None:
        return ""
    key = (toolkit.pk, organization.pk)
    now = time.monotonic()
    with _lock:
        cached = _links.get(key)
    if cached and cached[0] > now:
        return cached[1]
    url = organization_link_url(toolkit=toolkit, organization=organization)
    with _lock:
        if len(_links) > CACHE_SIZE * 16:
            _links.clear()
        _links[key] = (now + LINK_SECONDS, url)
    return url


def absolute_url(url: str) -> str:
    """``url`` as an address that works from an e-mail: SITE_URL in front of a path."""
    if url.startswith(("http://", "https://")):
        return url
    return f"{settings.SITE_URL}/{url.lstrip('/')}"


def toolkit_email_parts(toolkit: Toolkit, *, organization: Organization | None = None):
    """(html, text) of the toolkit for an e-mail to ``organization``'s people: talking points
    with their sources, every post with its platform (and the organisation's own credible link
    in place of the toolkit's when it has one), threads numbered, graphics as absolute image
    addresses with their alt text, hashtags, resources and the link to the public page."""
    own_link = _own_link(toolkit, organization)
    # Organisations differ only by their own link and the ?org= of the page's address: one
    # rendering serves every organisation that shares a link, the address filled in after.
    key = (toolkit.pk, toolkit.modified, organization is not None, own_link)
    with _lock:
        parts = _rendered.get(key)
        if parts is not None:
            _rendered.move_to_end(key)
    if parts is None:
        stand_in = Organization(slug=_SLUG_STAND_IN) if organization is not None else None
        parts = _render(toolkit, stand_in, own_link)
        with _lock:
            _rendered[key] = parts
            while len(_rendered) > CACHE_SIZE:
                _rendered.popitem(last=False)
    if organization is None:
        return parts
    query = urlencode({"org": organization.slug})
    stand_in_query = urlencode({"org": _SLUG_STAND_IN})
    html, text = parts
    return html.replace(stand_in_query, escape(query)), text.replace(stand_in_query, query)


# Stands for an organisation's slug while its toolkit e-mail is rendered; a slug never has it.
_SLUG_STAND_IN = "org-slug-stand-in-5f1c"


def _render(toolkit, organization, own_link) -> tuple[str, str]:
    # A fresh copy: the caller's toolkit object keeps no prefetched parts, and the e-mail always
    # reads the parts as stored.
    fresh = Toolkit.objects.get(pk=toolkit.pk)
    share = toolkit_for_sharing(fresh, organization, own_link=own_link)
    graphics = [
        {
            "url": absolute_url(graphic.image.url),
            "alt_text": graphic.alt_text,
            "caption": graphic.caption,
        }
        for graphic in share.graphics
    ]
    html = render_to_string(
        "toolkits/email/toolkit.html",
        {"toolkit": fresh, "share": share, "graphics": graphics},
    )
    # A link a convener wrote as a path ("/campaigns/...") must work from a mail client too.
    html = _RELATIVE_HREF.sub(f'href="{settings.SITE_URL}/', html)
    return html, _text(share, graphics)


_RELATIVE_HREF = re.compile(r'href="/(?!/)')


_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_MARKDOWN_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1")


def markdown_plain(text: str) -> str:
    """Markdown written by a convener, readable as plain text: links as "title (address)",
    emphasis marks dropped."""
    text = _MARKDOWN_LINK.sub(r"\1 (\2)", text or "")
    return _MARKDOWN_EMPHASIS.sub(r"\2", text).strip()


def _heading(title: str, underline: str) -> list[str]:
    return [title, underline * len(title), ""]


def _indented(text: str, prefix: str = "   ") -> list[str]:
    return [f"{prefix}{line}" if line else "" for line in text.splitlines()]


def _text(share, graphics) -> str:
    toolkit = share.toolkit
    lines = _heading(toolkit.title.upper(), "=")
    if toolkit.introduction:
        lines += [markdown_plain(toolkit.introduction), ""]
    lines += [f"Open the toolkit online to copy and share each post: {share.page_url}", ""]
    if share.link:
        lines += [f"The posts point to {share.link}", ""]

    def post_lines(post, indent="   "):
        label = post.platform_label + (f" {post.number}/{post.total}" if post.number else "")
        return [f"{indent}[{label}]", *_indented(post.text, indent), ""]

    if share.talking_points:
        lines += _heading("TALKING POINTS", "-")
        for number, item in enumerate(share.talking_points, start=1):
            lines += [f"{number}. {item.point.heading}", ""]
            lines += [*_indented(markdown_plain(item.point.text)), ""]
            if item.sources:
                lines.append("   Sources:")
                lines += [f"   - {source.title}: {source.url}" for source in item.sources]
                lines.append("")
            if item.posts:
                lines += ["   Sample posts:", ""]
                for post in item.posts:
                    lines += post_lines(post, "   ")
    if share.posts:
        lines += _heading("MORE POSTS", "-")
        for post in share.posts:
            lines += post_lines(post, "")
    for item in share.threads:
        lines += _heading(f"THREAD: {item.thread.title.upper()}", "-")
        lines += [
            f"{len(item.posts)} posts for {item.platform_label}: post the first, then each next "
            "one as a reply to the one before.",
            "",
        ]
        for post in item.posts:
            lines += post_lines(post, "")
    if graphics:
        lines += _heading("GRAPHICS", "-")
        for graphic in graphics:
            lines.append(f"- {graphic['url']}")
            lines.append(f"  Alt text: {graphic['alt_text']}")
            if graphic["caption"]:
                lines += _indented(graphic["caption"], "  ")
            lines.append("")
    if share.hashtags:
        lines += _heading("HASHTAGS", "-")
        lines += [" ".join(share.hashtags), ""]
    if share.resources:
        lines += _heading("LEARN MORE", "-")
        for resource in share.resources:
            lines.append(f"- {resource.title}: {resource.url}")
            if resource.description:
                lines += _indented(resource.description, "  ")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
