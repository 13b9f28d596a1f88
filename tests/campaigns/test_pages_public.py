"""The public campaign pages: sign, thank you, confirm, the public list and the embedded form."""

import datetime
import re
import time
from urllib.parse import quote_plus

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from campaigns.forms import EMBED_FORM_SALT, embed_form_token
from campaigns.models import Campaign, CampaignResource, Signature
from campaigns.services import signature_confirmation_url, signature_record
from members.models import Organization
from tests.campaigns.helpers import processed
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SectorFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

SITE = "https://coalition.example.org"
CLOSED = "This campaign is closed and no longer takes signatures."
EXPIRED_FORM = "This form has expired; please submit it again."


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def _campaign(**fields) -> Campaign:
    """An open campaign whose abuse limits no test reaches: the rate-limit counters live in the
    shared cache, which other test runs on this machine also count in."""
    fields.setdefault("rate_limit_per_ip", 1_000_000)
    fields.setdefault("rate_limit_per_domain", 1_000_000)
    fields.setdefault("slug", "facts-not-fiction")
    fields.setdefault("title", "Facts, not fiction")
    return CampaignFactory(**fields)


def _reference_campaign(**fields) -> Campaign:
    """Field rules of the coalition's own page: phone and message required."""
    return _campaign(
        phone_field=Campaign.FieldRule.REQUIRED,
        message_field=Campaign.FieldRule.REQUIRED,
        **fields,
    )


def _sign_url(campaign, **query) -> str:
    url = reverse("campaigns:sign", args=[campaign.slug])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def _valid(**fields) -> dict:
    return {
        "name": "Ann Lee",
        "affiliation": "Concerned parent",
        "email": "ann.lee@example.org",
        "phone": "404-555-0123",
        "message": "Facts protect children.",
        "show_publicly": "on",
        **fields,
    }


def _hidden_value(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} field"
    return match.group(1)


def _input_tag(html: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|textarea)[^>]*id="{field_id}"[^>]*>', html)
    assert match, f"no input #{field_id}"
    return match.group(0)


# --- The sign page -----------------------------------------------------------------------------


def test_the_sign_page_shows_the_statement_progress_form_and_resources(client):
    campaign = _reference_campaign(
        introduction="January is **Awareness Month**.",
        statement="We reject *false* claims.",
        signature_goal=1000,
    )
    Campaign.objects.filter(pk=campaign.pk).update(signature_count=412)
    CampaignResource.objects.create(
        campaign=campaign,
        title="Myths and facts",
        url="https://example.org/myths",
        description="What hotline cases show.",
    )

    response = client.get(_sign_url(campaign))

    html = response.content.decode()
    assert response.status_code == 200
    assertContains(response, "<strong>Awareness Month</strong>")  # introduction, rendered
    assertContains(response, '<div class="statement-text"><p>We reject <em>false</em> claims.</p>')
    assertContains(response, "<strong>412</strong> signatures of a goal of 1,000")
    assertContains(response, '<progress max="1000" value="412"')
    for field_id, label in [
        ("id_name", "Name"),
        ("id_affiliation", "Affiliation"),
        ("id_email", "Email"),
        ("id_phone", "Phone"),
        ("id_message", "Message"),
    ]:
        assert re.search(rf'<label for="{field_id}">{label}[ <]', html), label
    assert '<label for="id_affiliation">Affiliation</label>' in html  # optional: no mark
    assert '<label for="id_phone">Phone <span class="required">(required)</span>' in html
    assert '<label for="id_name">Name <span class="required">(required)</span>' in html
    assertContains(response, "Show my name and affiliation on the public list of signatures")
    assertContains(response, '<a href="https://example.org/myths">Myths and facts</a>')
    assertContains(response, "What hotline cases show.")
    assertContains(response, "Learn more")
    assertContains(response, 'href="/static/css/campaign.css"')
    # The honeypot: out of the tab order, no autofill, and labelled for screen-reader users.
    trap = _input_tag(html, "id_website")
    assert 'tabindex="-1"' in trap and 'autocomplete="off"' in trap
    assertContains(response, '<label for="id_website">Leave this field empty')
    # The snippet a member organisation copies to embed the form.
    assertContains(response, f"{SITE}/campaigns/facts-not-fiction/embed/?org=YOUR-ORGANISATION")


