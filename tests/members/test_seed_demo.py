"""The demo coalition that `make run` loads."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max
from django.utils import timezone

from campaigns.models import Campaign, CampaignResource, Signature
from campaigns.selectors import signature_counted_q
from crm.roles import CONVENERS
from members import accounts
from members.models import Affiliation, Contact, Interaction, Organization, Sector

pytestmark = pytest.mark.django_db

SEVEN_SECTORS = [
    "Public",
    "Private",
    "Multi-faith",
    "Education",
    "Advocacy",
    "Nonprofit",
    "Philanthropic",
]


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def campaign(seeded):
    return Campaign.objects.get(slug="awareness-month")


def test_demo_has_220_plus_members_spread_over_the_seven_sectors(seeded):
    assert list(Sector.objects.values_list("name", flat=True)) == SEVEN_SECTORS
    assert Organization.objects.count() >= 220
    per_sector = Sector.objects.annotate(n=Count("organizations"))
    assert all(sector.n >= 25 for sector in per_sector)
    statuses = set(Organization.objects.values_list("status", flat=True))
    assert {"active", "lapsed", "prospect"} <= statuses


def test_every_demo_member_has_a_primary_contact_with_a_unique_email(seeded):
    with_primary = Organization.objects.filter(affiliations__role=Affiliation.Role.PRIMARY)
    assert with_primary.distinct().count() == Organization.objects.count()
    emails = list(Contact.objects.values_list("email", flat=True))
    assert len(emails) == len(set(emails))
    assert all(email == email.lower() and "@" in email for email in emails)


def test_demo_awareness_month_statement_is_open_with_a_few_hundred_signatures(seeded):
    campaign = Campaign.objects.get(slug="awareness-month")
    assert campaign.status == Campaign.Status.OPEN
    assert timezone.localtime(campaign.closes_at).month == 1  # the end of January
    total = campaign.signatures.count()
    assert 200 <= total <= 500
    counted = campaign.signatures.filter(signature_counted_q()).count()
    assert campaign.signature_count == counted
    assert campaign.signatures.filter(organization__isnull=False).exists()


def test_running_seed_demo_twice_changes_nothing(seeded, settings):
    def snapshot():
        return [
            (model.__name__, model.objects.count(), model.objects.aggregate(m=Max("modified")))
            for model in (Sector, Organization, Contact, Affiliation, Campaign, Signature)
        ]

    def signatures():
        return list(
            Signature.objects.order_by("pk").values_list(
                "pk", "contact_id", "on_behalf_of_id", "share_code", "referred_by_id", "flagged"
            )
        )

    before = (
        snapshot(),
        signatures(),
        Interaction.objects.count(),
        CampaignResource.objects.count(),
    )
    call_command("seed_demo", stdout=io.StringIO())
    after = (
        snapshot(),
        signatures(),
        Interaction.objects.count(),
        CampaignResource.objects.count(),
    )
    assert after == before


def test_demo_convener_signs_in_to_the_admin_and_sees_the_coalition(seeded, client):
    assert client.login(username="convener", password="awareness-month-demo")

    response = client.get("/admin/members/organization/")

    assert response.status_code == 200
    count = Organization.objects.count()
    assert f"{count} organizations" in response.content.decode()


def test_the_demo_convener_is_staff_in_the_conveners_group_not_a_superuser(seeded):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="convener")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [CONVENERS]
    assert user.has_perm("django_celery_beat.change_periodictask")
    assert user.has_perm("members.change_organization")


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        call_command("seed_demo")
    assert Organization.objects.count() == 0


# --- The Awareness Month campaign ---------------------------------------------------------------


def test_the_demo_campaign_asks_what_the_reference_page_asks(campaign):
    assert campaign.affiliation_field == Campaign.FieldRule.OPTIONAL
    assert campaign.phone_field == Campaign.FieldRule.REQUIRED
    assert campaign.message_field == Campaign.FieldRule.REQUIRED
    assert not campaign.moderate_messages


def test_the_demo_campaign_links_credible_sources(campaign):
    resources = list(campaign.resources.all())
    assert 3 <= len(resources) <= 4
    assert all(r.title and r.description and r.url.startswith("https://") for r in resources)
    hosts = {r.url.split("/")[2] for r in resources}
    assert {"polarisproject.org", "www.state.gov", "www.dhs.gov"} <= hosts


def test_an_older_demo_campaign_gets_the_rules_and_resources_once(settings):
    settings.DEBUG = True
    old = Campaign.objects.create(
        title="Facts, not fiction", slug="awareness-month", statement="x", status="open"
    )
    call_command("seed_demo", stdout=io.StringIO())
    old.refresh_from_db()
    assert old.phone_field == Campaign.FieldRule.REQUIRED
    assert old.resources.count() == 4

    # A convener's later edits stay: the demo fills only a campaign without resources.
    old.resources.exclude(pk=old.resources.first().pk).delete()
    Campaign.objects.filter(pk=old.pk).update(phone_field=Campaign.FieldRule.OPTIONAL)
    call_command("seed_demo", stdout=io.StringIO())
    old.refresh_from_db()
    assert old.phone_field == Campaign.FieldRule.OPTIONAL
    assert old.resources.count() == 1


def test_about_55_percent_of_active_members_signed_on_unevenly_by_sector(campaign):
    sign_ons = campaign.signatures.filter(on_behalf_of__isnull=False)
    active = Organization.objects.filter(status=Organization.Status.ACTIVE)
    assert 0.5 <= sign_ons.count() / active.count() <= 0.6
    assert not sign_ons.exclude(on_behalf_of__status=Organization.Status.ACTIVE).exists()
    shares = []
    for sector in Sector.objects.all():
        members = active.filter(sector=sector).count()
        shares.append(sign_ons.filter(on_behalf_of__sector=sector).count() / members)
    assert max(shares) - min(shares) >= 0.3  # some sectors lag: the "not signed" list matters
    for signature in sign_ons.select_related("contact", "on_behalf_of"):
        assert signature.organization_id == signature.on_behalf_of_id
        assert signature.affiliation == signature.on_behalf_of.name
        assert signature.confirmed_at is not None and signature.show_publicly
        assert Affiliation.objects.filter(
            contact=signature.contact,
            organization=signature.on_behalf_of,
            role=Affiliation.Role.SIGNATORY,
        ).exists()
    # Each sign-on is on its organisation's timeline.
    assert (
        Interaction.objects.filter(
            organization__in=sign_ons.values("on_behalf_of"), subject__startswith="Signed"
        ).count()
        == sign_ons.count()
    )


def test_member_staff_sign_personally_matched_to_their_organisation(campaign):
    staff = campaign.signatures.filter(on_behalf_of__isnull=True, organization__isnull=False)
    assert staff.count() >= 60
    for signature in staff.select_related("contact")[:50]:
        assert Affiliation.objects.filter(
            contact=signature.contact, organization=signature.organization
        ).exists()
    # Some signatories signed both for their organisation and for themselves.
    both = campaign.signatures.filter(on_behalf_of__isnull=True).filter(
        contact__in=campaign.signatures.filter(on_behalf_of__isnull=False).values("contact")
    )
    assert both.exists()


def test_every_demo_signature_has_a_share_code_and_an_email_domain(campaign):
    signatures = campaign.signatures.all()
    assert not signatures.filter(share_code__isnull=True).exists()
    assert not signatures.filter(email_domain="").exists()
    codes = list(signatures.values_list("share_code", flat=True))
    assert len(codes) == len(set(codes))
    for signature in signatures[:40]:
        assert signature.email_domain == signature.canonical_email.rpartition("@")[2]


def test_about_40_signatures_were_referred_by_a_few_member_organisations(campaign):
    referred = campaign.signatures.filter(referred_by__isnull=False)
    assert referred.count() == 40
    per_referrer = sorted(
        referred.values("referred_by").annotate(n=Count("id")).values_list("n", flat=True),
        reverse=True,
    )
    assert 3 <= len(per_referrer) <= 9
    assert per_referrer[0] > per_referrer[-1]  # a leaderboard with a leader
    assert not referred.filter(flagged=True).exists()
    # A link's code is the referring organisation's sign-on share code; embedded forms carry none.
    for signature in referred.select_related("referred_by"):
        if signature.source == Signature.Source.EMBED:
            assert signature.referral_code == ""
        else:
            assert Signature.objects.get(share_code=signature.referral_code).on_behalf_of == (
                signature.referred_by
            )


def test_six_flagged_signatures_from_one_burst_await_review(campaign):
    flagged = campaign.signatures.filter(flagged=True)
    assert flagged.count() == 6
    assert set(flagged.values_list("ip_address", flat=True)) == {"203.0.113.66"}
    assert len(set(flagged.values_list("email_domain", flat=True))) == 1
    assert set(flagged.values_list("flag_reason", flat=True)) == {
        "over 200 signatures an hour from this IP"
    }
    assert not flagged.filter(invalidated_at__isnull=False).exists()
    times = sorted(flagged.values_list("created", flat=True))
    assert (times[-1] - times[0]).total_seconds() < 3600


def test_four_misspelled_affiliations_await_a_conveners_confirmation(campaign):
    from campaigns.matching import MATCH_CERTAIN, MATCH_SUGGEST, organization_match

    suggested = campaign.signatures.filter(organization_suggestion__isnull=False)
    assert suggested.count() == 4
    for signature in suggested.select_related("organization_suggestion"):
        assert signature.organization_id is None
        assert signature.affiliation != signature.organization_suggestion.name
        assert MATCH_SUGGEST <= signature.organization_match_score < MATCH_CERTAIN
        # The real matcher would have queued the same question.
        assert organization_match(signature.affiliation)[1] == signature.organization_suggestion


def test_messages_show_varied_review_states(campaign):
    statuses = set(campaign.signatures.exclude(message="").values_list("message_status", flat=True))
    assert statuses == {"pending", "approved", "hidden"}
    individuals = campaign.signatures.filter(on_behalf_of__isnull=True)
    assert not individuals.filter(message="").exists()  # the campaign requires a message
    assert not individuals.filter(phone="").exists()  # and a phone


def test_the_output_names_a_signatory_whose_organisation_has_not_signed(
    seeded, campaign, mailoutbox
):
    email = re.search(r"has not signed yet: (\S+@\S+) \(", seeded).group(1)
    contact = Contact.objects.get(email=email)
    affiliation = Affiliation.objects.get(contact=contact, role=Affiliation.Role.SIGNATORY)
    assert affiliation.organization.status == Organization.Status.ACTIVE
    assert not campaign.signatures.filter(on_behalf_of=affiliation.organization).exists()

    accounts.sign_in_link_send(contact=contact)
    contact.refresh_from_db()
    assert accounts.sign_in_link_email(contact=contact) is True
    assert mailoutbox[0].to == [email]
