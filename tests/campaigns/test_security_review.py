"""Security and robustness review of the campaign pages, attacking as the public, a signer, a
bot, a member editor, a signatory of another organisation, staff who are not conveners and a
partner site embedding the form.

The tests headed "fixed in the services" cover defects fixed in campaigns/services.py and
members/accounts.py after the review.
"""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from campaigns.forms import embed_form_token
from campaigns.models import Campaign, CampaignResource, Signature
from campaigns.services import (
    campaign_signature_counts_refresh,
    organization_sign_on,
    signature_confirm,
    signature_confirmation_token,
    signature_messages_set_status,
)
from crm.markdown import markdown_html
from crm.ratelimit import ip_rate_key
from members import accounts
from members.models import Affiliation
from tests.campaigns.helpers import processed
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SectorFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"
NOTICE = "Check your e-mail: we sent a link to confirm your signature"
LINK_SENT = "we have e-mailed a sign-in link"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://coalition.example.org"
    settings.TRUSTED_PROXY_COUNT = 0


def _campaign(**fields) -> Campaign:
    fields.setdefault("slug", "awareness-month")
    fields.setdefault("title", "Facts, not fiction")
    fields.setdefault("rate_limit_per_ip", 1_000_000)
    fields.setdefault("rate_limit_per_domain", 1_000_000)
    return CampaignFactory(**fields)


def _sign(client, campaign, **fields):
    data = {
        "name": "Ann Lee",
        "affiliation": "Concerned parent",
        "email": "ann.lee@example.org",
        "phone": "404-555-0123",
        "message": "Facts protect children.",
        "show_publicly": "on",
        **fields,
    }
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post(reverse("campaigns:sign", args=[campaign.slug]), data)
    processed()  # what the task does moments later
    return response


def _staff_not_convener():
    return get_user_model().objects.create_user("sam", password="x", is_staff=True)


def _signatory(organization, **contact):
    contact = AffiliationFactory(
        organization=organization, role=Affiliation.Role.SIGNATORY, **contact
    ).contact
    return contact


def _signed_in(contact) -> Client:
    client = Client()
    client.force_login(accounts._user_for_contact(contact), backend=BACKEND)
    return client


def _no_store(response) -> bool:
    value = response.get("Cache-Control", "")
    return "private" in value and "no-store" in value


# --- Defects fixed in this review ---------------------------------------------------------------


def test_the_thank_you_page_does_not_tell_whether_that_signer_confirmed(client):
    """Signing with someone's address leads to the thank-you page of their signature, and the
    share code is in every link they share: neither may reveal that they signed and confirmed.
    (Before the fix, a confirmed signature's page lacked the e-mail notice.)"""
    campaign = _campaign(double_opt_in=True)
    victim = SignatureFactory(campaign=campaign, share_code="victim1", show_publicly=False)
    assert victim.confirmed_at is not None
    newcomer = SignatureFactory(campaign=campaign, share_code="newbie1", confirmed_at=None)

    pages = {}
    for code in (victim.share_code, newcomer.share_code):
        for name in ("campaigns:thanks", "campaigns:embed_thanks"):
            response = client.get(reverse(name, args=[campaign.slug, code]))
            assertContains(response, NOTICE)
            pages[(name, code)] = response.content.decode().replace(code, "CODE")
    assert pages[("campaigns:thanks", "victim1")] == pages[("campaigns:thanks", "newbie1")]
    assert (
        pages[("campaigns:embed_thanks", "victim1")] == pages[("campaigns:embed_thanks", "newbie1")]
    )


def test_signing_with_a_confirmed_signers_address_shows_the_same_answer_as_a_new_signer(client):
    campaign = _campaign(double_opt_in=True)
    _sign(client, campaign, email="victim@example.org")
    signature_confirm(token=signature_confirmation_token(Signature.objects.get()))

    again = Client().post(
        reverse("campaigns:sign", args=[campaign.slug]),
        {"name": "Someone", "email": "victim@example.org"},
        follow=True,
    )
    fresh = Client().post(
        reverse("campaigns:sign", args=[campaign.slug]),
        {"name": "Someone", "email": "nobody-yet@example.org"},
        follow=True,
    )

    assertContains(again, NOTICE)
    assertContains(fresh, NOTICE)