def test_fields_the_campaign_does_not_ask_are_not_shown(client):
    campaign = _campaign(
        affiliation_field=Campaign.FieldRule.HIDDEN,
        phone_field=Campaign.FieldRule.HIDDEN,
        message_field=Campaign.FieldRule.OPTIONAL,
    )

    response = client.get(_sign_url(campaign))

    assertNotContains(response, 'id="id_affiliation"')
    assertNotContains(response, 'id="id_phone"')
    assertContains(response, '<label for="id_message">Message</label>')


def test_the_referral_code_of_the_link_is_carried_into_the_signature(client):
    campaign = _campaign()

    page = client.get(_sign_url(campaign, ref="abc123")).content.decode()
    response = client.post(
        _sign_url(campaign, ref="abc123"),
        _valid(referral_code=_hidden_value(page, "referral_code")),
        REMOTE_ADDR="203.0.113.7",
    )

    signature = Signature.objects.get()
    assertRedirects(
        response,
        reverse("campaigns:thanks", args=[campaign.slug, signature.share_code]),
        fetch_redirect_response=False,
    )
    assert signature.referral_code == "abc123"
    assert signature.source == Signature.Source.WEB
    assert signature.ip_address == "203.0.113.7"
    assert (signature.name, signature.email, signature.phone) == (
        "Ann Lee",
        "ann.lee@example.org",
        "+14045550123",
    )
    assert signature.show_publicly is True
    assert signature.flagged is False


def test_a_share_code_in_the_link_credits_the_referrers_member_organisation(client):
    campaign = _campaign(double_opt_in=False)
    member = OrganizationFactory(name="Harbor Light Shelter")
    referrer = SignatureFactory(campaign=campaign, organization=member, share_code="friend1")

    client.post(_sign_url(campaign), _valid(referral_code=referrer.share_code))

    signature = Signature.objects.exclude(pk=referrer.pk).get()
    assert (signature.referral_code, signature.referred_by) == ("friend1", member)


def test_the_empty_form_shows_the_reference_messages_and_stores_nothing(client):
    campaign = _reference_campaign()

    response = client.post(_sign_url(campaign), {})

    html = response.content.decode()
    assert response.status_code == 200
    assert Signature.objects.count() == 0
    assertContains(response, "<title>Error: ")
    assertContains(response, "There is a problem")
    for field, message in [
        ("name", "Please enter your name."),
        ("email", "Please enter your email address."),
        ("phone", "Please enter a valid phone number."),
        ("message", "Please enter a message."),
    ]:
        # Once in the summary, linked to the field, and once beside the field.
        assert f'<a href="#id_{field}">{message}</a>' in html
        assert f'id="id_{field}_error"><span class="sr-only">Error:</span> {message}</p>' in html
        tag = _input_tag(html, f"id_{field}")
        assert 'aria-invalid="true"' in tag
        assert re.search(rf'aria-describedby="[^"]*id_{field}_error', tag)
    assert 'aria-invalid="true"' not in _input_tag(html, "id_affiliation")


def test_entered_values_are_kept_when_a_field_is_wrong(client):
    campaign = _reference_campaign()

    response = client.post(
        _sign_url(campaign), _valid(phone="12", message="Stand <b>with</b> survivors")
    )

    html = response.content.decode()
    assert Signature.objects.count() == 0
    assertContains(response, '<a href="#id_phone">Please enter a valid phone number.</a>')
    assert 'value="Ann Lee"' in _input_tag(html, "id_name")
    assert 'value="ann.lee@example.org"' in _input_tag(html, "id_email")
    assert 'value="12"' in _input_tag(html, "id_phone")
    assertContains(response, "Stand &lt;b&gt;with&lt;/b&gt; survivors</textarea>")
    assert "checked" in _input_tag(html, "id_show_publicly")


