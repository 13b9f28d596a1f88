"""Organisational sign-on: a member organisation's signatory, signed in, signs for it."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Signature
from campaigns.selectors import signature_counted_q
from campaigns.services import campaign_signature_counts_refresh
from celerytasks.accounts import send_sign_in_link
from members import accounts
from members.models import Affiliation, Interaction
from tests.campaigns.helpers import sign_processed
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    OrganizationFactory,
    SectorFactory,
)

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def own_cache(settings):
    # Sign-in link requests are rate limited in the cache: each test starts with none counted.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "sign-on-tests",
        }
    }
    settings.SITE_URL = "https://crm.example.org"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def organization():
    return OrganizationFactory(
        name="Harbor Light Shelter",
        slug="harbor-light",
        sector=SectorFactory(name="Nonprofit", slug="nonprofit"),
    )


@pytest.fixture
def campaign():
    return CampaignFactory(
        title="Facts, not fiction",
        slug="awareness-month",
        statement="We stand for **facts**.",
        opens_at=timezone.now() - datetime.timedelta(days=3),
        closes_at=timezone.now() + datetime.timedelta(days=30),
    )


@pytest.fixture
def signatory(organization):
    """A signatory who is not a profile editor."""
    return AffiliationFactory(
        organization=organization,
        role=Affiliation.Role.SIGNATORY,
        contact__given_name="Sade",
        contact__family_name="Mbeki",
        contact__email="sade@harbor.example.org",
    ).contact


def signed_in(client, contact):
    client.force_login(accounts._user_for_contact(contact), backend=BACKEND)
    return client


@pytest.fixture
def signatory_client(client, signatory):
    return signed_in(client, signatory)


def sign_url(campaign, organization):
    return reverse("sign_on:sign", args=[campaign.slug, organization.slug])


def withdraw_url(campaign, organization):
    return reverse("sign_on:withdraw", args=[campaign.slug, organization.slug])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def sign(client, campaign, organization, message="", authorised=True, **extra):
    data = {"message": message}
    if authorised:
        data["authorised"] = "on"
    return client.post(sign_url(campaign, organization), data, **extra)


def sign_ons(campaign):
    return Signature.objects.filter(campaign=campaign, on_behalf_of__isnull=False)


# --- Signing -----------------------------------------------------------------------------------


def test_the_sign_page_shows_the_statement_and_the_form(signatory_client, campaign, organization):
    response = signatory_client.get(sign_url(campaign, organization))

    assert response.status_code == 200
    page = response.content.decode()
    assert "We stand for <strong>facts</strong>." in page
    assert "Not signed yet" in page
    assert '<label for="id_message">Message from Harbor Light Shelter (optional)</label>' in page
    assert (
        '<label for="id_authorised">I am authorised to sign this statement on behalf of '
        "Harbor Light Shelter</label>" in page
    )
    assert "Sign on behalf of Harbor Light Shelter</button>" in page
    assert "csrfmiddlewaretoken" in page
    assert "Withdraw our organisation" not in page


def test_a_signatory_signs_on_and_it_counts_at_once_without_an_email(
    signatory_client,
    signatory,
    campaign,
    organization,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = sign(signatory_client, campaign, organization, message="Facts first.")

    assert response.status_code == 302
    assert response["Location"] == sign_url(campaign, organization)
    signature = sign_ons(campaign).get()
    assert signature.on_behalf_of == organization
    assert signature.organization == organization
    assert signature.contact == signatory
    assert signature.affiliation == "Harbor Light Shelter"
    assert signature.name == "Sade Mbeki"
    assert signature.message == "Facts first."
    assert signature.show_publicly
    assert signature.confirmed_at is not None and not signature.flagged
    assert signature.share_code
    assert Signature.objects.filter(signature_counted_q(), campaign=campaign).count() == 1
    assert campaign_signature_counts_refresh()[campaign.pk] == 1
    assert callbacks == [] and mailoutbox == []  # signed in: nothing to confirm by e-mail

    page = signatory_client.get(response["Location"])
    shown = page.content.decode()
    assert any("Harbor Light Shelter has signed" in m for m in messages_of(page))
    today = timezone.localdate()
    assert f"Signed on {today:%B} {today.day}, {today:%Y} by Sade Mbeki." in shown
    assert "Facts first." in shown
    assert "Withdraw our organisation's signature" in shown


def test_signing_again_updates_the_message_and_keeps_one_sign_on(
    signatory_client, campaign, organization
):
    sign(signatory_client, campaign, organization, message="First words.")
    first = sign_ons(campaign).get()

    response = sign(signatory_client, campaign, organization, message="Better words.")

    assert response.status_code == 302
    assert sign_ons(campaign).count() == 1
    again = sign_ons(campaign).get()
    assert again.pk == first.pk
    assert again.message == "Better words."
    assert again.confirmed_at == first.confirmed_at
    page = signatory_client.get(response["Location"])
    assert "Harbor Light Shelter's signature is updated." in messages_of(page)
    assert "Better words.</textarea>" in page.content.decode()


def test_the_sign_on_is_recorded_on_the_organisations_timeline(
    signatory_client, signatory, campaign, organization
):
    sign(signatory_client, campaign, organization)

    interaction = Interaction.objects.get(organization=organization)
    assert interaction.contact == signatory
    assert interaction.author == signatory.user
    assert "Facts, not fiction" in interaction.subject + interaction.text
    assert interaction.subject.startswith("Signed")


def test_the_authorisation_box_is_required_and_the_error_is_linked(
    signatory_client, campaign, organization
):
    response = sign(signatory_client, campaign, organization, message="Hi", authorised=False)

    assert response.status_code == 200
    page = response.content.decode()
    message = "Please confirm that you are authorised to sign on behalf of Harbor Light Shelter."
    assert f'<a href="#id_authorised">{message}</a>' in page
    assert 'id="id_authorised_error"' in page
    assert 'aria-describedby="id_authorised_error"' in page
    assert 'aria-invalid="true"' in page
    assert "Hi</textarea>" in page  # what they typed is kept
    assert not sign_ons(campaign).exists()


@pytest.mark.parametrize("message", ["x" * 2001, "x" * 100_000])
def test_an_overlong_message_is_refused_with_a_clear_message(
    signatory_client, campaign, organization, message
):
    response = sign(signatory_client, campaign, organization, message=message)

    assert response.status_code == 200
    assert "Please keep the message under 2,000 characters." in response.content.decode()
    assert not sign_ons(campaign).exists()


def test_html_in_the_message_is_shown_as_text(signatory_client, campaign, organization):
    sign(signatory_client, campaign, organization, message="<script>alert(1)</script>")

    page = signatory_client.get(sign_url(campaign, organization)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_person_can_sign_both_personally_and_for_the_organisation(
    signatory_client, signatory, campaign, organization
):
    sign(signatory_client, campaign, organization)
    personal, created = sign_processed(
        campaign=campaign, name="Sade Mbeki", email="Sade@Harbor.example.org", message="Me too."
    )

    assert created
    assert personal.contact == signatory and personal.on_behalf_of is None
    assert Signature.objects.filter(campaign=campaign, contact=signatory).count() == 2
    # And the other way round: signing personally first does not stand in for the organisation.
    sign_ons(campaign).delete()
    assert sign(signatory_client, campaign, organization).status_code == 302
    assert sign_ons(campaign).get().contact == signatory
    assert Signature.objects.filter(campaign=campaign, contact=signatory).count() == 2


# --- Withdrawing -------------------------------------------------------------------------------


def test_withdrawing_asks_first_then_removes_the_sign_on(
    signatory_client, signatory, campaign, organization
):
    sign(signatory_client, campaign, organization)

    confirm = signatory_client.get(withdraw_url(campaign, organization))
    assert confirm.status_code == 200
    assert "Withdraw our organisation's signature</button>" in confirm.content.decode()
    assert sign_ons(campaign).exists()

    response = signatory_client.post(withdraw_url(campaign, organization), follow=True)

    assert response.redirect_chain[-1][0] == sign_url(campaign, organization)
    assert not sign_ons(campaign).exists()
    assert any("is withdrawn" in m for m in messages_of(response))
    assert "Not signed yet" in response.content.decode()
    withdrawn = Interaction.objects.get(organization=organization, subject__startswith="Withdrew")
    assert withdrawn.contact == signatory


def test_withdrawing_without_a_sign_on_changes_nothing(signatory_client, campaign, organization):
    response = signatory_client.post(withdraw_url(campaign, organization), follow=True)

    assert response.redirect_chain[-1][0] == sign_url(campaign, organization)
    assert "Harbor Light Shelter has not signed this campaign." in messages_of(response)
    assert not Interaction.objects.exists()


# --- Who may sign ------------------------------------------------------------------------------


def _people(organization):
    other = OrganizationFactory(name="Birchwood Haven", slug="birchwood")
    return {
        "staff member": AffiliationFactory(
            organization=organization, role=Affiliation.Role.STAFF
        ).contact,
        "primary contact": AffiliationFactory(
            organization=organization, role=Affiliation.Role.PRIMARY
        ).contact,
        "profile editor only": AffiliationFactory(
            organization=organization, role=Affiliation.Role.EDITOR
        ).contact,
        "signatory of another organisation": AffiliationFactory(
            organization=other, role=Affiliation.Role.SIGNATORY
        ).contact,
    }


@pytest.mark.parametrize(
    "who",
    [
        "staff member",
        "primary contact",
        "profile editor only",
        "signatory of another organisation",
    ],
)
def test_anyone_but_a_signatory_gets_not_found(client, campaign, organization, who):
    signed_in(client, _people(organization)[who])

    for response in (
        client.get(sign_url(campaign, organization)),
        sign(client, campaign, organization, message="Hijack"),
        client.get(withdraw_url(campaign, organization)),
        client.post(withdraw_url(campaign, organization)),
    ):
        assert response.status_code == 404
        assert "Harbor Light Shelter" not in response.content.decode()
    assert not sign_ons(campaign).exists()


def test_an_editor_who_is_not_a_signatory_cannot_withdraw_a_sign_on(
    client, signatory_client, campaign, organization
):
    sign(signatory_client, campaign, organization)
    editor = AffiliationFactory(organization=organization, role=Affiliation.Role.EDITOR).contact
    other = Client()
    signed_in(other, editor)

    assert other.post(withdraw_url(campaign, organization)).status_code == 404
    assert sign_ons(campaign).exists()
    home = other.get(reverse("account:home")).content.decode()
    assert "Campaigns to sign" not in home


def test_a_convener_without_a_contact_gets_not_found(convener_client, campaign, organization):
    assert convener_client.get(sign_url(campaign, organization)).status_code == 404


def test_losing_the_signatory_role_takes_effect_at_once(
    signatory_client, signatory, campaign, organization
):
    assert signatory_client.get(sign_url(campaign, organization)).status_code == 200
    Affiliation.objects.filter(contact=signatory, role=Affiliation.Role.SIGNATORY).delete()

    assert signatory_client.get(sign_url(campaign, organization)).status_code == 404
    assert sign(signatory_client, campaign, organization).status_code == 404
    assert not sign_ons(campaign).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/account/campaigns/no-such-campaign/org/harbor-light/",
        "/account/campaigns/awareness-month/org/no-such-org/",
        "/account/campaigns/awareness-month/org/" + "x" * 5000 + "/",
        "/account/campaigns/awareness-month/org/%00%27%3B/",
        "/account/campaigns/awareness-month/org/harbor-light/withdraw/extra/",
    ],
)
def test_odd_addresses_are_not_found(signatory_client, campaign, organization, path):
    assert signatory_client.get(path).status_code == 404


def test_a_draft_campaign_is_not_found(signatory_client, organization):
    draft = CampaignFactory(slug="draft-one", status=Campaign.Status.DRAFT)
    assert signatory_client.get(sign_url(draft, organization)).status_code == 404
    assert sign(signatory_client, draft, organization).status_code == 404
    assert not sign_ons(draft).exists()


def test_anonymous_visitors_are_sent_to_sign_in_and_back(client, campaign, organization):
    for response in (
        client.get(sign_url(campaign, organization) + "?a=1"),
        sign(client, campaign, organization),
        client.post(withdraw_url(campaign, organization)),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account:sign_in") + "?next=")
    first = client.get(sign_url(campaign, organization) + "?a=1")
    assert (
        first["Location"]
        == "/account/sign-in/?next=/account/campaigns/awareness-month/org/harbor-light/%3Fa%3D1"
    )
    assert not sign_ons(campaign).exists()


def test_the_form_needs_a_csrf_token(signatory, campaign, organization):
    strict = signed_in(Client(enforce_csrf_checks=True), signatory)

    response = sign(strict, campaign, organization)

    assert response.status_code == 403
    assert not sign_ons(campaign).exists()


# --- Closed campaigns --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["status", "date"])
def test_a_closed_campaign_stays_readable_and_takes_no_sign_on(
    signatory_client, campaign, organization, how
):
    if how == "status":
        campaign.status = Campaign.Status.CLOSED
    else:
        campaign.closes_at = timezone.now() - datetime.timedelta(minutes=1)
    campaign.save()

    page = signatory_client.get(sign_url(campaign, organization))

    shown = page.content.decode()
    assert page.status_code == 200
    assert "We stand for <strong>facts</strong>." in shown
    assert "This campaign is closed and no longer takes signatures." in shown
    assert 'name="authorised"' not in shown and "Sign on behalf of" not in shown
    response = sign(signatory_client, campaign, organization)
    assert response.status_code == 200
    assert "This campaign is closed" in response.content.decode()
    assert not sign_ons(campaign).exists()


def test_a_sign_on_cannot_be_withdrawn_once_the_campaign_closed(
    signatory_client, campaign, organization
):
    sign(signatory_client, campaign, organization)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)

    response = signatory_client.post(withdraw_url(campaign, organization), follow=True)

    assert sign_ons(campaign).exists()
    assert any("can no longer be withdrawn" in m for m in messages_of(response))
    assert "Withdraw our organisation" not in response.content.decode()


def test_a_campaign_not_open_yet_says_when_it_opens(signatory_client, campaign, organization):
    campaign.opens_at = timezone.now() + datetime.timedelta(days=10)
    campaign.save()

    response = sign(signatory_client, campaign, organization)

    assert "This campaign opens for signatures on" in response.content.decode()
    assert not sign_ons(campaign).exists()


# --- The account home --------------------------------------------------------------------------


def test_the_account_home_lists_open_campaigns_with_each_organisations_status(
    signatory_client, signatory, campaign, organization
):
    second = OrganizationFactory(name="Alder Street Outreach", slug="alder")
    AffiliationFactory(organization=second, contact=signatory, role=Affiliation.Role.SIGNATORY)
    CampaignFactory(title="Closed petition", slug="closed", status=Campaign.Status.CLOSED)
    CampaignFactory(title="Draft pledge", slug="draft", status=Campaign.Status.DRAFT)
    sign(signatory_client, campaign, second)

    page = signatory_client.get(reverse("account:home")).content.decode()

    assert "Campaigns to sign" in page
    assert "Facts, not fiction" in page
    assert "Closed petition" not in page and "Draft pledge" not in page
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</th>\s*<td>(.*?)</td>", page)
    today = timezone.localdate()
    assert rows == [
        ("Alder Street Outreach", f"Signed on {today:%B} {today.day}, {today:%Y} by Sade Mbeki"),
        ("Harbor Light Shelter", "Not signed yet"),
    ]
    assert f'href="{sign_url(campaign, organization)}"' in page
    assert "does not edit any member organisation" not in page
    # A signatory edits nothing: the editor's links are not offered.
    assert reverse("account:organization", args=[organization.slug]) not in page


def test_a_signatory_cannot_reach_the_editors_pages(signatory_client, organization):
    for name in ("account:organization", "account:contacts"):
        assert signatory_client.get(reverse(name, args=[organization.slug])).status_code == 404


def test_without_open_campaigns_the_home_says_so(signatory_client, organization):
    page = signatory_client.get(reverse("account:home")).content.decode()
    assert "No campaign is open for signatures at the moment." in page


def _home_queries(client, django_assert_num_queries, expected):
    with django_assert_num_queries(expected):
        response = client.get(reverse("account:home"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("organizations, campaigns", [(3, 1), (30, 3)])
def test_the_account_home_makes_the_same_queries_however_many_rows(
    signatory_client, signatory, django_assert_num_queries, organizations, campaigns
):
    members = [
        AffiliationFactory(contact=signatory, role=Affiliation.Role.SIGNATORY).organization
        for _ in range(organizations)
    ]
    AffiliationFactory(contact=signatory, organization=members[0], role=Affiliation.Role.EDITOR)
    for n in range(campaigns):
        campaign = CampaignFactory(slug=f"open-{n}")
        for member in members[::2]:
            sign(signatory_client, campaign, member)

    # session, user, contact, organisations edited, organisations signed for, open campaigns,
    # their sign-ons
    page = _home_queries(signatory_client, django_assert_num_queries, 7)

    signed = len(members[::2])
    assert page.count("Signed on ") == campaigns * signed
    # The fixture's organisation is one of theirs too, never signed here.
    assert page.count("Not signed yet") == campaigns * (organizations + 1 - signed)


def test_the_sign_page_makes_a_fixed_number_of_queries(
    signatory_client, campaign, organization, django_assert_num_queries
):
    sign(signatory_client, campaign, organization, message="Hello")
    # session, user, contact, organisation, campaign, its sign-on
    with django_assert_num_queries(6):
        assert signatory_client.get(sign_url(campaign, organization)).status_code == 200


# --- Signing in --------------------------------------------------------------------------------


def test_a_signatory_asks_for_a_sign_in_link_and_lands_on_the_campaigns(
    client, signatory, campaign, organization, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("account:sign_in"),
            {"form": "link", "link-email": "SADE@harbor.example.org"},
            follow=True,
        )
    assert any("we have e-mailed a sign-in link" in m for m in messages_of(response))
    assert len(callbacks) == 1

    signatory.refresh_from_db()
    assert signatory.user is not None and not signatory.user.is_staff
    assert send_sign_in_link(signatory.pk) is True
    message = mailoutbox[0]
    assert message.to == ["sade@harbor.example.org"]
    assert "Harbor Light Shelter" in message.body
    link = re.search(r"https://crm\.example\.org(/account/login/\?sesame=[\w-]+)", message.body)
    assert link, message.body

    home = client.get(link.group(1), follow=True)

    assert home.redirect_chain[-1][0] == reverse("account:home")
    assert home.wsgi_request.user == signatory.user
    page = home.content.decode()
    assert "Campaigns to sign" in page
    assert "Sign on behalf of Harbor Light Shelter" in page
    assert sign(client, campaign, organization).status_code == 302
    assert sign_ons(campaign).get().contact == signatory


def test_a_sign_in_link_is_not_sent_once_the_signatory_role_is_gone(signatory, mailoutbox):
    accounts.sign_in_link_send(contact=signatory)
    Affiliation.objects.filter(contact=signatory).delete()

    assert send_sign_in_link(signatory.pk) is False
    assert mailoutbox == []


def test_staff_who_are_neither_editors_nor_signatories_get_no_account(
    client, organization, mailoutbox, django_capture_on_commit_callbacks
):
    AffiliationFactory(
        organization=organization, role=Affiliation.Role.STAFF, contact__email="st@example.org"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account:sign_in"), {"form": "link", "link-email": "st@example.org"})

    assert not get_user_model().objects.filter(username="st@example.org").exists()
    assert mailoutbox == []


def test_the_sign_on_root_leads_to_the_campaigns_on_the_account_home(signatory_client):
    response = signatory_client.get("/account/campaigns/")
    assert response.status_code == 302
    assert response["Location"] == "/account/#campaigns-to-sign"