def test_staff_who_are_not_conveners_cannot_preview_drafts(client):
    """A draft's unpublished text is for conveners; before the fix any staff account saw it."""
    campaign = _campaign(status=Campaign.Status.DRAFT, statement="Unpublished words.")
    SignatureFactory(campaign=campaign, share_code="draft1")
    client.force_login(_staff_not_convener())

    for url in (
        reverse("campaigns:sign", args=[campaign.slug]),
        reverse("campaigns:thanks", args=[campaign.slug, "draft1"]),
        reverse("campaigns:confirm", args=[campaign.slug, "token"]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assertNotContains(response, "Unpublished words.", status_code=404)


def test_conveners_still_preview_drafts(convener_client):
    campaign = _campaign(status=Campaign.Status.DRAFT, statement="Unpublished words.")

    response = convener_client.get(reverse("campaigns:sign", args=[campaign.slug]))

    assertContains(response, "Unpublished words.")


def test_the_public_search_does_not_find_who_signed_for_an_organisation():
    """An organisation's sign-on shows the organisation only; before the fix the search also
    matched the signatory's name, or the e-mail address standing in for a missing name, so one
    could recover it letter by letter."""
    campaign = _campaign()
    organization = OrganizationFactory(
        name="Harbor Light Shelter", sector=SectorFactory(name="Nonprofit", slug="nonprofit")
    )
    signatory = _signatory(
        organization,
        contact__given_name="",
        contact__family_name="",
        contact__email="quiet.director@harbor.example.org",
    )
    organization_sign_on(campaign=campaign, organization=organization, contact=signatory)
    SignatureFactory(campaign=campaign, name="Ann Lee", affiliation="Parent", show_publicly=True)
    url = reverse("campaigns:signatures", args=[campaign.slug])
    client = Client()

    for probe in ("quiet.director", "harbor.example", "@"):
        response = client.get(url, {"q": probe})
        assertContains(response, f"No signature matches “{probe}”")
    assertContains(client.get(url, {"q": "Harbor Light"}), "Harbor Light Shelter (Nonprofit)")
    assertContains(client.get(url, {"q": "Ann"}), "Ann Lee")
    assertContains(client.get(url, {"q": "Parent"}), "Ann Lee")


def test_personal_pages_and_echoed_submissions_are_never_stored_by_a_shared_cache(client):
    """Before the fix thank-you, confirm and re-shown forms (holding the typed e-mail and phone)
    had no Cache-Control at all."""
    campaign = _campaign()
    signature = SignatureFactory(campaign=campaign, share_code="code1", confirmed_at=None)
    token = signature_confirmation_token(signature)

    responses = {
        "thanks": client.get(reverse("campaigns:thanks", args=[campaign.slug, "code1"])),
        "embed thanks": client.get(
            reverse("campaigns:embed_thanks", args=[campaign.slug, "code1"])
        ),
        "confirm": client.get(reverse("campaigns:confirm", args=[campaign.slug, token])),
        "confirmed": client.post(reverse("campaigns:confirm", args=[campaign.slug, token])),
        "sign errors": _sign(client, campaign, name="", phone="12"),
        "embed errors": client.post(
            reverse("campaigns:embed", args=[campaign.slug]),
            {"name": "", "email": "ann@example.org", "form_token": embed_form_token(campaign)},
        ),
    }

    for name, response in responses.items():
        assert response.status_code == 200, name
        assert _no_store(response), name
    assertContains(responses["sign errors"], "ann.lee@example.org")  # echoed to the signer only
    # The busy public pages stay cacheable.
    assert not _no_store(client.get(reverse("campaigns:sign", args=[campaign.slug])))
    assert not _no_store(client.get(reverse("campaigns:signatures", args=[campaign.slug])))


def test_a_nul_in_the_sector_of_the_members_not_signed_csv_is_no_error(convener_client):
    """PostgreSQL refuses NUL in a query parameter: before the fix this was a 500 there (checked
    on PostgreSQL; SQLite accepts NUL, so this test can only fail on PostgreSQL)."""
    campaign = _campaign()
    OrganizationFactory(name="Harbor Light Shelter")

    response = convener_client.get(
        reverse("campaign_tracking:not_signed_csv", args=[campaign.slug]), {"sector": "\x00x"}
    )

    assert response.status_code == 200
    assert "Harbor Light Shelter" in b"".join(response.streaming_content).decode()


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("", ""),
        (None, ""),
        ("not-an-address", "not-an-address"),
    ],
)
def test_an_ipv6_client_counts_against_a_per_address_limit_by_its_64(address, key):
    assert ip_rate_key(address) == key