def test_a_signature_leads_to_the_thank_you_page_with_share_links(client):
    campaign = _campaign(title="Facts & fiction", double_opt_in=True)

    response = client.post(_sign_url(campaign), _valid(), follow=True)

    code = Signature.objects.get().share_code
    link = f"{SITE}/campaigns/facts-not-fiction/?ref={code}"
    assert response.redirect_chain[-1][0] == f"/campaigns/facts-not-fiction/thanks/{code}/"
    assertContains(response, "<h1>Thank you</h1>", html=False)
    assertContains(
        response,
        "Check your e-mail: we sent a link to confirm your signature; it counts once confirmed.",
    )
    encoded = quote_plus(link)
    assertContains(response, f'value="{link}"')  # the link itself, read-only
    assertContains(response, "https://twitter.com/intent/tweet?text=I+signed+")
    assertContains(response, f"Facts+%26+fiction%E2%80%9D.+Add+your+name%3A&amp;url={encoded}")
    assertContains(response, f"https://www.facebook.com/sharer/sharer.php?u={encoded}")
    assertContains(response, f"https://www.linkedin.com/sharing/share-offsite/?url={encoded}")
    assertContains(response, "mailto:?subject=Facts%20%26%20fiction&amp;body=")
    assertContains(response, 'rel="noopener"', count=4)
    assertNotContains(response, "ann.lee@example.org")
    assertNotContains(response, "Ann Lee")


def test_the_thank_you_page_skips_the_e_mail_notice_without_double_opt_in(client):
    campaign = _campaign(double_opt_in=False)

    response = client.post(_sign_url(campaign), _valid(), follow=True)

    assertContains(response, "Thank you")
    assertNotContains(response, "Check your e-mail")
    processed()  # what the task does moments later
    assert Signature.objects.get().confirmed_at is not None


def test_an_unknown_share_code_is_not_found(client):
    campaign = _campaign()
    SignatureFactory(campaign=campaign, share_code="known1")

    assert client.get(reverse("campaigns:thanks", args=[campaign.slug, "known1"])).status_code
    response = client.get(reverse("campaigns:thanks", args=[campaign.slug, "unknown"]))
    assert response.status_code == 404
    other = _campaign(slug="other")
    assert client.get(reverse("campaigns:thanks", args=[other.slug, "known1"])).status_code == 404


def test_signing_again_is_not_an_error_and_keeps_one_signature(client):
    campaign = _campaign()

    first = client.post(_sign_url(campaign), _valid(message="First"))
    again = client.post(
        _sign_url(campaign), _valid(email=" Ann.Lee@Example.org ", message="Second")
    )
    processed()  # what the task does moments later

    signature = Signature.objects.get()
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert signature.message == "Second"


def test_oversized_fields_get_a_message_each_not_an_error(client):
    campaign = _campaign()

    response = client.post(
        _sign_url(campaign),
        _valid(
            name="N" * 5000,
            affiliation="A" * 5000,
            email="a" * 5000 + "@example.org",
            phone="4" * 5000,
            message="M" * 60_000,
            referral_code="r" * 5000,
            website="",
        ),
    )

    assert response.status_code == 200
    assert Signature.objects.count() == 0
    assertContains(response, '<a href="#id_name">Please keep your name under 200 characters.</a>')
    assertContains(
        response, '<a href="#id_affiliation">Please keep your affiliation under 200 characters.'
    )
    assertContains(response, '<a href="#id_email">Please enter a valid email address')
    assertContains(response, '<a href="#id_phone">Please enter a valid phone number.</a>')
    assertContains(response, '<a href="#id_message">Please keep your message under 2,000')


def test_odd_input_never_breaks_a_page(client):
    campaign = _campaign(double_opt_in=False)
    OrganizationFactory(slug="harbor-light")
    signatures = reverse("campaigns:signatures", args=[campaign.slug])
    embed = reverse("campaigns:embed", args=[campaign.slug])

    for url in [
        f"{_sign_url(campaign)}?ref=" + "x" * 3000,
        f"{_sign_url(campaign)}?ref=%00%ff&ref[]=1",
        f"{signatures}?q=%00&page=%00",
        f"{signatures}?q=%ff%fe&page=1e3",
        f"{embed}?org=%00&ref=%00",
        f"{embed}?org=" + "o" * 3000,
        f"/campaigns/{campaign.slug}/thanks/%00/",
        f"/campaigns/{campaign.slug}/confirm/%00/",
        f"/campaigns/{campaign.slug}/confirm/{'x' * 5000}/",
    ]:
        assert client.get(url).status_code in (200, 404), url
    assert client.post(f"/campaigns/{campaign.slug}/confirm/%00/").status_code == 400
    assert client.get("/campaigns/no-such-campaign/").status_code == 404

    # NUL characters are dropped, not refused: a hidden field can never block the form.
    response = client.post(
        _sign_url(campaign),
        _valid(name="Ann\x00 Lee", referral_code="\x00abc", website="", show_publicly="maybe"),
    )
    embedded = client.post(
        f"{embed}?org=harbor-light%00",
        _valid(email="b@example.org", form_token=embed_form_token(campaign) + "\x00"),
    )

    assert response.status_code == 302
    assert embedded.status_code == 200  # a damaged token is an expired form, nothing else
    assertContains(embedded, EXPIRED_FORM)
    signature = Signature.objects.get()
    assert (signature.name, signature.referral_code) == ("Ann Lee", "abc")


