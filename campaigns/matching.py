"""Recognising signers: one person behind several spellings of an e-mail, and the member
organisation behind the affiliation they typed."""

from __future__ import annotations

import threading

from django.db.models import Count, Max
from rapidfuzz import fuzz, process

from members.models import Organization
from members.normalize import organization_match_key

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
# Mail providers whose addresses thousands of unrelated people share: a burst of signatures from
# one of them is no sign of abuse, so the per-domain limit does not count them.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "comcast.net",
        "att.net",
        "verizon.net",
        "bellsouth.net",
        "sbcglobal.net",
        "gmx.com",
        "mail.com",
        "yandex.com",
        "zoho.com",
        "fastmail.com",
        "ymail.com",
        "rocketmail.com",
    }
)
# token_sort_ratio of the match keys: at or above CERTAIN the affiliation is that organisation;
# between SUGGEST and CERTAIN a convener is asked to confirm; below, no organisation.
MATCH_CERTAIN = 92.0
MATCH_SUGGEST = 75.0


def email_canonical(email: str) -> str:
    """The address reduced to the mailbox it reaches, so one person signs once.

    Case and surrounding spaces never matter; Gmail ignores dots and a +tag in the local part
    (and googlemail.com is gmail.com); other providers are only assumed to ignore a +tag.
    """
    text = (email or "").strip().lower()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


# The organisations' match keys, reloaded only when an organisation was added, edited or removed.
_keys_cache: dict[tuple, list[tuple[int, str]]] = {}
_keys_lock = threading.Lock()


def _organization_keys() -> list[tuple[int, str]]:
    state = Organization.objects.aggregate(latest=Max("modified"), n=Count("id"))
    version = (state["latest"], state["n"])
    keys = _keys_cache.get(version)
    if keys is None:
        keys = [(pk, key) for pk, key in Organization.objects.values_list("pk", "match_key") if key]
        with _keys_lock:
            _keys_cache.clear()
            _keys_cache[version] = keys
    return keys


def organization_match(
    affiliation_text: str,
) -> tuple[Organization | None, Organization | None, float | None]:
    """The member organisation an affiliation names: (organisation, suggestion, score).

    An organisation is returned only when the match is certain; an uncertain one comes back as
    the suggestion for a convener to confirm. Score is 0–100, or None for an empty affiliation.
    """
    key = organization_match_key(affiliation_text or "")
    if not key:
        return None, None, None
    exact = list(Organization.objects.filter(match_key=key).order_by("pk")[:2])
    if len(exact) == 1:
        return exact[0], None, 100.0
    if len(exact) > 1:
        # Two organisations share the name: a person has to say which one.
        return None, exact[0], 100.0

    keys = _organization_keys()
    best = process.extract(key, {pk: k for pk, k in keys}, scorer=fuzz.token_sort_ratio, limit=2)
    if not best:
        return None, None, 0.0
    _, score, pk = best[0]
    score = float(score)
    if score < MATCH_SUGGEST:
        return None, None, score
    organization = Organization.objects.filter(pk=pk).first()
    if organization is None:
        return None, None, 0.0
    runner_up_close = len(best) > 1 and best[1][1] >= MATCH_CERTAIN
    if score >= MATCH_CERTAIN and not runner_up_close:
        return organization, None, score
    return None, organization, score
