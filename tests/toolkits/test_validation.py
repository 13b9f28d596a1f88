"""Each platform's length rule, measured as the post is shared: link in place, thread numbers
added."""

import pytest

from toolkits.models import Platform
from toolkits.validation import (
    LIMITS,
    grapheme_count,
    hashtags_parse,
    link_substitute,
    post_length,
    post_length_error,
    thread_numbered,
)

LONG_URL = "https://polarisproject.org/blog/2020/08/what-we-know-about-how-child-sex-" + (
    "trafficking-happens/?utm_source=coalition-toolkit-awareness-month"
)


def test_x_counts_any_link_as_23_so_a_300_character_post_with_a_long_link_fits():
    text = "a" * 256 + " " + LONG_URL
    assert len(LONG_URL) > 100
    assert len(text) > 300
    assert post_length(Platform.X, text) == 256 + 1 + 23
    assert post_length_error(Platform.X, text) == ""


def test_x_message_names_the_rule_and_the_length():
    assert post_length_error(Platform.X, "a" * 301) == (
        "X posts are limited to 280 characters (links count as 23); this one is 301."
    )


@pytest.mark.parametrize(
    "letters, expected",
    [(256, ""), (257, "with its link this one is 281.")],
    ids=["280-fits", "281-over"],
)
def test_x_post_with_placeholder_is_measured_with_a_23_character_link(letters, expected):
    error = post_length_error(Platform.X, "b" * letters + " {link}", link=LONG_URL)
    assert error.endswith(expected)


def test_bluesky_counts_the_link_in_full():
    text = "c" * 200 + " {link}"
    error = post_length_error(Platform.BLUESKY, text, link=LONG_URL)
    length = 201 + len(LONG_URL)
    assert error == (
        f"Bluesky posts are limited to 300 characters; with its link this one is {length}."
    )


@pytest.mark.parametrize(
    "platform, limit",
    [
        (Platform.X, 280),
        (Platform.BLUESKY, 300),
        (Platform.INSTAGRAM, 2_200),
        (Platform.LINKEDIN, 3_000),
        (Platform.FACEBOOK, 63_206),
    ],
    ids=["x", "bluesky", "instagram", "linkedin", "facebook"],
)
def test_each_platform_limit_holds_at_the_limit_and_breaks_one_over(platform, limit):
    assert LIMITS[platform] == limit
    assert post_length_error(platform, "d" * limit) == ""
    error = post_length_error(platform, "d" * (limit + 1))
    assert error.endswith(f"this one is {limit + 1:,}.")
    assert f"limited to {limit:,} characters" in error


def test_thread_number_counts_toward_the_limit():
    # " 3/8" adds four characters: 276 letters fit, 277 do not.
    assert post_length_error(Platform.X, "e" * 276, number=3, total=8) == ""
    assert post_length_error(Platform.X, "e" * 277, number=3, total=8) == (
        "X posts are limited to 280 characters (links count as 23); with its number “3/8” "
        "this one is 281."
    )
    # Two-digit totals take more room: " 10/12" adds six.
    assert post_length_error(Platform.X, "e" * 275, number=10, total=12).endswith("281.")


def test_thread_post_with_link_and_number():
    error = post_length_error(Platform.X, "f" * 253 + " {link}", link=LONG_URL, number=1, total=8)
    assert error.endswith("with its link and its number “1/8” this one is 281.")


def test_numbering_and_substitution():
    assert thread_numbered("Learn more. ", 2, 8) == "Learn more. 2/8"
    assert link_substitute("See {link} now", "https://x.example") == "See https://x.example now"
    assert link_substitute("See {link} now", "") == "See now"


@pytest.mark.parametrize(
    "text, count",
    [
        ("abc", 3),
        ("e\u0301", 1),  # e + combining acute
        ("👍🏽", 1),  # skin-tone modifier
        ("🇫🇷🇩🇪", 2),  # two flags
        ("👨‍👩‍👧", 1),  # a family joined by zero-width joiners
        ("❤️", 1),  # heart + variation selector
        ("1\ufe0f\u20e3", 1),  # keycap
        ("\r\n", 1),
    ],
    ids=["ascii", "combining", "skin-tone", "flags", "zwj", "variation", "keycap", "crlf"],
)
def test_bluesky_graphemes(text, count):
    assert grapheme_count(text) == count


def test_bluesky_limit_counts_graphemes_not_code_points():
    text = "e\u0301" * 300  # 600 code points, 300 graphemes
    assert post_length_error(Platform.BLUESKY, text) == ""
    assert post_length_error(Platform.BLUESKY, text + "x").endswith("this one is 301.")


def test_x_counts_emoji_as_two():
    assert post_length(Platform.X, "👍" * 140) == 280
    assert post_length_error(Platform.X, "👍" * 141).endswith("this one is 282.")


def test_hashtags():
    assert hashtags_parse("#EndTrafficking FactsNotFiction, #endtrafficking") == [
        "#EndTrafficking",
        "#FactsNotFiction",
    ]
    with pytest.raises(ValueError, match="“#end-it” is not a hashtag"):
        hashtags_parse("#end-it")