# --- Closed, not yet open, draft ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Campaign.Status.CLOSED},
        {"closes_at": timezone.now() - datetime.timedelta(minutes=1)},
    ],
    ids=["closed", "past-closing-date"],
)
def test_a_closed_campaign_stays_readable_and_refuses_signatures_politely(client, fields):
    campaign = _campaign(statement="We reject false claims.", **fields)

    page = client.get(_sign_url(campaign))
    post = client.post(_sign_url(campaign), _valid())

    assert page.status_code == post.status_code == 200
    for response in (page, post):
        assertContains(response, "We reject false claims.")
        assertContains(response, CLOSED)
        assertNotContains(response, 'id="id_name"')
    assert Signature.objects.count() == 0


def test_a_campaign_not_yet_open_says_when_it_opens(client):
    opens = timezone.now() + datetime.timedelta(days=20)
    campaign = _campaign(opens_at=opens)

    response = client.get(_sign_url(campaign))

    local = timezone.localtime(opens)
    assertContains(response, f"This campaign opens for signatures on {local:%B} {local.day}, ")
    assertNotContains(response, 'id="id_name"')
    assert client.post(_sign_url(campaign), _valid()).status_code == 200
    assert Signature.objects.count() == 0


def test_a_draft_is_not_found_by_the_public_but_a_convener_may_preview_it(client, convener_client):
    campaign = _campaign(status=Campaign.Status.DRAFT, statement="Draft words.")
    SignatureFactory(campaign=campaign, share_code="draft1", show_publicly=True)
    urls = [
        _sign_url(campaign),
        reverse("campaigns:thanks", args=[campaign.slug, "draft1"]),
        reverse("campaigns:signatures", args=[campaign.slug]),
        reverse("campaigns:embed", args=[campaign.slug]),
        reverse("campaigns:embed_thanks", args=[campaign.slug, "draft1"]),
        reverse("campaigns:confirm", args=[campaign.slug, "token"]),
    ]

    assert [Client().get(url).status_code for url in urls] == [404] * len(urls)
    assert Client().post(_sign_url(campaign), _valid()).status_code == 404

    preview = convener_client.get(_sign_url(campaign))
    assertContains(preview, "Preview: this campaign is a draft")
    assertContains(preview, "Draft words.")
    refused = convener_client.post(_sign_url(campaign), _valid(email="new@example.org"))
    assertContains(refused, "This campaign is not open for signatures yet.")
    assert not Signature.objects.filter(email="new@example.org").exists()


# --- Abuse and CSRF ----------------------------------------------------------------------------


def test_the_honeypot_stores_a_flagged_signature_and_shows_the_same_thank_you(client):
    campaign = _campaign(double_opt_in=True)

    response = client.post(_sign_url(campaign), _valid(website="http://spam.example"), follow=True)

    signature = Signature.objects.get()
    assert signature.flagged is True
    assert "bot-trap" in signature.flag_reason
    assertContains(response, "<h1>Thank you</h1>")
    assertContains(response, "Check your e-mail: we sent a link to confirm your signature")


def test_the_sign_form_enforces_csrf(client):
    campaign = _campaign()
    csrf_client = Client(enforce_csrf_checks=True)

    refused = csrf_client.post(_sign_url(campaign), _valid())

    assert refused.status_code == 403
    assert Signature.objects.count() == 0
    page = csrf_client.get(_sign_url(campaign))
    token = _hidden_value(page.content.decode(), "csrfmiddlewaretoken")
    accepted = csrf_client.post(_sign_url(campaign), _valid(csrfmiddlewaretoken=token))
    assert accepted.status_code == 302
    assert Signature.objects.count() == 1


# --- Confirming --------------------------------------------------------------------------------


def _unconfirmed(campaign, email="ann.lee@example.org") -> Signature:
    signature, _ = signature_record(
        campaign=campaign, name="Ann Lee", email=email, show_publicly=True
    )
    return signature


def _confirm_path(signature) -> str:
    return signature_confirmation_url(signature).removeprefix(SITE)