# --- Defects fixed in the services ------------------------------------------------------------


def test_signing_with_a_confirmed_signers_address_does_not_rewrite_their_signature(client):
    """Only the mailbox's owner confirmed; anyone may type the address. Today a second
    submission rewrites the confirmed signature's name, message, phone and consent, and the new
    message shows at once: impersonation, and a way to learn who signed privately."""
    campaign = _campaign(double_opt_in=True, moderate_messages=False)
    _sign(client, campaign, email="victim@example.org", name="Vera Victim", show_publicly=None)
    signature_confirm(token=signature_confirmation_token(Signature.objects.get()))

    _sign(
        Client(),
        campaign,
        email="Victim@Example.org",
        name="Vera Victim",
        message="Words Vera never wrote.",
        phone="404-555-0199",
        show_publicly="on",
    )

    signature = Signature.objects.get()
    assert (signature.name, signature.message, signature.phone, signature.show_publicly) == (
        "Vera Victim",
        "Facts protect children.",
        "+14045550123",
        False,
    )
    listed = Client().get(reverse("campaigns:signatures", args=[campaign.slug]))
    assertNotContains(listed, "Words Vera never wrote.")


def test_a_message_a_convener_hid_does_not_come_back_by_signing_again(client):
    campaign = _campaign(double_opt_in=False, moderate_messages=False)
    _sign(client, campaign, message="Abuse.")
    signature = Signature.objects.get()
    signature_messages_set_status(
        campaign=campaign, signature_ids=[signature.pk], status=Signature.MessageStatus.HIDDEN
    )

    _sign(client, campaign, message="Abuse!")

    listed = Client().get(reverse("campaigns:signatures", args=[campaign.slug]))
    assertContains(listed, "Ann Lee")
    assertNotContains(listed, "Abuse!")


def test_a_bot_that_filled_the_honeypot_gets_no_confirmation_e_mail_sent_for_it(client):
    """Whatever address a bot typed would get our e-mail, with the bot's text as the name."""
    campaign = _campaign(double_opt_in=True)

    _sign(client, campaign, website="http://spam.example", name="Cheap pills at spam.example")

    signature = Signature.objects.get()
    assert signature.flagged
    assert signature.confirmation_sends == 0


def test_rotating_ipv6_addresses_within_one_64_does_not_dodge_the_per_ip_limit():
    campaign = _campaign(rate_limit_per_ip=2)

    for number in range(1, 4):
        _sign(
            Client(REMOTE_ADDR=f"2001:db8:1:2::{number}"),
            campaign,
            email=f"bot{number}@bots{number}.example",
        )

    assert list(Signature.objects.order_by("pk").values_list("flagged", flat=True)) == [
        False,
        False,
        True,
    ]


def test_a_sign_in_link_for_an_address_too_long_for_a_user_name_is_answered_like_any_other():
    """A user name holds 150 characters, an e-mail address 254: PostgreSQL refused the insert
    with a 500, which told that the address belongs to a signatory or editor."""
    cache.clear()
    contact = ContactFactory(email="a" * 140 + "@example-organisation.org")
    AffiliationFactory(contact=contact, role=Affiliation.Role.SIGNATORY)

    response = Client().post(
        reverse("account:sign_in"), {"form": "link", "link-email": contact.email}, follow=True
    )

    assertContains(response, LINK_SENT)
    assert not get_user_model().objects.filter(username__iexact=contact.email).exists()


# --- Checked and sound --------------------------------------------------------------------------


