"""The conveners' campaign tracking pages: who may see them, that every figure matches the
database, that review actions change the rows, the CSV exports, and fixed query counts."""

import csv
import datetime
import io
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, Signature
from campaigns.tracking import organizations_not_signed
from members.models import Affiliation, Contact, Organization, Sector
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")

# Session, user and Conveners group (3); the campaign (1); signatures by day (1); sectors,
# signatures by sector, members signed by sector, staff signatures by sector (4); members not
# signed (1); referral leaderboard (1); flagged: count and page (2); trending IPs and domains
# (2); suggestions: count and page (2); messages: count and page, and how many await review (3).
TRACKING_QUERIES = 20
# Session, user and Conveners group (3); the campaigns with their queues (1).
LIST_QUERIES = 4
# Session, user and Conveners group (3); the campaign (1); the rows (1).
CSV_QUERIES = 5
# The same, and whether the sector asked for exists (1).
NOT_SIGNED_CSV_QUERIES = 6


def sector(slug: str) -> Sector:
    return Sector.objects.get(slug=slug)


def member(name: str, sector_slug: str = "public", **fields) -> Organization:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return OrganizationFactory(name=name, slug=slug, sector=sector(sector_slug), **fields)


def sign_on(campaign, organization, **fields) -> Signature:
    """The organisation's own signature, given by a signatory."""
    contact = ContactFactory()
    values = {
        "campaign": campaign,
        "contact": contact,
        "on_behalf_of": organization,
        "organization": organization,
        "affiliation": organization.name,
        **fields,
    }
    return SignatureFactory(**values)


