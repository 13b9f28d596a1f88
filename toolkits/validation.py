"""Each social platform's length rule, and the clear message when a post breaks it.

A post is measured as it will be shared: with ``{link}`` replaced by the link it points to (the
toolkit's credible link, or a member organisation's own) and, in a thread, with its " n/N"
number added. How each platform counts:

- X counts "weighted" characters with the twitter-text rules (most characters 1, CJK and emoji
  2) and every link as 23, however long: measured with ``twitter_text.parse_tweet``.
- Bluesky counts grapheme clusters (what a reader sees as one character). Without the ``regex``
  module we approximate: a combining or enclosing mark, a variation selector, an emoji skin-tone
  modifier, a tag character or anything joined by a zero-width joiner belongs to the character
  before it, and a pair of regional indicators (a flag) is one. That matches the Unicode rules
  for text in Latin, Cyrillic, Greek and emoji; it can over-count a few scripts (Hangul jamo,
  some Indic conjuncts), which errs on the safe side. Links count in full.
- Instagram, LinkedIn and Facebook are measured in code points (Python's ``len``); their limits
  are far above any sample post.
"""

from __future__ import annotations

import re
import unicodedata

from twitter_text import parse_tweet

from toolkits.models import Platform

LINK_PLACEHOLDER = "{link}"
X_LINK_LENGTH = 23

LIMITS = {
    Platform.X: 280,
    Platform.BLUESKY: 300,
    Platform.INSTAGRAM: 2_200,
    Platform.LINKEDIN: 3_000,
    Platform.FACEBOOK: 63_206,
}

_ZWJ = "\u200d"
_PLACEHOLDER_WITH_SPACE = re.compile(r"[ \t]*" + re.escape(LINK_PLACEHOLDER))


def link_substitute(text: str, link: str) -> str:
    """The post with ``{link}`` replaced by ``link``; without a link, the placeholder and the
    spaces before it go."""
    if link:
        return text.replace(LINK_PLACEHOLDER, link)
    return _PLACEHOLDER_WITH_SPACE.sub("", text)


def thread_numbered(text: str, number: int, total: int) -> str:
    """A thread post as shared: its text followed by " n/N"."""
    return f"{text.rstrip()} {number}/{total}"


def _extends_previous(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def grapheme_count(text: str) -> int:
    """Grapheme clusters, approximately (see the module's docstring)."""
    count = 0
    previous = ""
    regional_pending = False
    for char in text:
        if previous == _ZWJ or char == _ZWJ or _extends_previous(char):
            previous = char
            if count == 0:
                count = 1
            continue
        if 0x1F1E6 <= ord(char) <= 0x1F1FF:  # regional indicators pair into one flag
            if regional_pending:
                regional_pending = False
                previous = char
                continue
            regional_pending = True
        else:
            regional_pending = False
        if previous == "\r" and char == "\n":
            previous = char
            continue
        count += 1
        previous = char
    return count


def post_length(platform: str, text: str) -> int:
    """The length of ``text`` (links already in place) as ``platform`` counts it."""
    if platform == Platform.X:
        return parse_tweet(text).weightedLength
    if platform == Platform.BLUESKY:
        return grapheme_count(text)
    return len(text)


def platform_label(platform: str) -> str:
    """ "X", "Bluesky", ...: the platform's short name for messages."""
    return "X" if platform == Platform.X else Platform(platform).label


def limit_description(platform: str) -> str:
    """ "X posts are limited to 280 characters (links count as 23)"."""
    limit = LIMITS[Platform(platform)]
    rule = f"{platform_label(platform)} posts are limited to {limit:,} characters"
    if platform == Platform.X:
        rule += f" (links count as {X_LINK_LENGTH})"
    return rule


def post_length_error(
    platform: str, text: str, *, link: str = "", number: int | None = None, total: int = 0
) -> str:
    """Why the post breaks its platform's length rule, or "" when it keeps it.

    ``text`` is the post as written (with ``{link}``); it is measured with ``link`` in place of
    the placeholder and, for thread posts (``number`` of ``total``), with its " n/N" added.
    """
    if platform not in Platform.values:
        return "Please choose a platform."
    shared = link_substitute(text, link)
    if number is not None:
        shared = thread_numbered(shared, number, total)
    length = post_length(platform, shared)
    limit = LIMITS[Platform(platform)]
    if length <= limit:
        return ""
    parts = []
    if LINK_PLACEHOLDER in text:
        parts.append("its link")
    if number is not None:
        parts.append(f"its number “{number}/{total}”")
    counted = f"with {' and '.join(parts)} this one" if parts else "this one"
    return f"{limit_description(platform)}; {counted} is {length:,}."


_HASHTAG = re.compile(r"#\w+")


def hashtags_parse(text: str) -> list[str]:
    """The hashtags written in ``text`` (separated by spaces or commas; the # may be left out),
    each once, in their order. Raises ValueError naming the first that is not a hashtag."""
    tags: list[str] = []
    for word in re.split(r"[\s,]+", text or ""):
        if not word:
            continue
        tag = word if word.startswith("#") else f"#{word}"
        if not _HASHTAG.fullmatch(tag):
            raise ValueError(
                f"“{word}” is not a hashtag: use only letters, digits and underscores after "
                "the #, e.g. #EndTrafficking."
            )
        if tag.lower() not in (seen.lower() for seen in tags):
            tags.append(tag)
    return tags