def test_no_public_page_shows_an_e_mail_phone_or_ip_address(client):
    campaign = _campaign(double_opt_in=False)
    organization = OrganizationFactory(name="Harbor Light Shelter")
    _sign(
        client,
        campaign,
        email="secret.signer@example.org",
        phone="404-555-0177",
        affiliation="Harbor Light Shelter",
        REMOTE_ADDR="198.51.100.23",
    )
    signatory = _signatory(organization, contact__email="secret.signatory@example.org")
    organization_sign_on(campaign=campaign, organization=organization, contact=signatory)
    signature = Signature.objects.get(on_behalf_of__isnull=True)
    campaign_signature_counts_refresh()
    anonymous = Client()
    token = signature_confirmation_token(signature)

    pages = [
        anonymous.get(reverse("campaigns:sign", args=[campaign.slug])),
        anonymous.get(reverse("campaigns:signatures", args=[campaign.slug])),
        anonymous.get(reverse("campaigns:signatures", args=[campaign.slug]), {"q": "secret"}),
        anonymous.get(reverse("campaigns:thanks", args=[campaign.slug, signature.share_code])),
        anonymous.get(
            reverse("campaigns:embed_thanks", args=[campaign.slug, signature.share_code])
        ),
        anonymous.get(reverse("campaigns:embed", args=[campaign.slug]), {"org": "x"}),
        anonymous.get(reverse("campaigns:confirm", args=[campaign.slug, token])),
        anonymous.post(reverse("campaigns:confirm", args=[campaign.slug, token])),
    ]

    for response in pages:
        text = response.content.decode()
        for secret in ("secret.sign", "@example.org", "555", "0177", "198.51.100.23"):
            assert secret not in text, (response.request["PATH_INFO"], secret)
    assertContains(pages[1], "Ann Lee")


def test_names_messages_and_affiliations_are_escaped_on_the_public_list(client):
    campaign = _campaign(double_opt_in=False)
    _sign(
        client,
        campaign,
        name='<script>alert("n")</script>',
        affiliation="<img src=x onerror=alert(1)>",
        message='<a href="javascript:alert(1)">click</a>\n<b>bold</b>',
    )

    response = Client().get(reverse("campaigns:signatures", args=[campaign.slug]))

    assertContains(response, "&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;")
    assertContains(response, "&lt;img src=x onerror=alert(1)&gt;")
    assertContains(response, "&lt;a href=&quot;javascript:alert(1)&quot;&gt;click&lt;/a&gt;<br>")
    assertNotContains(response, "<script>alert")
    assertNotContains(response, "<img src=x")


def test_campaign_markdown_keeps_no_script_or_javascript_link():
    html = markdown_html(
        "[x](javascript:alert(1)) <script>alert(2)</script> <a href='data:text/html,x'>d</a> "
        "<img src=x onerror=alert(3)> [ok](https://example.org)"
    )

    assert "javascript:" not in html and "<script" not in html and "data:" not in html
    assert "onerror" not in html and "<img" not in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in html


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)//https://x", "data:text/html,x", "//evil"]
)
def test_a_resource_link_must_be_a_web_address(url):
    resource = CampaignResource(campaign=_campaign(), title="Report", url=url)

    with pytest.raises(ValidationError) as error:
        resource.full_clean()

    assert "url" in error.value.message_dict


def test_the_admin_refuses_a_javascript_resource_link(client, convener):
    client.force_login(convener)
    campaign = _campaign()
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = client.get(url).content.decode()
    data = {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
        if name != "csrfmiddlewaretoken"
    }
    data.update(
        title=campaign.title,
        slug=campaign.slug,
        kind=campaign.kind,
        statement=campaign.statement,
        status=campaign.status,
        signature_goal=100,
        affiliation_field="optional",
        phone_field="optional",
        message_field="optional",
        double_opt_in="on",
        public_list="on",
        rate_limit_per_ip=200,
        rate_limit_per_domain=300,
        **{
            "resources-0-position": 0,
            "resources-0-title": "Evil",
            "resources-0-url": "javascript:alert(1)",
        },
    )

    response = client.post(url, data)

    assert response.status_code == 200  # the form again, with the error
    assertContains(response, "Enter a valid URL.")
    assert not CampaignResource.objects.exists()