def test_opening_the_confirmation_link_does_not_confirm_pressing_the_button_does(client):
    campaign = _campaign(double_opt_in=True)
    signature = _unconfirmed(campaign)
    path = _confirm_path(signature)
    assert path.startswith("/campaigns/facts-not-fiction/confirm/")

    opened = client.get(path)

    signature.refresh_from_db()
    assert opened.status_code == 200
    assert signature.confirmed_at is None
    assertContains(opened, '<button type="submit">Confirm my signature</button>')
    assertContains(opened, 'name="csrfmiddlewaretoken"')

    pressed = client.post(path)

    signature.refresh_from_db()
    assert pressed.status_code == 200
    assert signature.confirmed_at is not None
    assertContains(pressed, "Your signature is confirmed")
    assertContains(pressed, f'href="{reverse("campaigns:signatures", args=[campaign.slug])}"')
    assertContains(pressed, f"{SITE}/campaigns/facts-not-fiction/?ref={signature.share_code}")
    assertNotContains(pressed, "ann.lee@example.org")
    assert client.post(path).status_code == 200  # twice is harmless


def test_the_confirm_button_needs_a_csrf_token(client):
    campaign = _campaign(double_opt_in=True)
    signature = _unconfirmed(campaign)

    response = Client(enforce_csrf_checks=True).post(_confirm_path(signature))

    signature.refresh_from_db()
    assert response.status_code == 403
    assert signature.confirmed_at is None


def test_a_forged_confirmation_link_gets_a_clear_message(client):
    campaign = _campaign()
    path = reverse("campaigns:confirm", args=[campaign.slug, "1:forged:signature"])

    assert client.get(path).status_code == 200
    response = client.post(path)

    assert response.status_code == 400
    assertContains(response, "This confirmation link is not valid.", status_code=400)


def test_an_expired_confirmation_link_gets_a_clear_message(client, settings):
    campaign = _campaign(double_opt_in=True)
    signature = _unconfirmed(campaign)
    settings.SIGNATURE_CONFIRM_MAX_AGE = -1

    response = client.post(_confirm_path(signature))

    signature.refresh_from_db()
    assertContains(
        response,
        "This confirmation link has expired; sign again to get a new one.",
        status_code=400,
    )
    assert signature.confirmed_at is None


def test_a_link_for_another_campaign_confirms_nothing(client):
    campaign = _campaign(double_opt_in=True)
    other = _campaign(slug="other-campaign")
    signature = _unconfirmed(campaign)
    token = _confirm_path(signature).rstrip("/").rsplit("/", 1)[1]

    response = client.post(reverse("campaigns:confirm", args=[other.slug, token]))

    signature.refresh_from_db()
    assertContains(response, "This confirmation link is not valid.", status_code=400)
    assert signature.confirmed_at is None


# --- The public list ---------------------------------------------------------------------------


def _list_url(campaign, query: str = "") -> str:
    return reverse("campaigns:signatures", args=[campaign.slug]) + (f"?{query}" if query else "")


def test_the_public_list_shows_only_counted_consented_signatures(client):
    campaign = _campaign()
    sector = SectorFactory(name="Faith communities", slug="faith")
    member = OrganizationFactory(name="Harbor Light Shelter", sector=sector)
    education = SectorFactory(name="Education", slug="education")
    school = OrganizationFactory(name="Cedar Academy", sector=education)
    shown = dict(campaign=campaign, show_publicly=True)
    SignatureFactory(name="Shown Person", affiliation="Volunteer", message="Facts!", **shown)
    SignatureFactory(
        name="Matched Person", affiliation="Harbor Light", organization=member, **shown
    )
    SignatureFactory(
        name="Signatory Sam",
        affiliation="Cedar Academy",
        on_behalf_of=school,
        organization=school,
        **shown,
    )
    SignatureFactory(name="Unconfirmed Person", confirmed_at=None, **shown)
    SignatureFactory(name="Flagged Person", flagged=True, **shown)
    SignatureFactory(name="Private Person", campaign=campaign, show_publicly=False)
    SignatureFactory(
        name="Quiet Person",
        message="Hidden words",
        message_status=Signature.MessageStatus.HIDDEN,
        **shown,
    )
    SignatureFactory(name="Elsewhere Person", campaign=_campaign(slug="other"), show_publicly=True)

    response = client.get(_list_url(campaign))

    assertContains(response, "<h1>Take A Stand Signatures</h1>")
    assertContains(response, '<span class="signer">Shown Person</span>')
    assertContains(response, ", Volunteer</span>")
    assertContains(response, "Facts!")
    assertContains(response, '<span class="signer">Matched Person</span>')
    assertContains(response, ", Harbor Light (Faith communities)</span>")
    assertContains(response, '<span class="signer">Cedar Academy (Education)</span>')
    assertNotContains(response, "Signatory Sam")
    assertContains(response, "Quiet Person")
    assertNotContains(response, "Hidden words")
    for absent in ["Unconfirmed Person", "Flagged Person", "Private Person", "Elsewhere Person"]:
        assertNotContains(response, absent)


