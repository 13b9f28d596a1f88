"""The sign page an anonymous visitor gets comes from a page rendered at most every 10 s per
process, with their own CSRF token and referral code written in; everyone else gets the normal
render."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from campaigns import views
from campaigns.models import Campaign, Signature
from campaigns.views import sign_caches_clear
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _campaign(**fields) -> Campaign:
    fields.setdefault("slug", "facts-first")
    fields.setdefault("title", "Facts first")
    fields.setdefault("rate_limit_per_ip", 1_000_000)
    fields.setdefault("rate_limit_per_domain", 1_000_000)
    return CampaignFactory(**fields)


def _url(campaign) -> str:
    return reverse("campaigns:sign", args=[campaign.slug])


def test_a_hit_costs_no_query_and_a_miss_two(django_assert_num_queries):
    campaign = _campaign()

    with django_assert_num_queries(2):
        assert Client().get(_url(campaign)).status_code == 200
    with django_assert_num_queries(0):
        assertContains(Client().get(_url(campaign)), "Facts first")
    with django_assert_num_queries(0):
        assert Client().head(_url(campaign)).status_code == 200


def test_each_visitor_gets_their_own_csrf_token_and_each_one_signs():
    campaign = _campaign()
    visitors = [Client(enforce_csrf_checks=True) for _ in range(2)]
    pages = [visitor.get(_url(campaign)) for visitor in visitors]  # a miss, then a hit
    tokens = [TOKEN.search(page.content.decode()).group(1) for page in pages]

    assert tokens[0] != tokens[1]
    for number, (visitor, token) in enumerate(zip(visitors, tokens, strict=True)):
        response = visitor.post(
            _url(campaign),
            {
                "csrfmiddlewaretoken": token,
                "name": f"Signer {number}",
                "email": f"signer{number}@example.org",
            },
        )
        assert response.status_code == 302 and "/thanks/" in response["Location"]
    assert Signature.objects.count() == 2


def test_a_page_without_a_valid_token_is_refused():
    campaign = _campaign()
    visitor = Client(enforce_csrf_checks=True)
    visitor.get(_url(campaign))

    response = visitor.post(_url(campaign), {"csrfmiddlewaretoken": "x" * 64, "name": "A"})

    assert response.status_code == 403


def test_the_referral_code_is_escaped_into_the_hidden_field_per_visitor():
    campaign = _campaign()
    Client().get(_url(campaign), {"ref": "first-visitor"})

    response = Client().get(_url(campaign), {"ref": '"><script>alert(1)</script>'})

    html = response.content.decode()
    assert "<script>alert(1)" not in html and "first-visitor" not in html
    assert 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    plain = Client().get(_url(campaign)).content.decode()
    assert '<input type="hidden" name="referral_code" value="" id="id_referral_code">' in plain


def test_an_edit_shows_once_the_cache_is_cleared_or_ten_seconds_have_passed(monkeypatch):
    campaign = _campaign()
    Client().get(_url(campaign))
    Campaign.objects.filter(pk=campaign.pk).update(title="Facts, first and last")

    assertContains(Client().get(_url(campaign)), "Facts first")  # at most 10 s old
    sign_caches_clear()
    assertContains(Client().get(_url(campaign)), "Facts, first and last")

    Campaign.objects.filter(pk=campaign.pk).update(title="Third title", signature_count=4321)
    later = views.time.monotonic() + views.SIGN_PAGE_SECONDS + 0.1
    monkeypatch.setattr(views.time, "monotonic", lambda: later)
    page = Client().get(_url(campaign))
    assertContains(page, "Third title")
    assertContains(page, "4,321")


def test_headers_are_those_of_the_normal_render():
    campaign = _campaign()
    normal = Client().get(_url(campaign), {"utm_source": "newsletter"})
    Client().get(_url(campaign))
    hit = Client().get(_url(campaign))

    for header in ("Cache-Control", "Vary", "Content-Type", "X-Frame-Options", "Expires"):
        assert hit.get(header) == normal.get(header), header
    assert hit.cookies.keys() == normal.cookies.keys() == {"csrftoken"}


def test_other_query_parameters_a_session_or_a_convener_get_the_normal_render(
    django_assert_num_queries, convener_client
):
    campaign = _campaign()
    Client().get(_url(campaign))  # cached now

    with django_assert_num_queries(2):
        Client().get(_url(campaign), {"ref": "x", "utm_source": "y"})
    visitor = Client()
    visitor.cookies["sessionid"] = "not-a-session"
    with django_assert_num_queries(3):  # the session, then the page
        visitor.get(_url(campaign))
    page = convener_client.get(_url(campaign))
    assertContains(page, "Dashboard")  # the convener's own navigation, never cached
    assertNotContains(Client().get(_url(campaign)), "Dashboard")


def test_a_draft_is_not_found_by_visitors_and_previewed_by_conveners(convener_client):
    campaign = _campaign(status=Campaign.Status.DRAFT)

    assert Client().get(_url(campaign)).status_code == 404
    assert Client().get(_url(campaign)).status_code == 404
    assertContains(convener_client.get(_url(campaign)), "Preview: this campaign is a draft.")
    assert Client().get(_url(campaign)).status_code == 404


def test_a_closed_campaign_is_readable_without_a_form():
    campaign = _campaign(status=Campaign.Status.CLOSED)

    for _ in range(2):
        page = Client().get(_url(campaign))
        assertContains(page, "This campaign is closed and no longer takes signatures.")
        assertNotContains(page, 'name="csrfmiddlewaretoken"')