def test_share_links_carry_only_the_campaign_and_the_code(client):
    campaign = _campaign(title='Quote " and <tag> & more')
    _sign(client, campaign, name="Ann <b>Lee</b>", email="ann.secret@example.org")
    signature = Signature.objects.get()

    response = client.get(reverse("campaigns:thanks", args=[campaign.slug, signature.share_code]))

    text = response.content.decode()
    hrefs = re.findall(r'class="share share-[a-z]+" href="([^"]*)"', text)
    assert len(hrefs) == 4
    for href in hrefs:
        assert href.startswith(("https://", "mailto:?")), href
        assert "ann" not in href.lower() and "<" not in href and '"' not in href
        assert signature.share_code in href
    assert "ann.secret" not in text and "Lee" not in text


def test_the_signatures_csv_guards_formulas_from_public_fields(convener_client):
    campaign = _campaign(double_opt_in=False)
    _sign(
        Client(),
        campaign,
        name='=HYPERLINK("https://evil.example","x")',
        affiliation="+cmd|' /C calc'!A0",
        message="@SUM(1+1)",
        referral_code="-2+3",
    )

    response = convener_client.get(
        reverse("campaign_tracking:signatures_csv", args=[campaign.slug])
    )

    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in body
    assert "'+cmd|" in body
    assert "'@SUM(1+1)" in body
    assert "'-2+3" in body
    assert "+14045550123" in body  # a phone number stays a phone number


def test_every_public_post_needs_csrf_except_the_embed_which_needs_its_signed_token():
    campaign = _campaign()
    other = _campaign(slug="other")
    signature = SignatureFactory(campaign=campaign, confirmed_at=None)
    strict = Client(enforce_csrf_checks=True)
    data = {"name": "Ann Lee", "email": "ann@example.org"}

    assert strict.post(reverse("campaigns:sign", args=[campaign.slug]), data).status_code == 403
    token = signature_confirmation_token(signature)
    confirm_url = reverse("campaigns:confirm", args=[campaign.slug, token])
    assert strict.post(confirm_url).status_code == 403
    signature.refresh_from_db()
    assert signature.confirmed_at is None

    embed_url = reverse("campaigns:embed", args=[campaign.slug])
    for form_token in ("", "forged", embed_form_token(other), embed_form_token(campaign) + "x"):
        response = strict.post(embed_url, {**data, "form_token": form_token})
        assertContains(response, "This form has expired; please submit it again.")
    assert Signature.objects.count() == 1
    response = strict.post(embed_url, {**data, "form_token": embed_form_token(campaign)})
    assert response.status_code == 302
    assert Signature.objects.filter(email="ann@example.org", source="embed").exists()


def test_tracking_and_sign_on_posts_need_csrf(convener):
    campaign = _campaign()
    signature = SignatureFactory(campaign=campaign, flagged=True)
    organization = OrganizationFactory()
    signatory = _signatory(organization)

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(convener)
    for name in ("flagged", "messages"):
        response = strict.post(
            reverse(f"campaign_tracking:{name}", args=[campaign.slug]),
            {"action": "invalidate" if name == "flagged" else "hide", "signature": [signature.pk]},
        )
        assert response.status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(accounts._user_for_contact(signatory), backend=BACKEND)
    response = strict.post(
        reverse("sign_on:sign", args=[campaign.slug, organization.slug]),
        {"message": "", "authorised": "on"},
    )
    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.invalidated_at is None
    assert not Signature.objects.filter(on_behalf_of=organization).exists()


def test_a_confirmation_link_confirms_only_on_its_own_campaign_and_never_on_a_get(client):
    campaign = _campaign()
    other = _campaign(slug="other")
    signature = SignatureFactory(campaign=campaign, confirmed_at=None)
    token = signature_confirmation_token(signature)

    assert client.get(reverse("campaigns:confirm", args=[campaign.slug, token])).status_code == 200
    response = client.post(reverse("campaigns:confirm", args=[other.slug, token]))
    assertContains(response, "This confirmation link is not valid.", status_code=400)
    signature.refresh_from_db()
    assert signature.confirmed_at is None

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "1", "1:abc:def", "x" * 3000):
        response = client.post(reverse("campaigns:confirm", args=[campaign.slug, bad]))
        assertContains(response, "This confirmation link is not valid.", status_code=400)
    signature.refresh_from_db()
    assert signature.confirmed_at is None