def test_with_moderation_only_approved_messages_show(client):
    campaign = _campaign(moderate_messages=True)
    shown = dict(campaign=campaign, show_publicly=True)
    SignatureFactory(name="Pending", message="Not yet reviewed", **shown)
    SignatureFactory(
        name="Approved",
        message="Reviewed words",
        message_status=Signature.MessageStatus.APPROVED,
        **shown,
    )

    response = client.get(_list_url(campaign))

    assertContains(response, "Pending")
    assertNotContains(response, "Not yet reviewed")
    assertContains(response, "Reviewed words")


def test_html_and_script_in_a_message_are_shown_as_text(client):
    campaign = _campaign(double_opt_in=False)
    client.post(
        _sign_url(campaign),
        _valid(
            name="<b>Bold</b> Ann",
            affiliation="<i>Org</i>",
            message='<script>alert("x")</script>\n<img src=x onerror=alert(1)>',
        ),
    )
    processed()  # what the task does moments later
    assert Signature.objects.get().confirmed_at is not None

    response = client.get(_list_url(campaign))

    html = response.content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Bold" not in html
    assertContains(response, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>&lt;img")
    assertContains(response, "&lt;b&gt;Bold&lt;/b&gt; Ann")


def test_the_public_list_is_not_found_when_the_campaign_has_none(client):
    hidden = _campaign(public_list=False)
    assert client.get(_list_url(hidden)).status_code == 404
    assert client.get("/campaigns/nothing-here/signatures/").status_code == 404


def test_the_public_list_is_paginated_newest_first(client):
    campaign = _campaign()
    now = timezone.now()
    for index in range(60):
        signature = SignatureFactory(
            campaign=campaign, name=f"Signer {index:02d}", show_publicly=True
        )
        Signature.objects.filter(pk=signature.pk).update(
            created=now - datetime.timedelta(minutes=60 - index)
        )

    first = client.get(_list_url(campaign)).content.decode()
    second = client.get(_list_url(campaign, "page=2")).content.decode()

    first_names = re.findall(r'class="signer">(Signer \d+)<', first)
    second_names = re.findall(r'class="signer">(Signer \d+)<', second)
    assert len(first_names) == 50 and len(second_names) == 10
    assert first_names[0] == "Signer 59" and second_names[-1] == "Signer 00"
    assert "Showing 1–50 of 60" in first and 'rel="next" href="?page=2"' in first
    assert "Showing 51–60 of 60" in second
    for page, expected in [
        ("abc", "Signer 59"),
        ("0", "Signer 09"),
        ("-3", "Signer 09"),
        ("999999999999999999999999", "Signer 09"),
        ("", "Signer 59"),
        ("2.5", "Signer 59"),
    ]:
        response = client.get(_list_url(campaign, f"page={page}"))
        assert response.status_code == 200, page
        assert re.findall(r'class="signer">(Signer \d+)<', response.content.decode())[0] == (
            expected
        ), page


def test_the_public_list_can_be_searched_by_name_or_affiliation(client):
    campaign = _campaign()
    SignatureFactory(campaign=campaign, name="Ann Lee", affiliation="Cedar", show_publicly=True)
    SignatureFactory(campaign=campaign, name="Bo Park", affiliation="Maple", show_publicly=True)

    by_name = client.get(_list_url(campaign, "q=ann"))
    by_affiliation = client.get(_list_url(campaign, "q=maple"))
    nothing = client.get(_list_url(campaign, "q=" + "%" * 500))

    assertContains(by_name, "Ann Lee")
    assertNotContains(by_name, "Bo Park")
    assertContains(by_affiliation, "Bo Park")
    assertNotContains(by_affiliation, "Ann Lee")
    assertContains(nothing, "No signature matches")


@pytest.mark.parametrize("rows", [3, 60])
def test_the_public_list_query_count_does_not_grow_with_rows(
    client, django_assert_num_queries, rows
):
    campaign = _campaign()
    sector = SectorFactory(name="Advocacy", slug="advocacy")
    for index in range(rows):
        member = OrganizationFactory(sector=sector)
        kind = index % 3
        SignatureFactory(
            campaign=campaign,
            show_publicly=True,
            message="Words",
            affiliation=member.name,
            organization=member if kind else None,
            on_behalf_of=member if kind == 2 else None,
        )

    # The campaign, the count for the pager, one page of signatures with their organisations.
    with django_assert_num_queries(3):
        response = client.get(_list_url(campaign))

    assert response.content.decode().count('class="signer"') == min(rows, 50)


# --- What the sign page costs ------------------------------------------------------------------


@pytest.mark.parametrize("resources", [1, 8])
def test_the_sign_page_reads_the_campaign_and_its_resources_only(
    client, django_assert_num_queries, resources
):
    campaign = _campaign()
    for index in range(resources):
        CampaignResource.objects.create(
            campaign=campaign, title=f"Resource {index}", url=f"https://example.org/{index}"
        )
    SignatureFactory.create_batch(5, campaign=campaign, show_publicly=True)

    with django_assert_num_queries(2):
        response = client.get(_sign_url(campaign))

    assertContains(response, "Resource 0")
    assert "sessionid" not in response.cookies  # no session for an anonymous visitor


# --- Personal data -----------------------------------------------------------------------------


def test_no_email_or_phone_appears_on_any_public_page(client):
    campaign = _campaign(double_opt_in=True)
    member = OrganizationFactory(name="Harbor Light Shelter")
    contact = ContactFactory(email="signatory@harbor.example", phone="+14045550199")
    private_values = ["signatory@harbor.example", "4045550199", "555-0199"]
    for index in range(4):
        private_values += [f"signer{index}@mail.example", f"40455501{index:02d}"]
        SignatureFactory(
            campaign=campaign,
            contact=ContactFactory(email=f"signer{index}@mail.example"),
            show_publicly=True,
            share_code=f"code{index}",
            phone=f"+140455501{index:02d}",
            message=f"Message {index}",
        )
    SignatureFactory(
        campaign=campaign,
        contact=contact,
        on_behalf_of=member,
        organization=member,
        show_publicly=True,
        phone=contact.phone,
    )
    fresh = _unconfirmed(campaign, email="fresh@mail.example")
    private_values.append("fresh@mail.example")
    confirm_path = _confirm_path(fresh)

    pages = [
        client.get(_sign_url(campaign)),
        client.get(reverse("campaigns:thanks", args=[campaign.slug, "code0"])),
        client.get(_list_url(campaign)),
        client.get(reverse("campaigns:embed", args=[campaign.slug])),
        client.get(reverse("campaigns:embed_thanks", args=[campaign.slug, "code1"])),
        client.get(confirm_path),
        client.post(confirm_path),
        client.get("/"),
    ]

    assert [page.status_code for page in pages] == [200] * len(pages)
    assertContains(pages[2], "Message 3")  # the list did show the signatures
    for page in pages:
        html = page.content.decode()
        for value in private_values:
            assert value not in html, (page.wsgi_request.path, value)


# --- The embedded form -------------------------------------------------------------------------


def _embed_url(campaign, query: str = "") -> str:
    return reverse("campaigns:embed", args=[campaign.slug]) + (f"?{query}" if query else "")


def test_the_embedded_form_can_be_framed_and_sets_no_cookie(client):
    campaign = _campaign(statement="We reject false claims.")

    response = client.get(_embed_url(campaign, "org=nobody"))

    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    assert client.get(_sign_url(campaign)).headers["X-Frame-Options"] == "DENY"
    assert not response.cookies
    assertContains(response, "We reject false claims.")
    assertContains(response, '<label for="id_name">Name')
    assertNotContains(response, 'class="site-header"')
    assertNotContains(response, "csrfmiddlewaretoken")
    assert _hidden_value(response.content.decode(), "form_token")


def test_an_embedded_signature_is_attributed_to_the_member_that_embeds_it(client):
    campaign = _campaign()
    member = OrganizationFactory(slug="harbor-light", name="Harbor Light Shelter")
    csrf_client = Client(enforce_csrf_checks=True)  # cross-site frames send no CSRF cookie

    page = csrf_client.get(_embed_url(campaign, "org=harbor-light"))
    assertContains(page, "Shared by Harbor Light Shelter")
    token = _hidden_value(page.content.decode(), "form_token")
    response = csrf_client.post(_embed_url(campaign, "org=harbor-light"), _valid(form_token=token))

    signature = Signature.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "campaigns:embed_thanks", args=[campaign.slug, signature.share_code]
    )
    assert (signature.source, signature.referred_by) == (Signature.Source.EMBED, member)
    thanks = client.get(response["Location"])
    assert "X-Frame-Options" not in thanks.headers
    assertContains(thanks, "Thank you")
    assertContains(thanks, 'rel="noopener" target="_blank"', count=4)


