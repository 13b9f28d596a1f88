"""Template helpers for the public directory: readable phone numbers and safe social links."""

from urllib.parse import quote, urlsplit

from django import template

from members.normalize import phone_display

register = template.Library()


@register.filter
def phone(e164):
    """A stored E.164 number as people read it, e.g. (404) 555-0123."""
    return phone_display(e164 or "")


@register.filter
def tel_href(e164):
    """The number for a tel: link, with an extension as a pause (,) so phones dial it."""
    number, _, extension = (e164 or "").partition(";ext=")
    return f"tel:{number},{extension}" if extension else f"tel:{number}"


def web_url(value: str) -> str:
    """``value`` if it is an http(s) address, else ""; never a javascript: or data: link."""
    value = (value or "").strip()
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else ""


def _profile(value: str, base: str) -> tuple[str, str]:
    """(link, text) for a value that is a full address or a handle on the site at ``base``."""
    value = (value or "").strip()
    url = web_url(value)
    if url:
        return url, url.split("://", 1)[1].rstrip("/")
    handle = value.lstrip("@").strip("/")
    return (f"{base}{quote(handle)}", f"@{handle}") if handle else ("", "")


# (field, name shown, address a bare handle goes to)
SOCIAL_SITES = [
    ("facebook", "Facebook", "https://www.facebook.com/"),
    ("instagram", "Instagram", "https://www.instagram.com/"),
    ("x_twitter", "X (Twitter)", "https://x.com/"),
    ("linkedin", "LinkedIn", "https://www.linkedin.com/company/"),
    ("bluesky", "Bluesky", "https://bsky.app/profile/"),
]


@register.simple_tag
def social_links(organization):
    """The organisation's social media profiles as [{site, url, text}], in a fixed order."""
    links = []
    for field, site, base in SOCIAL_SITES:
        url, text = _profile(getattr(organization, field, ""), base)
        if url:
            links.append({"site": site, "url": url, "text": text})
    return links


@register.filter
def safe_web_url(value):
    return web_url(value)