def page_of(client, campaign, query: str = "") -> str:
    response = client.get(f"/dashboard/campaigns/{campaign.slug}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The text of each row of the table with this id, as lists of cell texts."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", "", cell)).split()) for cell in cells])
    return rows


def section(page: str, heading_id: str) -> str:
    pattern = rf'<section aria-labelledby="{heading_id}"[^>]*>(.*?)</section>'
    return re.search(pattern, page, re.S).group(1)


def visible_text(html: str) -> str:
    html = re.sub(r'<span class="visually-hidden">.*?</span>', "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def messages_shown(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


# --- Who may see it -----------------------------------------------------------------------------

GET_PAGES = ["", "{slug}/", "{slug}/signatures.csv", "{slug}/members-not-signed.csv"]
POST_PAGES = ["{slug}/flagged/", "{slug}/messages/", "{slug}/suggestions/{signature}/"]


@pytest.fixture
def tracked():
    campaign = CampaignFactory(slug="awareness")
    signature = SignatureFactory(campaign=campaign, organization_suggestion=member("Safe Harbor"))
    return campaign, signature


def _urls(pages, campaign, signature):
    return [
        "/dashboard/campaigns/" + page.format(slug=campaign.slug, signature=signature.pk)
        for page in pages
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, tracked):
    for url in _urls(GET_PAGES, *tracked):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next=/dashboard/campaigns/")
    for url in _urls(POST_PAGES, *tracked):
        response = client.post(url, {"action": "invalidate", "signature": [tracked[1].pk]})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/")
    assert Signature.objects.get(pk=tracked[1].pk).organization_suggestion is not None


def test_staff_who_are_not_conveners_and_member_editors_are_refused(client, tracked):
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    editor = get_user_model().objects.create_user("editor@example.org")
    AffiliationFactory(
        contact=ContactFactory(user=editor, email="editor@example.org"),
        organization=Organization.objects.get(slug="safe-harbor"),
        role=Affiliation.Role.EDITOR,
    )
    for user in (clerk, editor):
        client.force_login(user)
        for url in _urls(GET_PAGES, *tracked):
            assert client.get(url).status_code == 403, (user, url)
        for url in _urls(POST_PAGES, *tracked):
            response = client.post(
                url, {"action": "invalidate", "decision": "accept", "signature": [tracked[1].pk]}
            )
            assert response.status_code == 403, (user, url)
    signature = Signature.objects.get(pk=tracked[1].pk)
    assert signature.organization_suggestion is not None
    assert signature.invalidated_at is None


def test_conveners_and_superusers_see_the_pages(client, convener, tracked):
    campaign, _ = tracked
    for user in (
        convener,
        get_user_model().objects.create_superuser("root", "root@example.org", "x"),
    ):
        client.force_login(user)
        for url in _urls(GET_PAGES, *tracked):
            assert client.get(url).status_code == 200, url
        assert f"<h1>{campaign.title}</h1>" in page_of(client, campaign)


def test_pages_are_never_cached(convener_client, tracked):
    for url in _urls(GET_PAGES, *tracked):
        response = convener_client.get(url)
        assert "no-cache" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_unknown_campaigns_and_signatures_are_not_found(convener_client, tracked):
    campaign, signature = tracked
    assert convener_client.get("/dashboard/campaigns/no-such-campaign/").status_code == 404
    other = CampaignFactory()
    url = f"/dashboard/campaigns/{other.slug}/suggestions/{signature.pk}/"
    assert convener_client.post(url, {"decision": "accept"}).status_code == 404
    url = f"/dashboard/campaigns/{campaign.slug}/suggestions/{10**30}/"
    assert convener_client.post(url, {"decision": "accept"}).status_code == 404
    assert Signature.objects.get(pk=signature.pk).organization_id is None


def test_review_actions_need_the_csrf_token(convener, tracked):
    campaign, signature = tracked
    Signature.objects.filter(pk=signature.pk).update(flagged=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(convener)

    response = client.post(
        f"/dashboard/campaigns/{campaign.slug}/flagged/",
        {"action": "invalidate", "signature": [signature.pk]},
    )

    assert response.status_code == 403
    assert Signature.objects.get(pk=signature.pk).invalidated_at is None


# --- The list of campaigns ----------------------------------------------------------------------


def test_the_list_shows_each_campaign_with_its_queues(convener_client):
    open_campaign = CampaignFactory(
        title="Awareness Month", signature_goal=1000, moderate_messages=True
    )
    Campaign.objects.filter(pk=open_campaign.pk).update(signature_count=321)
    closed = CampaignFactory(title="Old Pledge", status=Campaign.Status.CLOSED, signature_goal=0)
    SignatureFactory.create_batch(2, campaign=open_campaign, flagged=True)
    SignatureFactory(campaign=open_campaign, flagged=True, invalidated_at=timezone.now())
    SignatureFactory(campaign=open_campaign, organization_suggestion=member("Safe Harbor"))
    SignatureFactory.create_batch(3, campaign=open_campaign, message="Facts first")
    SignatureFactory(campaign=open_campaign, message="Approved", message_status="approved")
    SignatureFactory(campaign=open_campaign, message="Unconfirmed", confirmed_at=None)
    SignatureFactory(campaign=closed, flagged=True)

    response = convener_client.get("/dashboard/campaigns/")

    rows = table_rows(response.content.decode(), "campaigns-table")
    assert rows[1:] == [
        ["Awareness Month", "Open for signatures", "321", "1,000", "2", "1", "3"],
        ["Old Pledge", "Closed", "0", "None set", "1", "0", "Not moderated"],
    ]
    assert f'href="/dashboard/campaigns/{open_campaign.slug}/"' in response.content.decode()


# --- Signatures over time -----------------------------------------------------------------------


def test_the_chart_and_its_table_count_confirmed_signatures_per_local_day(convener_client):
    campaign = CampaignFactory(status=Campaign.Status.CLOSED)
    day_1 = datetime.datetime(2025, 1, 6, 10, tzinfo=NEW_YORK)
    for hour in (0, 5, 13):  # 13:00 on day 1 is still 6 January in New York
        SignatureFactory(campaign=campaign, confirmed_at=day_1 + datetime.timedelta(hours=hour))
    day_3 = datetime.datetime(2025, 1, 8, 9, tzinfo=NEW_YORK)
    SignatureFactory.create_batch(2, campaign=campaign, confirmed_at=day_3)
    SignatureFactory(campaign=campaign, confirmed_at=day_3, flagged=True)  # not counted
    SignatureFactory(campaign=campaign, confirmed_at=None)  # not counted

    page = page_of(convener_client, campaign)

    assert table_rows(page, "over-time-table")[1:] == [
        ["6 Jan 2025", "3", "3"],
        ["7 Jan 2025", "0", "3"],
        ["8 Jan 2025", "2", "5"],
    ]
    chart = section(page, "over-time-heading")
    assert "Confirmed signatures by day" in chart
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"><title>(.*?)</title>', chart)
    assert [title for _, title in bars] == [
        "6 January 2025: 3 signatures",
        "7 January 2025: 0 signatures",
        "8 January 2025: 2 signatures",
    ]
    # Heights follow the figures: 3 is to 2 as the first bar is to the third.
    heights = [float(height) for height, _ in bars]
    assert heights[1] == 0
    assert heights[0] / heights[2] == pytest.approx(3 / 2)
    assert 'aria-describedby="over-time-table"' in chart
    assert "<script" not in page


def test_a_signature_confirmed_late_in_the_evening_counts_on_that_local_day(convener_client):
    campaign = CampaignFactory(status=Campaign.Status.CLOSED)
    # 03:30 UTC on 11 January is 22:30 on 10 January in New York, the site's time zone.
    SignatureFactory(
        campaign=campaign, confirmed_at=datetime.datetime(2025, 1, 11, 3, 30, tzinfo=datetime.UTC)
    )

    assert table_rows(page_of(convener_client, campaign), "over-time-table")[1:] == [
        ["10 Jan 2025", "1", "1"]
    ]


def test_an_open_campaign_charts_up_to_today(convener_client):
    campaign = CampaignFactory()
    two_days_ago = timezone.localtime() - datetime.timedelta(days=2)
    SignatureFactory(campaign=campaign, confirmed_at=two_days_ago)

    rows = table_rows(page_of(convener_client, campaign), "over-time-table")[1:]

    assert [row[1] for row in rows] == ["1", "0", "0"]
    assert rows[-1][0] == f"{timezone.localdate().day} {timezone.localdate():%b %Y}"


def test_a_campaign_spanning_more_than_60_days_is_charted_by_week(convener_client):
    campaign = CampaignFactory(status=Campaign.Status.CLOSED)
    SignatureFactory(
        campaign=campaign, confirmed_at=datetime.datetime(2025, 1, 1, 12, tzinfo=NEW_YORK)
    )
    SignatureFactory.create_batch(
        2, campaign=campaign, confirmed_at=datetime.datetime(2025, 1, 5, 12, tzinfo=NEW_YORK)
    )
    SignatureFactory(
        campaign=campaign, confirmed_at=datetime.datetime(2025, 3, 15, 12, tzinfo=NEW_YORK)
    )

    page = page_of(convener_client, campaign)

    assert "Confirmed signatures by week" in page
    rows = table_rows(page, "over-time-table")[1:]
    assert rows[0] == ["Week of 30 Dec 2024", "3", "3"]  # Wednesday 1 and Sunday 5 January
    assert rows[-1] == ["Week of 10 Mar 2025", "1", "4"]
    assert len(rows) == 11
    assert len(re.findall(r'<rect class="bar"', page)) == 11


def test_a_campaign_spanning_years_is_charted_by_month(convener_client):
    campaign = CampaignFactory(status=Campaign.Status.CLOSED)
    for day in (datetime.date(2022, 1, 15), datetime.date(2022, 1, 31), datetime.date(2024, 3, 1)):
        SignatureFactory(
            campaign=campaign,
            confirmed_at=datetime.datetime(day.year, day.month, day.day, 12, tzinfo=NEW_YORK),
        )

    rows = table_rows(page_of(convener_client, campaign), "over-time-table")[1:]

    assert len(rows) == 27
    assert rows[0] == ["January 2022", "2", "2"]
    assert rows[-1] == ["March 2024", "1", "3"]


def test_a_campaign_without_confirmed_signatures_says_so(convener_client):
    campaign = CampaignFactory()
    SignatureFactory(campaign=campaign, confirmed_at=None)

    chart = section(page_of(convener_client, campaign), "over-time-heading")

    assert "No confirmed signatures yet." in chart
    assert "<svg" not in chart


# --- By sector; members signed and not signed ---------------------------------------------------


@pytest.fixture
def members_world():
    """Public: Signed Agency (signed), Staff Only Shelter (staff signed, the organisation did
    not), Pending Office (unconfirmed sign-on); Education: Flagged College (flagged sign-on),
    Quiet School (nothing); a lapsed member that signed; signatures not matched to anyone."""
    campaign = CampaignFactory(slug="awareness")
    signed = member("Signed Agency", "public")
    staff_only = member("Staff Only Shelter", "public")
    pending = member("Pending Office", "public")
    flagged = member("Flagged College", "education")
    quiet = member("Quiet School", "education")
    lapsed = member("Lapsed Trust", "philanthropic", status=Organization.Status.LAPSED)
    AffiliationFactory(
        organization=staff_only,
        contact__given_name="Sam",
        contact__family_name="Shelter",
        role=Affiliation.Role.PRIMARY,
    )
    AffiliationFactory(
        organization=quiet,
        contact__given_name="Quinn",
        contact__family_name="Quiet",
        contact__email="quinn@quiet.example.org",
        role=Affiliation.Role.PRIMARY,
    )
    sign_on(campaign, signed)
    sign_on(campaign, pending, confirmed_at=None)
    sign_on(campaign, flagged, flagged=True)
    sign_on(campaign, lapsed)
    SignatureFactory.create_batch(2, campaign=campaign, organization=staff_only)
    SignatureFactory(campaign=campaign, organization=staff_only, confirmed_at=None)
    SignatureFactory(campaign=campaign, organization=signed)
    SignatureFactory.create_batch(3, campaign=campaign)  # not matched to a member
    # Another campaign's sign-on does not count for this one.
    sign_on(CampaignFactory(), quiet)
    return campaign


def test_signatures_by_sector_count_matched_and_unmatched_signatures(
    convener_client, members_world
):
    rows = table_rows(page_of(convener_client, members_world), "by-sector-table")

    assert dict(rows[1:]) == {
        "Public": "4",  # Signed Agency's sign-on and staff signature, two of Staff Only Shelter
        "Private": "0",
        "Multi-faith": "0",
        "Education": "0",
        "Advocacy": "0",
        "Nonprofit": "0",
        "Philanthropic": "1",
        "Not matched to a member": "3",
        "All": "8",
    }


def test_members_signed_and_not_signed_by_sector(convener_client, members_world):
    page = page_of(convener_client, members_world)

    rows = {row[0]: row[1:] for row in table_rows(page, "members-table")[1:]}
    # Active members, signed, not signed, staff signatures.
    assert rows["Public"] == ["3", "1", "2", "3"]
    assert rows["Education"] == ["2", "0", "2", "0"]
    assert rows["Philanthropic"] == ["0", "0", "0", "0"]  # lapsed members are not counted
    assert rows["All"] == ["5", "1", "4", "3"]

    not_signed = visible_text(section(page, "members-heading").split('id="not-signed-heading"')[1])
    assert "Members that have not signed (4)" in not_signed
    assert "Public (2) Pending Office — no primary contact" in not_signed
    assert "Staff Only Shelter — Sam Shelter; 2 staff signatures" in not_signed
    assert "Education (2) Flagged College — no primary contact Quiet School — Quinn Quiet" in (
        not_signed
    )
    assert "Signed Agency" not in not_signed
    assert "Lapsed Trust" not in not_signed


def test_organizations_not_signed_is_a_queryset_for_the_reminders(members_world):
    names = lambda organizations: [organization.name for organization in organizations]  # noqa: E731

    assert names(organizations_not_signed(members_world)) == [
        "Pending Office",
        "Staff Only Shelter",
        "Flagged College",
        "Quiet School",
    ]
    assert names(organizations_not_signed(members_world, "education")) == [
        "Flagged College",
        "Quiet School",
    ]
    assert names(organizations_not_signed(members_world, sector("public"))) == [
        "Pending Office",
        "Staff Only Shelter",
    ]
    assert organizations_not_signed(members_world).model is Organization


def test_the_list_of_members_not_signed_filters_by_sector(convener_client, members_world):
    page = page_of(convener_client, members_world, "?sector=education")

    listed = visible_text(section(page, "members-heading").split('id="not-signed-heading"')[1])
    assert "Members that have not signed: Education (2)" in listed
    assert "Quiet School" in listed
    assert "Staff Only Shelter" not in listed
    assert '<option value="education" selected>' in page

    page = page_of(convener_client, members_world, "?sector=%3Cscript%3E")
    listed = visible_text(section(page, "members-heading").split('id="not-signed-heading"')[1])
    assert "There is no such sector; showing every sector." in listed
    assert "Members that have not signed (4)" in listed
    assert "<script>" not in page


def test_members_not_signed_csv_has_contacts_and_follows_the_sector(convener_client, members_world):
    response = convener_client.get("/dashboard/campaigns/awareness/members-not-signed.csv")

    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == (
        f'attachment; filename="awareness-members-not-signed-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    assert csv_rows(response) == [
        ["organisation", "sector", "primary contact", "primary contact e-mail"],
        ["Pending Office", "Public", "", ""],
        [
            "Staff Only Shelter",
            "Public",
            "Sam Shelter",
            Contact.objects.get(given_name="Sam").email,
        ],
        ["Flagged College", "Education", "", ""],
        ["Quiet School", "Education", "Quinn Quiet", "quinn@quiet.example.org"],
    ]
    response = convener_client.get(
        "/dashboard/campaigns/awareness/members-not-signed.csv?sector=education"
    )
    assert [row[0] for row in csv_rows(response)[1:]] == ["Flagged College", "Quiet School"]


# --- Referrals ----------------------------------------------------------------------------------


def test_the_referral_leaderboard_ranks_members_by_counted_signatures(convener_client):
    campaign = CampaignFactory()
    few = member("Few Referrals", "advocacy")
    most = member("Most Referrals", "private")
    some = member("Some Referrals", "education")
    SignatureFactory.create_batch(3, campaign=campaign, referred_by=some)
    SignatureFactory.create_batch(5, campaign=campaign, referred_by=most)
    SignatureFactory(campaign=campaign, referred_by=few)
    SignatureFactory.create_batch(4, campaign=campaign, referred_by=few, confirmed_at=None)
    SignatureFactory.create_batch(4, campaign=campaign, referred_by=few, flagged=True)
    SignatureFactory.create_batch(9, campaign=CampaignFactory(), referred_by=few)

    rows = table_rows(page_of(convener_client, campaign), "leaderboard-table")

    assert rows[1:] == [
        ["1", "Most Referrals", "Private", "5"],
        ["2", "Some Referrals", "Education", "3"],
        ["3", "Few Referrals", "Advocacy", "1"],
    ]


def test_the_leaderboard_shows_the_top_20(convener_client):
    campaign = CampaignFactory()
    for n in range(22):
        SignatureFactory.create_batch(
            n + 1, campaign=campaign, referred_by=member(f"Referrer {n:02d}")
        )

    rows = table_rows(page_of(convener_client, campaign), "leaderboard-table")[1:]

    assert len(rows) == 20
    assert rows[0] == ["1", "Referrer 21", "Public", "22"]
    assert rows[-1] == ["20", "Referrer 02", "Public", "3"]


# --- Flagged signatures -------------------------------------------------------------------------


def flagged_signatures(campaign, count=3):
    return [
        SignatureFactory(
            campaign=campaign,
            name=f"Flagged {n}",
            flagged=True,
            flag_reason="over 200 signatures an hour from this IP",
            ip_address=f"198.51.100.{n + 1}",
            email_domain="bulk.example.org",
        )
        for n in range(count)
    ]


def test_flagged_signatures_are_listed_for_review(convener_client):
    campaign = CampaignFactory()
    first, second, third = flagged_signatures(campaign)
    SignatureFactory(
        campaign=campaign, name="Judged Abusive", flagged=True, invalidated_at=timezone.now()
    )
    SignatureFactory(campaign=campaign, name="Ordinary Signer")

    page = page_of(convener_client, campaign)

    assert "Flagged signatures awaiting review (3)" in page
    rows = table_rows(page, "flagged-table")[1:]
    assert [row[1] for row in rows] == ["Flagged 2", "Flagged 1", "Flagged 0"]
    assert rows[2][2:6] == [
        first.email,
        "198.51.100.1",
        "bulk.example.org",
        "over 200 signatures an hour from this IP",
    ]
    assert (
        f'<input type="checkbox" name="signature" value="{third.pk}" id="flagged-{third.pk}">'
        in (page)
    )
    assert (
        f'<label class="visually-hidden" for="flagged-{third.pk}">Select Flagged 2</label>' in page
    )
    assert "Judged Abusive" not in page
    assert 'name="csrfmiddlewaretoken"' in section(page, "flagged-heading")


def test_invalidating_selected_signatures(convener_client):
    campaign = CampaignFactory()
    first, second, third = flagged_signatures(campaign)

    response = convener_client.post(
        f"/dashboard/campaigns/{campaign.slug}/flagged/",
        {
            "action": "invalidate",
            "signature": [first.pk, second.pk],
            "page_query": "flagged_page=1",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == (
        f"/dashboard/campaigns/{campaign.slug}/?flagged_page=1#flagged-heading"
    )
    assert messages_shown(response) == ["Invalidated 2 signatures; they are no longer counted."]
    assert set(
        Signature.objects.filter(invalidated_at__isnull=False).values_list("pk", flat=True)
    ) == {first.pk, second.pk}
    page = response.content.decode()
    assert "Flagged signatures awaiting review (1)" in page
    assert [row[1] for row in table_rows(page, "flagged-table")[1:]] == ["Flagged 2"]
    list_rows = table_rows(
        convener_client.get("/dashboard/campaigns/").content.decode(), "campaigns-table"
    )
    assert list_rows[1][4] == "1"


def test_accepting_selected_signatures_as_genuine(convener_client):
    campaign = CampaignFactory()
    first, second, third = flagged_signatures(campaign)

    response = convener_client.post(
        f"/dashboard/campaigns/{campaign.slug}/flagged/",
        {"action": "clear", "signature": [third.pk]},
        follow=True,
    )

    assert messages_shown(response) == [
        "Accepted 1 signature as genuine; they count again once confirmed."
    ]
    third.refresh_from_db()
    assert (third.flagged, third.flag_reason) == (False, "")
    page = response.content.decode()
    assert "Flagged signatures awaiting review (2)" in page
    # Now counted: the chart and the sector table include it.
    assert table_rows(page, "by-sector-table")[-1] == ["All", "1"]


def test_bulk_actions_refuse_nothing_ticked_and_forged_ids_without_an_error_page(convener_client):
    campaign = CampaignFactory()
    (flagged,) = flagged_signatures(campaign, count=1)
    other_campaign_signature = flagged_signatures(CampaignFactory(), count=1)[0]
    url = f"/dashboard/campaigns/{campaign.slug}/flagged/"

    response = convener_client.post(url, {"action": "invalidate"}, follow=True)
    assert messages_shown(response) == ["Tick at least one signature first."]

    response = convener_client.post(
        url, {"action": "invalidate", "signature": ["1; DROP TABLE", "9" * 40]}, follow=True
    )
    assert messages_shown(response) == [
        "The ticked signatures could not be read; reload the page and try again."
    ]

    response = convener_client.post(
        url, {"action": "delete-everything", "signature": [flagged.pk]}, follow=True
    )
    assert response.status_code == 200
    assert len(messages_shown(response)) == 1

    response = convener_client.post(
        url,
        {
            "action": "invalidate",
            "signature": [other_campaign_signature.pk],
            "page_query": "x" * 5000,
        },
        follow=True,
    )
    assert messages_shown(response) == ["Invalidated 0 signatures; they are no longer counted."]
    assert not Signature.objects.filter(invalidated_at__isnull=False).exists()
    assert convener_client.get(url).status_code == 405


def test_flagged_signatures_are_paginated_by_50(convener_client):
    campaign = CampaignFactory()
    flagged_signatures(campaign, count=51)

    page = page_of(convener_client, campaign)
    assert len(table_rows(page, "flagged-table")) == 51  # the header and 50 rows
    assert "Page 1 of 2" in page
    assert 'href="?flagged_page=2#flagged-heading"' in page

    page = page_of(convener_client, campaign, "?flagged_page=2&sector=public")
    assert [row[1] for row in table_rows(page, "flagged-table")[1:]] == ["Flagged 0"]
    assert 'value="flagged_page=2&amp;sector=public"' not in page  # kept in its own order
    assert 'value="sector=public&amp;flagged_page=2"' in page

    for odd in ("?flagged_page=-1", "?flagged_page=abc", f"?flagged_page={10**30}"):
        assert convener_client.get(f"/dashboard/campaigns/{campaign.slug}/{odd}").status_code == 200


# --- Trending sources ---------------------------------------------------------------------------


def test_trending_sources_of_the_last_24_hours(convener_client):
    campaign = CampaignFactory(rate_limit_per_ip=4, rate_limit_per_domain=100)
    now = timezone.now()
    for n in range(3):
        SignatureFactory(
            campaign=campaign,
            ip_address="203.0.113.7",
            email_domain="office.example.org",
            flagged=n == 0,
        )
    SignatureFactory(
        campaign=campaign,
        ip_address="203.0.113.8",
        email_domain="gmail.com",
        created=now - datetime.timedelta(hours=3),
    )
    SignatureFactory(
        campaign=campaign,
        ip_address="203.0.113.9",
        email_domain="old.example.org",
        created=now - datetime.timedelta(hours=25),
    )
    SignatureFactory.create_batch(
        5, campaign=CampaignFactory(), ip_address="203.0.113.99", email_domain="other.example.org"
    )

    page = page_of(convener_client, campaign)

    assert table_rows(page, "trending-ips-table")[1:] == [
        ["203.0.113.7 past half the hourly limit", "3", "3", "1"],
        ["203.0.113.8", "1", "0", "0"],
    ]
    assert table_rows(page, "trending-domains-table")[1:] == [
        ["office.example.org", "3", "3", "1"],
        ["gmail.com (public mail, not limited)", "1", "0", "0"],
    ]


def test_the_dashboard_warns_of_sources_past_half_an_hourly_limit(convener_client):
    busy = CampaignFactory(title="Busy Campaign", rate_limit_per_ip=5, rate_limit_per_domain=4)
    Campaign.objects.filter(pk=busy.pk).update(signature_count=42)
    SignatureFactory.create_batch(
        3, campaign=busy, ip_address="203.0.113.7", email_domain="office.example.org"
    )
    SignatureFactory.create_batch(
        2, campaign=busy, ip_address="203.0.113.8", email_domain="gmail.com"
    )
    SignatureFactory.create_batch(
        2, campaign=busy, ip_address="203.0.113.9", email_domain="yahoo.com"
    )
    closed = CampaignFactory(title="Closed Campaign", status=Campaign.Status.CLOSED)
    Campaign.objects.filter(pk=closed.pk).update(rate_limit_per_ip=1)
    SignatureFactory.create_batch(3, campaign=closed, ip_address="203.0.113.50")

    response = convener_client.get("/dashboard/")

    panel = visible_text(section(response.content.decode(), "campaigns-heading"))
    assert (
        "Busy Campaign: IP address 203.0.113.7, 3 signatures in the last hour (limit 5), "
        "3 in 24 hours, 0 flagged"
    ) in panel
    assert (
        "Busy Campaign: e-mail domain office.example.org, 3 signatures in the last hour (limit 4)"
    ) in panel
    assert "203.0.113.8" not in panel  # 2 is not more than half of 5
    assert "gmail.com" not in panel  # public mail providers are not limited
    assert "203.0.113.50" not in panel  # closed campaigns take no signatures
    assert "Busy Campaign Open for signatures; 42 signatures of 100" in panel
    assert f'href="/dashboard/campaigns/{busy.slug}/"' in response.content.decode()


# The dashboard's own queries (see tests/members/test_dashboard.py), and the campaigns panel:
# the campaigns with their queues (1) and the busy IP addresses and domains (2).
DASHBOARD_QUERIES = 18


@pytest.mark.parametrize("count", [3, 30])
def test_the_dashboard_panel_makes_the_same_queries_however_many_campaigns(
    convener_client, django_assert_num_queries, count
):
    for n in range(count):
        campaign = CampaignFactory(rate_limit_per_ip=2, rate_limit_per_domain=2)
        SignatureFactory.create_batch(
            2, campaign=campaign, ip_address=f"203.0.113.{n + 1}", email_domain=f"d{n}.example.org"
        )

    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = convener_client.get("/dashboard/")

    panel = section(response.content.decode(), "campaigns-heading")
    assert panel.count("in the last hour (limit 2)") == min(2 * count, 10)
    listed = re.findall(r'<li><a href="/dashboard/campaigns/campaign-\d+/">', panel)
    assert len(listed) == min(count, 10)
    assert ("All campaigns" in panel) == (count > 10)


def test_the_dashboard_has_no_warning_when_sources_are_quiet(convener_client):
    campaign = CampaignFactory(title="Quiet Campaign")
    SignatureFactory.create_batch(3, campaign=campaign, ip_address="203.0.113.7")

    panel = visible_text(
        section(convener_client.get("/dashboard/").content.decode(), "campaigns-heading")
    )

    assert "Busy sources" not in panel
    assert "Quiet Campaign" in panel


# --- Affiliations to confirm --------------------------------------------------------------------


def suggestion(campaign, name="Ann Lee", affiliation="Safe Harbour Atl", organization=None):
    organization = organization or member("Safe Harbor", "nonprofit")
    return SignatureFactory(
        campaign=campaign,
        name=name,
        affiliation=affiliation,
        organization_suggestion=organization,
        organization_match_score=78.4,
    )


def test_affiliations_awaiting_confirmation_are_listed(convener_client):
    campaign = CampaignFactory()
    suggestion(campaign)

    rows = table_rows(page_of(convener_client, campaign), "suggestions-table")

    assert rows[1][:4] == ["Ann Lee", "Safe Harbour Atl", "Safe Harbor (Nonprofit)", "78"]


def test_accepting_a_suggested_organisation(convener_client):
    campaign = CampaignFactory()
    signature = suggestion(campaign)

    response = convener_client.post(
        f"/dashboard/campaigns/{campaign.slug}/suggestions/{signature.pk}/",
        {"decision": "accept"},
        follow=True,
    )

    signature.refresh_from_db()
    assert signature.organization.name == "Safe Harbor"
    assert signature.organization_suggestion is None
    assert messages_shown(response) == ["Ann Lee is now counted with Safe Harbor."]
    page = response.content.decode()
    assert "No affiliation is waiting to be confirmed." in page
    assert dict(table_rows(page, "by-sector-table")[1:])["Nonprofit"] == "1"


def test_rejecting_a_suggested_organisation_and_deciding_twice(convener_client):
    campaign = CampaignFactory()
    signature = suggestion(campaign)
    url = f"/dashboard/campaigns/{campaign.slug}/suggestions/{signature.pk}/"

    response = convener_client.post(url, {"decision": "reject"}, follow=True)

    signature.refresh_from_db()
    assert (signature.organization_id, signature.organization_suggestion_id) == (None, None)
    assert messages_shown(response) == ["Ann Lee stays unmatched; Safe Harbor was not linked."]

    response = convener_client.post(url, {"decision": "accept"}, follow=True)
    assert messages_shown(response) == ["This signature has no suggested organisation to decide."]
    response = convener_client.post(url, {"decision": "maybe"}, follow=True)
    assert messages_shown(response) == ["Choose Accept or Reject."]
    signature.refresh_from_db()
    assert signature.organization_id is None


# --- Messages -----------------------------------------------------------------------------------


def test_messages_awaiting_review_come_first_and_can_be_approved_or_hidden(convener_client):
    campaign = CampaignFactory(moderate_messages=True)
    approved = SignatureFactory(
        campaign=campaign, name="Old Approved", message="Hello", message_status="approved"
    )
    pending = SignatureFactory(
        campaign=campaign, name="Waiting", message="<script>alert(1)</script>"
    )
    rude = SignatureFactory(campaign=campaign, name="Rude", message="Rude words")
    SignatureFactory(campaign=campaign, name="Silent")
    SignatureFactory(campaign=campaign, name="Unconfirmed", message="x", confirmed_at=None)

    page = page_of(convener_client, campaign)

    assert "Messages (2 awaiting review)" in page
    rows = table_rows(page, "messages-table")[1:]
    assert [row[1] for row in rows] == ["Rude", "Waiting", "Old Approved"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page

    url = f"/dashboard/campaigns/{campaign.slug}/messages/"
    response = convener_client.post(
        url, {"action": "approve", "signature": [pending.pk, approved.pk]}, follow=True
    )
    assert messages_shown(response) == ["Approved 2 messages."]
    response = convener_client.post(url, {"action": "hide", "signature": [rude.pk]}, follow=True)
    assert messages_shown(response) == ["Hid 1 message from the public list of signatures."]

    statuses = dict(
        Signature.objects.filter(campaign=campaign).values_list("name", "message_status")
    )
    assert statuses["Waiting"] == "approved"
    assert statuses["Rude"] == "hidden"
    assert statuses["Old Approved"] == "approved"
    assert "awaiting review)" not in response.content.decode()


def test_without_moderation_messages_are_listed_without_a_queue(convener_client):
    campaign = CampaignFactory(moderate_messages=False)
    SignatureFactory(
        campaign=campaign,
        name="Earlier Hidden",
        message="Rude",
        message_status="hidden",
        created=timezone.now() - datetime.timedelta(hours=2),
    )
    SignatureFactory(campaign=campaign, name="Speaker", message="Facts first")

    page = page_of(convener_client, campaign)

    assert "does not review messages first" in page
    assert "awaiting review)" not in section(page, "messages-heading")
    rows = table_rows(page, "messages-table")[1:]
    # Newest first; a message nobody reviewed is shown, as the public list shows it.
    assert [(row[1], row[3]) for row in rows] == [
        ("Speaker", "Shown"),
        ("Earlier Hidden", "Hidden"),
    ]


# --- CSV of every signature ---------------------------------------------------------------------


def test_the_signatures_csv_has_every_signature_and_guards_formulas(convener_client):
    campaign = CampaignFactory(slug="awareness")
    organization = member("Safe Harbor", "nonprofit")
    referrer = member("Refer Co", "private")
    ordinary = SignatureFactory(
        campaign=campaign,
        name="Ann Lee",
        phone="+14045550123",
        affiliation="Safe Harbor",
        organization=organization,
        referral_code="refer-co",
        referred_by=referrer,
        message="Facts, not fiction",
        message_status="approved",
        show_publicly=True,
        confirmed_at=datetime.datetime(2025, 1, 6, 10, tzinfo=NEW_YORK),
        created=datetime.datetime(2025, 1, 6, 9, 55, tzinfo=NEW_YORK),
    )
    SignatureFactory(
        campaign=campaign,
        name='=HYPERLINK("http://evil.example","click")',
        affiliation="+SUM(A1:A2)",
        message="@cmd",
        flagged=True,
        flag_reason="filled the hidden bot-trap field",
        confirmed_at=None,
        created=datetime.datetime(2025, 1, 7, tzinfo=NEW_YORK),
    )
    sign_on(
        campaign,
        organization,
        name="Signatory Person",
        created=datetime.datetime(2025, 1, 8, tzinfo=NEW_YORK),
    )
    SignatureFactory(campaign=CampaignFactory(), name="Other Campaign")

    response = convener_client.get("/dashboard/campaigns/awareness/signatures.csv")

    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == (
        f'attachment; filename="awareness-signatures-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == [
        "name",
        "email",
        "phone",
        "affiliation",
        "member organisation",
        "sector",
        "on behalf of organisation",
        "confirmed_at",
        "flagged",
        "flag_reason",
        "invalidated_at",
        "source",
        "referral_code",
        "referred_by",
        "message",
        "message_status",
        "show_publicly",
        "created",
    ]
    assert rows[1] == [
        "Ann Lee",
        ordinary.email,
        "+14045550123",
        "Safe Harbor",
        "Safe Harbor",
        "Nonprofit",
        "",
        "2025-01-06T10:00:00-05:00",
        "no",
        "",
        "",
        "Web form",
        "refer-co",
        "Refer Co",
        "Facts, not fiction",
        "Approved",
        "yes",
        "2025-01-06T09:55:00-05:00",
    ]
    flagged = rows[2]
    assert flagged[0] == '\'=HYPERLINK("http://evil.example","click")'
    assert flagged[3] == "'+SUM(A1:A2)"
    assert flagged[14] == "'@cmd"
    assert flagged[7:10] == ["", "yes", "filled the hidden bot-trap field"]
    assert rows[3][0] == "Signatory Person"
    assert rows[3][4:7] == ["Safe Harbor", "Nonprofit", "Safe Harbor"]
    assert len(rows) == 4


# --- Queries ------------------------------------------------------------------------------------


def populate(campaign, count: int) -> None:
    """``count`` of each kind of row the tracking page lists: members (some signed, with primary
    contacts), counted signatures matched to them and referred by them, flagged signatures,
    suggestions and messages, over several days."""
    sectors = list(Sector.objects.all())
    organizations = Organization.objects.bulk_create(
        Organization(
            name=f"Bulk Member {n:03d}",
            slug=f"bulk-member-{campaign.pk}-{n}",
            sector=sectors[n % len(sectors)],
            status=Organization.Status.ACTIVE,
        )
        for n in range(count)
    )
    contacts = Contact.objects.bulk_create(
        Contact(
            given_name=f"Bulk{n}", family_name="Signer", email=f"bulk{campaign.pk}-{n}@example.org"
        )
        for n in range(count * 5)
    )
    Affiliation.objects.bulk_create(
        Affiliation(contact=contact, organization=organization, role=Affiliation.Role.PRIMARY)
        for contact, organization in zip(contacts, organizations, strict=False)
    )
    now = timezone.now()
    signatures = []
    for n in range(count):
        organization = organizations[n]
        common = {"campaign": campaign, "email_domain": f"d{n % 4}.example.org"}
        signatures += [
            Signature(
                contact=contacts[count + n],
                name=f"Counted {n}",
                organization=organization,
                referred_by=organizations[n % 3],
                confirmed_at=now - datetime.timedelta(days=n % 5),
                ip_address=f"10.0.0.{n % 7 + 1}",
                message=f"Message {n}",
                **common,
            ),
            Signature(
                contact=contacts[2 * count + n],
                name=f"Flagged {n}",
                flagged=True,
                flag_reason="over the limit",
                ip_address="10.0.1.1",
                **common,
            ),
            Signature(
                contact=contacts[3 * count + n],
                name=f"Suggested {n}",
                affiliation=f"{organization.name} typo",
                organization_suggestion=organization,
                organization_match_score=80,
                confirmed_at=now,
                **common,
            ),
        ]
        if n % 2:
            signatures.append(
                Signature(
                    contact=contacts[4 * count + n],
                    name=f"Sign-on {n}",
                    on_behalf_of=organization,
                    organization=organization,
                    confirmed_at=now,
                    **common,
                )
            )
    Signature.objects.bulk_create(signatures)


@pytest.mark.parametrize("count", [3, 30])
def test_the_tracking_page_makes_the_same_queries_however_many_rows(
    convener_client, django_assert_num_queries, count
):
    campaign = CampaignFactory(moderate_messages=True)
    populate(campaign, count)

    with django_assert_num_queries(TRACKING_QUERIES):
        page = page_of(convener_client, campaign)

    assert len(table_rows(page, "flagged-table")) == count + 1
    assert len(table_rows(page, "suggestions-table")) == count + 1
    assert f"Messages ({count} awaiting review)" in page
    assert len(table_rows(page, "leaderboard-table")) == 4
    assert table_rows(page, "members-table")[-1][1:3] == [str(count), str(count // 2)]


@pytest.mark.parametrize("count", [3, 30])
def test_the_campaign_list_makes_the_same_queries_however_many_campaigns(
    convener_client, django_assert_num_queries, count
):
    for n in range(count):
        campaign = CampaignFactory(moderate_messages=n % 2 == 0)
        SignatureFactory(campaign=campaign, flagged=True)
        SignatureFactory(campaign=campaign, message="Hi")

    with django_assert_num_queries(LIST_QUERIES):
        response = convener_client.get("/dashboard/campaigns/")

    assert len(table_rows(response.content.decode(), "campaigns-table")) == count + 1


@pytest.mark.parametrize("count", [3, 30])
def test_the_csv_exports_make_the_same_queries_however_many_rows(
    convener_client, django_assert_num_queries, count
):
    campaign = CampaignFactory()
    populate(campaign, count)

    with django_assert_num_queries(CSV_QUERIES):
        response = convener_client.get(f"/dashboard/campaigns/{campaign.slug}/signatures.csv")
        rows = csv_rows(response)
    assert len(rows) == 1 + count * 3 + count // 2

    with django_assert_num_queries(NOT_SIGNED_CSV_QUERIES):
        response = convener_client.get(
            f"/dashboard/campaigns/{campaign.slug}/members-not-signed.csv?sector=public"
        )
        rows = csv_rows(response)
    public = Organization.objects.filter(sector__slug="public").exclude(sign_ons__isnull=False)
    assert len(rows) == 1 + public.count()
    assert {row[1] for row in rows[1:]} == {"Public"}