def test_an_expired_confirmation_link_is_refused(client, settings):
    campaign = _campaign()
    signature = SignatureFactory(campaign=campaign, confirmed_at=None)
    token = signature_confirmation_token(signature)
    settings.SIGNATURE_CONFIRM_MAX_AGE = -1

    response = client.post(reverse("campaigns:confirm", args=[campaign.slug, token]))

    assertContains(response, "This confirmation link has expired", status_code=400)
    signature.refresh_from_db()
    assert signature.confirmed_at is None


def test_bulk_review_of_another_campaigns_signatures_changes_nothing(convener_client):
    campaign = _campaign()
    other = _campaign(slug="other", moderate_messages=True)
    theirs = SignatureFactory(
        campaign=other, flagged=True, flag_reason="over", message="Theirs", share_code="t1"
    )
    mine = SignatureFactory(campaign=campaign, flagged=True, flag_reason="over")

    convener_client.post(
        reverse("campaign_tracking:flagged", args=[campaign.slug]),
        {"action": "clear", "signature": [theirs.pk, mine.pk]},
    )
    convener_client.post(
        reverse("campaign_tracking:messages", args=[campaign.slug]),
        {"action": "approve", "signature": [theirs.pk]},
    )
    theirs.suggestion = OrganizationFactory()
    Signature.objects.filter(pk=theirs.pk).update(organization_suggestion=theirs.suggestion)
    response = convener_client.post(
        reverse("campaign_tracking:suggestion", args=[campaign.slug, theirs.pk]),
        {"decision": "accept"},
    )

    assert response.status_code == 404
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.flagged, theirs.message_status, theirs.organization_id) == (
        True,
        Signature.MessageStatus.PENDING,
        None,
    )
    assert mine.flagged is False


def test_a_signatory_of_one_organisation_cannot_sign_or_withdraw_for_another():
    campaign = _campaign()
    mine = OrganizationFactory(slug="mine")
    theirs = OrganizationFactory(slug="theirs")
    their_signatory = _signatory(theirs)
    organization_sign_on(campaign=campaign, organization=theirs, contact=their_signatory)
    # An editor of theirs is not its signatory either.
    editor = AffiliationFactory(organization=theirs, role=Affiliation.Role.EDITOR).contact
    me = _signatory(mine)

    for contact in (me, editor):
        client = _signed_in(contact)
        for url in (
            reverse("sign_on:sign", args=[campaign.slug, theirs.slug]),
            reverse("sign_on:withdraw", args=[campaign.slug, theirs.slug]),
            reverse("sign_on:sign", args=[campaign.slug, "no-such-organisation"]),
        ):
            assert client.get(url).status_code == 404, url
            assert client.post(url, {"message": "Hijack", "authorised": "on"}).status_code == 404

    sign_on = Signature.objects.get(on_behalf_of=theirs)
    assert (sign_on.message, sign_on.contact) == ("", their_signatory)
    assert not Signature.objects.filter(on_behalf_of=mine).exists()


def test_staff_who_are_not_conveners_reach_no_tracking_page_export_or_review(client):
    campaign = _campaign()
    signature = SignatureFactory(campaign=campaign, flagged=True)
    client.force_login(_staff_not_convener())

    for url in (
        reverse("campaign_tracking:list"),
        reverse("campaign_tracking:detail", args=[campaign.slug]),
        reverse("campaign_tracking:signatures_csv", args=[campaign.slug]),
        reverse("campaign_tracking:not_signed_csv", args=[campaign.slug]),
    ):
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("campaign_tracking:flagged", args=[campaign.slug]),
        {"action": "clear", "signature": [signature.pk]},
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:campaigns_signature_changelist")).status_code == 403
    signature.refresh_from_db()
    assert signature.flagged is True


def test_only_the_embedded_form_and_its_thank_you_may_be_framed(client):
    campaign = _campaign()
    signature = SignatureFactory(campaign=campaign, share_code="code1")
    token = signature_confirmation_token(signature)

    framable = {
        reverse("campaigns:embed", args=[campaign.slug]),
        reverse("campaigns:embed_thanks", args=[campaign.slug, "code1"]),
    }
    denied = {
        reverse("campaigns:sign", args=[campaign.slug]),
        reverse("campaigns:thanks", args=[campaign.slug, "code1"]),
        reverse("campaigns:confirm", args=[campaign.slug, token]),
        reverse("campaigns:signatures", args=[campaign.slug]),
        reverse("account:sign_in"),
    }
    for url in framable:
        assert client.get(url).get("X-Frame-Options") is None, url
    for url in denied:
        assert client.get(url)["X-Frame-Options"] == "DENY", url
    embed = client.get(reverse("campaigns:embed", args=[campaign.slug]))
    assert "csrftoken" not in embed.cookies and "sessionid" not in embed.cookies


