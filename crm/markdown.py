"""Markdown written by conveners, turned into HTML that is safe to show to anyone."""

import markdown
import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "hr",
    "code",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def markdown_html(text: str) -> str:
    """Renders Markdown and keeps only harmless tags: no scripts, styles, images or events, and
    links only to http(s) and mailto addresses."""
    if not (text or "").strip():
        return ""
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
