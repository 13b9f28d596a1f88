"""What people type, and what the directory stores."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from members.normalize import (
    date_parse,
    email_normalize,
    organization_match_key,
    phone_display,
    phone_normalize,
    website_normalize,
)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("770.555.0156", "+17705550156"),
        ("(404) 555-0168", "+14045550168"),
        ("+1 470 555 0143", "+14705550143"),
        ("404-555-0182 ext. 12", "+14045550182;ext=12"),
        ("4045550123", "+14045550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-0120", None),
        ("n/a", None),
        ("call office", None),
        ("", None),
    ],
)
def test_phones_are_stored_as_e164_or_refused(raw, stored):
    assert phone_normalize(raw) == stored


def test_phones_are_shown_in_national_format_with_extension():
    assert phone_display("+14045550182;ext=12") == "(404) 555-0182 ext. 12"
    assert phone_display("") == ""


def test_emails_are_trimmed_and_lower_cased_and_broken_ones_refused():
    assert email_normalize("  M.NGUYEN@Example.ORG ") == "m.nguyen@example.org"
    for broken in ["m.nguyen@", "no at sign", "a@b@c.org", ""]:
        with pytest.raises(ValidationError):
            email_normalize(broken)


def test_websites_get_a_scheme_and_nonsense_is_refused():
    assert website_normalize("www.example.org") == "https://www.example.org"
    assert website_normalize(" http://example.org/x ") == "http://example.org/x"
    assert website_normalize("") == ""
    with pytest.raises(ValidationError):
        website_normalize("call us")


@pytest.mark.parametrize(
    "variant",
    [
        "Harbor House",
        "The Harbor House",
        "HARBOR HOUSE",
        "Harbor House, Inc.",
        "harbor house llc",
        "  Harbor   House  ",
    ],
)
def test_name_variants_share_one_match_key(variant):
    assert organization_match_key(variant) == "harbor house"


def test_match_keys_fold_accents_and_ampersands():
    assert organization_match_key("Okafor & Chen LLP") == "okafor and chen"
    assert organization_match_key("Fundación Esperanza") == "fundacion esperanza"
    assert organization_match_key("Theatre Guild") == "theatre guild"


@pytest.mark.parametrize(
    ("raw", "date"),
    [
        ("2014-02-05", datetime.date(2014, 2, 5)),
        ("8/1/2015", datetime.date(2015, 8, 1)),
        ("05/27/2012", datetime.date(2012, 5, 27)),
        ("3/7/13", datetime.date(2013, 3, 7)),
        ("5 February 2024", datetime.date(2024, 2, 5)),
        ("", None),
    ],
)
def test_dates_in_the_formats_spreadsheets_use(raw, date):
    assert date_parse(raw) == date


def test_a_date_that_is_not_one_is_refused_with_the_formats_to_use():
    with pytest.raises(ValidationError, match="YYYY-MM-DD"):
        date_parse("sometime in 2019")