def test_flagged_signatures_are_neither_counted_nor_listed_and_the_signer_is_not_told(client):
    campaign = _campaign(double_opt_in=False, rate_limit_per_ip=1)
    clean = _sign(Client(REMOTE_ADDR="198.51.100.1"), campaign, email="a@one.example", name="Al")
    over = _sign(Client(REMOTE_ADDR="198.51.100.1"), campaign, email="b@two.example", name="Bo")
    trap = _sign(
        Client(REMOTE_ADDR="198.51.100.2"),
        campaign,
        email="c@three.example",
        name="Cy",
        website="x",
    )

    assert [response.status_code for response in (clean, over, trap)] == [302, 302, 302]
    pages = [
        Client().get(response["Location"]).content.decode() for response in (clean, over, trap)
    ]
    codes = [response["Location"].rstrip("/").rsplit("/", 1)[1] for response in (clean, over, trap)]
    assert len({page.replace(code, "") for page, code in zip(pages, codes, strict=True)}) == 1
    assert dict(Signature.objects.values_list("name", "flagged")) == {
        "Al": False,
        "Bo": True,
        "Cy": True,
    }
    assert campaign_signature_counts_refresh()[campaign.pk] == 1
    listed = Client().get(reverse("campaigns:signatures", args=[campaign.slug]))
    assertContains(listed, "Al")
    assertNotContains(listed, "Bo")
    assertNotContains(listed, "Cy")


def test_a_forged_x_forwarded_for_does_not_dodge_the_per_ip_limit_behind_the_proxy(settings):
    """Production default: one trusted proxy, which appends the address it received from."""
    settings.TRUSTED_PROXY_COUNT = 1
    campaign = _campaign(rate_limit_per_ip=2)

    for number in range(3):
        _sign(
            Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"6.6.6.{number}, 203.0.113.9"),
            campaign,
            email=f"bot{number}@bots{number}.example",
        )

    rows = list(Signature.objects.order_by("pk").values_list("ip_address", "flagged"))
    assert rows == [("203.0.113.9", False), ("203.0.113.9", False), ("203.0.113.9", True)]


ODD_GETS = [
    "/campaigns/awareness-month/?ref=%00%01",
    "/campaigns/awareness-month/?ref=" + "x" * 5000,
    "/campaigns/awareness-month/?ref=a&ref=b",
    "/campaigns/awareness-month/signatures/?page=-1",
    "/campaigns/awareness-month/signatures/?page=abc",
    "/campaigns/awareness-month/signatures/?page=99999999999999999999999999",
    "/campaigns/awareness-month/signatures/?page=1e9",
    "/campaigns/awareness-month/signatures/?q=%00",
    "/campaigns/awareness-month/signatures/?q=%25_%5C",
    "/campaigns/awareness-month/signatures/?q=%FF%FE",
    "/campaigns/awareness-month/signatures/?q=" + "%F0%9F%98%80" * 200,
    "/campaigns/awareness-month/embed/?org=%00",
    "/campaigns/awareness-month/embed/?org=" + "a" * 5000,
    "/campaigns/awareness-month/embed/?org=a&org=b",
    "/campaigns/awareness-month/confirm/%00/",
    "/campaigns/awareness-month/confirm/" + "a" * 5000 + "/",
    "/campaigns/awareness-month/confirm/1:2:3:4/",
    "/campaigns/awareness-month/thanks/" + "a" * 500 + "/",
    "/campaigns/awareness-month/embed/thanks/zzz/",
    "/campaigns/" + "a" * 300 + "/",
    "/campaigns/no-such-campaign/signatures/",
    "/account/campaigns/awareness-month/org/%00/",
]


@pytest.mark.parametrize("url", ODD_GETS)
def test_odd_urls_get_a_page_or_a_404_never_an_error(client, url):
    _campaign()

    response = client.get(url)

    assert response.status_code in (200, 302, 404), url


