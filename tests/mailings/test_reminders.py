"""Campaign reminder rules: the pages that keep them, when each fires, that beat makes one
mailing per rule however often it runs, and that a member that signs meanwhile is skipped."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mailings import services
from mailings.models import Delivery, Mailing, ReminderRule, SignedFilter
from tests.factories import AffiliationFactory, CampaignFactory, SignatureFactory
from tests.mailings.test_convener_pages import members, messages_shown, table_rows, text_of

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
# Session, user and the Conveners group (3); the rules with their campaign and toolkit (1);
# the mailings they made (1).
LIST_QUERIES = 5


def rule_for(campaign, **fields) -> ReminderRule:
    values = {
        "name": "One week left",
        "campaign": campaign,
        "days_before": 7,
        "anchor": ReminderRule.Anchor.CLOSES,
        "subject": "One week left to sign, {{ given_name }}",
        "body": "{% if signed %}Thank you.{% else %}Please [sign]({{ campaign_link }}).{% endif %}",
        "signed": SignedFilter.NOT_SIGNED,
        "primary_contacts_only": True,
    }
    values.update(fields)
    return ReminderRule.objects.create(**values)


def rule_data(for_campaign, **overrides):
    data = {
        "name": "One day left",
        "active": "on",
        "campaign": for_campaign.pk,
        "days_before": "1",
        "anchor": "closes",
        "subject": "Last day, {{ given_name }}",
        "body": "Please [sign]({{ campaign_link }}) today.",
        "toolkit": "",
        "signed": "not_signed",
        "primary_contacts_only": "on",
        "language": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def campaign():
    return CampaignFactory(
        title="Awareness Month",
        slug="awareness-month",
        closes_at=timezone.now() + datetime.timedelta(days=10),
    )


# --- Who may use the pages ----------------------------------------------------------------------


def test_reminder_pages_are_for_conveners_only(client, convener, campaign):
    rule = rule_for(campaign)
    urls = [
        "/dashboard/mailings/reminders/",
        "/dashboard/mailings/reminders/new/",
        f"/dashboard/mailings/reminders/{rule.pk}/edit/",
        f"/dashboard/mailings/reminders/{rule.pk}/delete/",
    ]
    for url in urls:
        assert client.get(url)["Location"].startswith("/admin/login/?next=/dashboard/"), url
    for url in urls[1:]:
        assert client.post(url, rule_data(campaign)).status_code == 302, url
    client.force_login(get_user_model().objects.create_user("clerk", is_staff=True))
    for url in urls:
        assert client.get(url).status_code == 403, url
    for url in urls[1:]:
        assert client.post(url, rule_data(campaign)).status_code == 403, url
    client.force_login(convener)
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert list(ReminderRule.objects.values_list("name", flat=True)) == ["One week left"]


# --- Create, edit, delete -----------------------------------------------------------------------


def test_a_new_rule_starts_with_members_that_have_not_signed_and_primary_contacts(
    convener_client,
):
    form = convener_client.get("/dashboard/mailings/reminders/new/").context["form"]
    assert form["signed"].value() == "not_signed"
    assert form["primary_contacts_only"].value() is True


def test_a_rule_is_created_and_listed_with_when_it_fires(convener_client, campaign):
    response = convener_client.post(
        "/dashboard/mailings/reminders/new/", rule_data(campaign), follow=True
    )

    rule = ReminderRule.objects.get()
    assert rule.days_before == 1
    assert rule.signed == SignedFilter.NOT_SIGNED
    assert rule.campaign == campaign
    due = (campaign.closes_at - datetime.timedelta(days=1)).astimezone(NEW_YORK)
    assert messages_shown(response) == [
        f"Saved the reminder “One day left”. It is due {due:%-d %b %Y, %H:%M}."
    ]
    rows = table_rows(response.content.decode(), "reminders-table")
    assert rows[1][:4] == [
        "One day left",
        "Awareness Month",
        "1 day before the campaign closes",
        f"{due:%-d %b %Y, %H:%M}",
    ]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("body", "Hi {{ nickname }}", "Message: {{ nickname }} is not a merge field."),
        ("subject", "{{ given_name|safe }}", "The safe filter cannot be used in a message."),
        ("campaign", "", "This field is required."),
        ("days_before", "-1", "Ensure this value is greater than or equal to 0."),
        ("days_before", "a week", "Enter a whole number."),
    ],
    ids=["unknown-field", "unsafe-filter", "no-campaign", "negative-days", "words"],
)
def test_rule_errors_are_shown_on_their_field(convener_client, campaign, field, value, error):
    response = convener_client.post(
        "/dashboard/mailings/reminders/new/", rule_data(campaign, **{field: value})
    )

    assert response.status_code == 400
    errors = response.context["form"].errors.get(field, [])
    assert any(error in message for message in errors), response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not ReminderRule.objects.exists()


def test_a_rule_is_edited(convener_client, campaign):
    rule = rule_for(campaign)

    convener_client.post(
        f"/dashboard/mailings/reminders/{rule.pk}/edit/",
        rule_data(campaign, name="Three days left", days_before="3", active=""),
    )

    rule.refresh_from_db()
    assert (rule.name, rule.days_before, rule.active) == ("Three days left", 3, False)


def test_deleting_a_rule_keeps_the_mailing_it_made(convener_client, campaign):
    members(1)
    rule = rule_for(campaign)
    [mailing_id] = services.reminders_run(now=services.reminder_due_at(rule))
    page = convener_client.get(f"/dashboard/mailings/reminders/{rule.pk}/delete/")
    assert "A mailing it already made stays" in page.content.decode()
    assert ReminderRule.objects.filter(pk=rule.pk).exists()  # a GET only asks

    response = convener_client.post(f"/dashboard/mailings/reminders/{rule.pk}/delete/", follow=True)

    assert messages_shown(response) == ["Deleted the reminder “One week left”."]
    assert not ReminderRule.objects.exists()
    assert Mailing.objects.get(pk=mailing_id).reminder_rule is None


# --- When each fires ----------------------------------------------------------------------------


def test_the_list_says_when_each_rule_fires_or_why_it_does_not(convener_client, campaign):
    members(1)
    undated = CampaignFactory(title="Undated", closes_at=None)
    ended = CampaignFactory(title="Ended", closes_at=timezone.now() - datetime.timedelta(days=1))
    fired = rule_for(campaign, name="Fired")
    services.reminders_run(now=services.reminder_due_at(fired))
    rule_for(campaign, name="Later", days_before=2)
    rule_for(campaign, name="Switched off", days_before=3, active=False)
    rule_for(undated, name="No date")
    rule_for(ended, name="Too late")
    rule_for(campaign, name="Due now", days_before=30)

    rows = {
        row[0]: row[3]
        for row in table_rows(
            convener_client.get("/dashboard/mailings/reminders/").content.decode(),
            "reminders-table",
        )[1:]
    }

    mailing = Mailing.objects.get(reminder_rule=fired)
    assert rows["Fired"] == f"Sent as {mailing.name} Scheduled"
    later = (campaign.closes_at - datetime.timedelta(days=2)).astimezone(NEW_YORK)
    assert rows["Later"] == f"{later:%-d %b %Y, %H:%M}"
    assert rows["Switched off (not active)"].startswith("Not active (")
    assert rows["No date"] == "Never: the campaign has no closing date."
    assert rows["Too late"].startswith("Not sent: the campaign's closing date has passed.")
    assert rows["Due now"] == "Now: within a minute"


@pytest.mark.parametrize("count", [1, 12])
def test_the_reminder_list_makes_the_same_queries_however_many_rules(
    convener_client, django_assert_num_queries, campaign, count
):
    members(1)
    for n in range(count):
        # Every other rule is due now; the others later.
        rule_for(
            CampaignFactory(closes_at=campaign.closes_at),
            name=f"Rule {n}",
            days_before=7 if n % 2 == 0 else 2,
        )
    services.reminders_run(now=campaign.closes_at - datetime.timedelta(days=7))

    with django_assert_num_queries(LIST_QUERIES):
        response = convener_client.get("/dashboard/mailings/reminders/")

    rows = table_rows(response.content.decode(), "reminders-table")
    assert len(rows) == count + 1
    assert sum(row[3].startswith("Sent as") for row in rows[1:]) == (count + 1) // 2


# --- Beat ---------------------------------------------------------------------------------------


def test_seven_days_before_closing_beat_makes_exactly_one_mailing(campaign):
    members(2)
    rule = rule_for(campaign)
    due = campaign.closes_at - datetime.timedelta(days=7)

    assert services.reminders_run(now=due - datetime.timedelta(minutes=1)) == []
    made = services.reminders_run(now=due + datetime.timedelta(minutes=1))
    again = services.reminders_run(now=due + datetime.timedelta(minutes=2))

    assert len(made) == 1
    assert again == []
    mailing = Mailing.objects.get()
    assert mailing.pk == made[0]
    assert mailing.reminder_rule == rule
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.signed == SignedFilter.NOT_SIGNED
    assert mailing.subject == rule.subject


def test_a_member_that_signs_between_freeze_and_send_is_skipped(campaign, mailoutbox):
    signs_later, stays = members(2)
    rule = rule_for(campaign)
    [mailing_id] = services.reminders_run(now=services.reminder_due_at(rule))
    services.mailings_dispatch()
    mailing = Mailing.objects.get(pk=mailing_id)
    assert mailing.status == Mailing.Status.SENDING
    assert mailing.recipients == 2
    # After the audience was frozen, the organisation signs on (a counted signature).
    SignatureFactory(
        campaign=campaign,
        contact=signs_later.contact,
        on_behalf_of=signs_later.organization,
        organization=signs_later.organization,
    )

    skipped = mailing.deliveries.get(contact=signs_later.contact)
    sent = mailing.deliveries.get(contact=stays.contact)
    assert services.delivery_send(delivery_id=skipped.pk) == "skipped"
    assert services.delivery_send(delivery_id=sent.pk) == "sent"

    skipped.refresh_from_db()
    assert skipped.status == Delivery.Status.SKIPPED
    assert "Signed the campaign" in skipped.reason
    assert [message.to for message in mailoutbox] == [[stays.contact.email]]
    assert "Please sign" in mailoutbox[0].body or "Please [sign]" in mailoutbox[0].body


def test_the_mailing_a_reminder_made_shows_where_it_came_from(convener_client, campaign):
    members(1)
    rule = rule_for(campaign)
    [mailing_id] = services.reminders_run(now=services.reminder_due_at(rule))

    page = convener_client.get(f"/dashboard/mailings/{mailing_id}/").content.decode()

    assert "Made by" in page
    assert f'<a href="/dashboard/mailings/reminders/{rule.pk}/edit/">One week left</a>' in page
    assert re.search(r"Campaign</dt><dd><a [^>]*>Awareness Month</a>", page)
    assert "the reminder" in text_of(page)


def test_a_reminder_to_nobody_is_cancelled_not_sent(campaign):
    member = AffiliationFactory()
    SignatureFactory(
        campaign=campaign,
        contact=member.contact,
        on_behalf_of=member.organization,
        organization=member.organization,
    )
    rule = rule_for(campaign)

    [mailing_id] = services.reminders_run(now=services.reminder_due_at(rule))

    assert Mailing.objects.get(pk=mailing_id).status == Mailing.Status.CANCELLED
    assert not Delivery.objects.exists()