@pytest.mark.parametrize("org", ["no-such-member", "inactive-member", ""])
def test_an_unknown_or_inactive_member_leaves_the_signature_unattributed(client, org):
    campaign = _campaign()
    OrganizationFactory(slug="inactive-member", status=Organization.Status.LAPSED)

    response = client.post(
        _embed_url(campaign, f"org={org}"), _valid(form_token=embed_form_token(campaign))
    )

    signature = Signature.objects.get()
    assert response.status_code == 302
    assert (signature.source, signature.referred_by) == (Signature.Source.EMBED, None)


def _token_from_two_days_ago(campaign, monkeypatch) -> str:
    two_days_ago = int(time.time()) - 2 * 24 * 60 * 60
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(two_days_ago)
    )
    token = embed_form_token(campaign)
    monkeypatch.undo()
    return token


@pytest.mark.parametrize("case", ["missing", "forged", "expired", "other-campaign", "other-salt"])
def test_an_embedded_form_without_a_good_token_is_refused_and_kept(client, monkeypatch, case):
    campaign = _campaign()
    other = _campaign(slug="other")
    token = {
        "missing": "",
        "forged": embed_form_token(campaign)[:-3] + "abc",
        "expired": _token_from_two_days_ago(campaign, monkeypatch),
        "other-campaign": embed_form_token(other),
        "other-salt": signing.TimestampSigner(salt="other").sign(str(campaign.pk)),
    }[case]
    assert EMBED_FORM_SALT == "campaigns.embed-form"

    response = client.post(_embed_url(campaign), _valid(form_token=token))

    html = response.content.decode()
    assert response.status_code == 200
    assert Signature.objects.count() == 0
    assertContains(response, EXPIRED_FORM)
    assert 'value="Ann Lee"' in _input_tag(html, "id_name")
    assert 'value="ann.lee@example.org"' in _input_tag(html, "id_email")
    fresh = _hidden_value(html, "form_token")
    assert fresh != token
    assert client.post(_embed_url(campaign), _valid(form_token=fresh)).status_code == 302