@pytest.mark.parametrize("url", ["/dashboard/campaigns/awareness-month/", "/dashboard/campaigns/"])
def test_odd_tracking_queries_are_no_error(convener_client, url):
    _campaign()

    response = convener_client.get(
        url,
        {
            "sector": ["\x00", "x"],
            "flagged_page": "-1",
            "suggestions_page": "abc",
            "messages_page": "9" * 40,
        },
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "a\x00b", "email": "ann\x00@example.org", "message": "\x00"},
        {"name": "N" * 100_000, "email": "e" * 100_000 + "@example.org", "phone": "9" * 10_000},
        {"name": "Ann", "email": "ann@exämple.org", "affiliation": "Ünïcödé 😀 Église"},
        {"name": "Ann", "email": "@", "phone": "+" + "1" * 40},
        {"name": "Ann", "email": "ann@" + "a" * 250 + ".com"},
        {"name": "Ann", "email": "ann@example.org", "referral_code": "\x00" * 500},
        {"name": "Ann", "email": "ann@example.org", "show_publicly": "maybe", "website": "\x00"},
        {"name": "\u202eAnn", "email": "ann@example.org", "message": "m" * 2001},
    ],
)
def test_odd_submissions_get_a_page_never_an_error(client, fields):
    campaign = _campaign(
        phone_field=Campaign.FieldRule.OPTIONAL, message_field=Campaign.FieldRule.OPTIONAL
    )

    for url in (
        reverse("campaigns:sign", args=[campaign.slug]),
        reverse("campaigns:embed", args=[campaign.slug]),
    ):
        response = client.post(url, {**fields, "form_token": embed_form_token(campaign)})
        assert response.status_code in (200, 302), url


def test_invalid_utf8_and_repeated_fields_in_a_submission_are_no_error(client):
    campaign = _campaign()
    url = reverse("campaigns:sign", args=[campaign.slug])

    for body in (
        b"name=%ED%A0%80&email=one%40example.org",
        b"name=%FF%FE&email=two%40example.org",
        b"name=A&email=x%40example.org&name=B&email=y%40example.org",
    ):
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code in (200, 302)


def test_the_sign_in_link_request_answers_every_address_alike(client):
    """Signatories now sign in: the request must not tell which addresses are theirs."""
    cache.clear()
    organization = OrganizationFactory()
    signatory = _signatory(organization, contact__email="signs@harbor.example.org")
    editor = AffiliationFactory(organization=organization, role=Affiliation.Role.EDITOR).contact
    signer = ContactFactory(email="just.signed@example.org")  # signed a campaign, nothing more
    get_user_model().objects.create_user(
        "boss@example.org", email="boss@example.org", is_staff=True
    )

    answers = []
    for email in (
        signatory.email,
        editor.email,
        signer.email,
        "boss@example.org",
        "nobody@example.org",
    ):
        response = client.post(
            reverse("account:sign_in"), {"form": "link", "link-email": email}, follow=True
        )
        page = re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", response.content.decode())
        answers.append((response.redirect_chain, page.replace(email, "ADDRESS")))
    assert all(answer == answers[0] for answer in answers)
    assertContains(response, LINK_SENT)


def test_signing_in_does_not_redirect_off_the_site(client):
    organization = OrganizationFactory()
    contact = _signatory(organization, contact__email="signs@harbor.example.org")
    user = accounts._user_for_contact(contact)
    user.set_password("a long and good password")
    user.save()

    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        response = Client().post(
            reverse("account:sign_in") + "?next=" + target,
            {
                "form": "password",
                "password-username": contact.email,
                "password-password": "a long and good password",
                "next": target,
            },
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("account:home"), target


def test_a_sign_on_after_the_campaign_closed_is_refused():
    campaign = _campaign(closes_at=timezone.now() - datetime.timedelta(minutes=1))
    organization = OrganizationFactory()
    client = _signed_in(_signatory(organization))

    response = client.post(
        reverse("sign_on:sign", args=[campaign.slug, organization.slug]),
        {"message": "Late", "authorised": "on"},
    )

    assertContains(response, "This campaign is closed and no longer takes signatures.")
    assert not Signature.objects.exists()
