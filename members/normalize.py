"""Turning what people type into what the directory stores: e-mails, phones, websites, names."""

from __future__ import annotations

import datetime
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

DEFAULT_PHONE_REGION = "US"
_email_validator = EmailValidator()
_url_validator = URLValidator(schemes=["http", "https"])


def email_normalize(raw: str) -> str:
    """Trims and lower-cases an e-mail address; raises ValidationError if it is not one."""
    email = (raw or "").strip().lower()
    _email_validator(email)
    return email


def phone_normalize(raw: str, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """The number in E.164 (+14045550123), or None when it is not a valid phone number."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # 555-01xx numbers are reserved for fiction and not "valid", but they are well formed;
    # accept a full-length possible number so real-looking data is not lost.
    possible = phonenumbers.is_possible_number(number) and len(str(number.national_number)) >= 10
    if not (phonenumbers.is_valid_number(number) or possible):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        formatted += f";ext={number.extension}"
    return formatted


def phone_display(e164: str) -> str:
    """A stored E.164 number in the national format people read, e.g. (404) 555-0123."""
    if not e164:
        return ""
    number, _, extension = e164.partition(";ext=")
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return e164
    text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return f"{text} ext. {extension}" if extension else text


def website_normalize(raw: str) -> str:
    """Adds https:// when the scheme is missing; raises ValidationError if not a web address."""
    text = (raw or "").strip()
    if not text:
        return ""
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        text = f"https://{text}"
    _url_validator(text)
    return text


_LEGAL_SUFFIXES = r"(inc|incorporated|llc|llp|ltd|co|corp|corporation|pc|pllc|company)"


def organization_match_key(name: str) -> str:
    """The name reduced for finding duplicates: 'The X, Inc.', 'X' and 'X INC' share a key."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"^the\s+", "", text)
    previous = None
    while previous != text:
        previous = text
        text = re.sub(rf"\s+{_LEGAL_SUFFIXES}$", "", text)
    return re.sub(r"\s+", " ", text)


_DATE_FORMATS = [
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d %B %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%Y/%m/%d",
    "%m-%d-%Y",
]


def date_parse(raw: str) -> datetime.date | None:
    """Reads the date formats spreadsheets use (2024-02-05, 2/5/2024, 02/05/24, 5 February 2024).

    Returns None for an empty value; raises ValidationError for text that is not a date.
    Slashed dates are read month first, as in US spreadsheets.
    """
    text = (raw or "").strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(f"'{text}' is not a date (use YYYY-MM-DD or MM/DD/YYYY).")