def test_the_embedded_form_shows_field_messages_and_closed_campaigns(client):
    campaign = _reference_campaign()

    response = client.post(_embed_url(campaign), {"form_token": embed_form_token(campaign)})

    assertContains(response, '<a href="#id_name">Please enter your name.</a>')
    assertContains(response, '<a href="#id_phone">Please enter a valid phone number.</a>')
    assertContains(response, '<a href="#id_message">Please enter a message.</a>')
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    closed = client.post(_embed_url(campaign), _valid(form_token=embed_form_token(campaign)))
    assertContains(closed, CLOSED)
    assert Signature.objects.count() == 0


# --- The home page -----------------------------------------------------------------------------


def test_the_home_page_links_each_open_campaign_to_its_sign_page(client):
    campaign = _campaign()

    response = client.get("/")

    assertContains(response, f'href="{_sign_url(campaign)}"', count=2)


def test_the_thank_you_and_embedded_pages_cost_two_queries(client, django_assert_num_queries):
    campaign = _campaign()
    OrganizationFactory(slug="harbor-light")
    SignatureFactory(campaign=campaign, share_code="code1")

    with django_assert_num_queries(2):  # the campaign, the signature
        thanks = client.get(reverse("campaigns:thanks", args=[campaign.slug, "code1"]))
    with django_assert_num_queries(2):  # the campaign, the member organisation
        embed = client.get(_embed_url(campaign, "org=harbor-light"))

    assert thanks.status_code == embed.status_code == 200
