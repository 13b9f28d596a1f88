"""Recognising signers: canonical e-mails and member organisations behind an affiliation."""

import pytest

from campaigns.matching import email_canonical, organization_match
from members.normalize import organization_match_key
from tests.factories import OrganizationFactory


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("  Ann.Lee@Example.ORG ", "ann.lee@example.org"),
        ("ann.lee+petition@example.org", "ann.lee@example.org"),
        ("Ann.Lee@gmail.com", "annlee@gmail.com"),
        ("a.n.n.l.e.e+facts@GMAIL.com", "annlee@gmail.com"),
        ("ann.lee@googlemail.com", "annlee@gmail.com"),
        (" ANNLEE+x+y@gmail.com", "annlee@gmail.com"),
    ],
)
def test_email_canonical_reduces_an_address_to_the_mailbox_it_reaches(typed, canonical):
    assert email_canonical(typed) == canonical


def test_email_canonical_keeps_dots_outside_gmail():
    assert email_canonical("ann.lee@example.org") != email_canonical("annlee@example.org")


def _organization(name, **fields):
    return OrganizationFactory(name=name, match_key=organization_match_key(name), **fields)


@pytest.mark.django_db
def test_an_affiliation_with_the_same_match_key_is_certain():
    food_bank = _organization("Atlanta Community Food Bank, Inc.")
    _organization("Georgia Interfaith Power & Light")

    assert organization_match("The Atlanta Community Food Bank") == (food_bank, None, 100.0)


@pytest.mark.django_db
def test_a_small_misspelling_is_certain_and_unlisted_members_are_matched_too():
    food_bank = _organization("Atlanta Community Food Bank", listed=False)

    organization, suggestion, score = organization_match("Atlanta Comunity Food Bank")

    assert (organization, suggestion) == (food_bank, None)
    assert score >= 92


@pytest.mark.django_db
def test_a_looser_match_is_only_suggested_for_a_convener():
    interfaith = _organization("Georgia Interfaith Power and Light")

    organization, suggestion, score = organization_match("Georgia Interfaith Power")

    assert (organization, suggestion) == (None, interfaith)
    assert 75 <= score < 92


@pytest.mark.django_db
def test_an_unrelated_affiliation_matches_nothing():
    _organization("Atlanta Community Food Bank")

    organization, suggestion, score = organization_match("Emory University Hospital")

    assert (organization, suggestion) == (None, None)
    assert score < 75
    assert organization_match("  ") == (None, None, None)


@pytest.mark.django_db
def test_a_new_organisation_is_matched_at_once_despite_the_cache():
    _organization("Atlanta Community Food Bank")
    assert organization_match("Decatur Tenants Unon")[0] is None

    tenants = _organization("Decatur Tenants Union")

    assert organization_match("Decatur Tenants Unon")[0] == tenants
