"""The conveners' mailing pages: who may use them, composing with per-field errors, the preview
(count, sample, first recipients), test sends, scheduling, pause/resume/cancel, the progress
figures, and fixed query counts on every list."""

import datetime
import json
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from celerytasks.mailings import send_test_mailing
from mailings import services
from mailings.models import Delivery, Mailing, Suppression
from members.models import Affiliation, Organization
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    MailingFactory,
    OrganizationFactory,
    SectorFactory,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")

# Session, user and the Conveners group (3); the page of mailings with their campaign and
# sent/failed counts, and how many there are (2).
LIST_QUERIES = 5
# Session, user and group (3); the mailing (1); its progress in one query (1); its suppressions
# by reason (1); the page of deliveries and how many (2).
DETAIL_QUERIES = 8
# Session, user and group (3); the mailing (1); its progress (1).
PROGRESS_QUERIES = 5
# Session, user and group (3); the mailing with its sectors and tags (3); the first recipients,
# their contacts and organisations (3); the audience count (1).
PREVIEW_QUERIES = 10
# Session, user and group (3); the page of addresses with their mailing, and how many (2).
SUPPRESSION_QUERIES = 5


def members(n, **org_kwargs):
    """n active member organisations, each with one primary contact."""
    return [AffiliationFactory(organization=OrganizationFactory(**org_kwargs)) for _ in range(n)]


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The text of each row of the table with this id, as lists of cell texts."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", "", cell)).split()) for cell in cells])
    return rows


def text_of(html: str) -> str:
    html = re.sub(r'<span class="visually-hidden">.*?</span>', "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def messages_shown(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def field_errors(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def started(mailing):
    """Scheduled now and frozen by the dispatcher, as beat would."""
    services.mailing_schedule(mailing=mailing)
    services.mailings_dispatch()
    mailing.refresh_from_db()
    return mailing


def new_mailing_data(**overrides):
    data = {
        "name": "January toolkit",
        "subject": "Facts for {{ organization }}",
        "body": "Dear {{ given_name }},\n\nHere are **the facts**.",
        "toolkit": "",
        "campaign": "",
        "signed": "",
        "primary_contacts_only": "on",
        "language": "",
        "send_rate": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- Who may use them ---------------------------------------------------------------------------

GET_PAGES = [
    "",
    "new/",
    "{pk}/",
    "{pk}/edit/",
    "{pk}/preview/",
    "{pk}/cancel/",
    "{pk}/progress.json",
    "reminders/",
    "reminders/new/",
    "suppressions/",
]
POST_PAGES = [
    "new/",
    "{pk}/test/",
    "{pk}/schedule/",
    "{pk}/unschedule/",
    "{pk}/pause/",
    "{pk}/resume/",
    "{pk}/cancel/",
    "suppressions/",
]


def _urls(pages, mailing):
    return ["/dashboard/mailings/" + page.format(pk=mailing.pk) for page in pages]


@pytest.fixture
def scheduled_mailing():
    members(2)
    mailing = MailingFactory(name="Scheduled one")
    services.mailing_schedule(mailing=mailing, at=timezone.now() + datetime.timedelta(days=3))
    mailing.refresh_from_db()
    return mailing


def test_anonymous_visitors_are_sent_to_sign_in(client, scheduled_mailing):
    for url in _urls(GET_PAGES, scheduled_mailing):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/?next=/dashboard/mailings/"), url
    for url in _urls(POST_PAGES, scheduled_mailing):
        response = client.post(url, {"email": "x@example.org", "when": "now"})
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    scheduled_mailing.refresh_from_db()
    assert scheduled_mailing.status == Mailing.Status.SCHEDULED
    assert not Suppression.objects.exists()


def test_staff_who_are_not_conveners_and_member_editors_are_refused(client, scheduled_mailing):
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    editor = get_user_model().objects.create_user("editor@example.org")
    AffiliationFactory(
        contact=ContactFactory(user=editor, email="editor@example.org"),
        role=Affiliation.Role.EDITOR,
    )
    for user in (clerk, editor):
        client.force_login(user)
        for url in _urls(GET_PAGES, scheduled_mailing):
            assert client.get(url).status_code == 403, (user, url)
        for url in _urls(POST_PAGES, scheduled_mailing):
            response = client.post(url, {"email": "x@example.org", "when": "now"})
            assert response.status_code == 403, (user, url)
    scheduled_mailing.refresh_from_db()
    assert scheduled_mailing.status == Mailing.Status.SCHEDULED
    assert Mailing.objects.count() == 1
    assert not Suppression.objects.exists()


def test_conveners_and_superusers_see_every_page(client, convener, scheduled_mailing):
    root = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    for user in (convener, root):
        client.force_login(user)
        for url in _urls(GET_PAGES, scheduled_mailing):
            response = client.get(url)
            assert response.status_code == 200, (user, url)
            assert "no-cache" in response["Cache-Control"], url


def test_actions_need_the_csrf_token(convener, scheduled_mailing):
    client = Client(enforce_csrf_checks=True)
    client.force_login(convener)
    for url in _urls(POST_PAGES, scheduled_mailing):
        response = client.post(url, {"email": "x@example.org", "when": "now"})
        assert response.status_code == 403, url
    scheduled_mailing.refresh_from_db()
    assert scheduled_mailing.status == Mailing.Status.SCHEDULED


def test_unknown_mailings_are_not_found(convener_client):
    for url in ["/dashboard/mailings/999999/", "/dashboard/mailings/999999/progress.json"]:
        assert convener_client.get(url).status_code == 404
    assert convener_client.post("/dashboard/mailings/999999/pause/").status_code == 404
    assert convener_client.get(f"/dashboard/mailings/{10**30}/").status_code == 404


def test_the_dashboard_links_to_the_mailings(convener_client):
    page = convener_client.get("/dashboard/").content.decode()
    assert '<a href="/dashboard/mailings/">Mailings</a>' in page
    assert 'href="/dashboard/mailings/reminders/"' in page


# --- Compose ------------------------------------------------------------------------------------


def test_a_new_mailing_is_saved_as_a_draft_and_opens_its_preview(convener_client, convener):
    public = SectorFactory(name="Public", slug="public")
    data = new_mailing_data(sectors=[public.pk], statuses=["active", "lapsed"], send_rate="20")

    response = convener_client.post("/dashboard/mailings/new/", data)

    mailing = Mailing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/mailings/{mailing.pk}/preview/"
    assert mailing.status == Mailing.Status.DRAFT
    assert mailing.created_by == convener
    assert mailing.subject == "Facts for {{ organization }}"
    assert list(mailing.sectors.all()) == [public]
    assert mailing.statuses == ["active", "lapsed"]
    assert mailing.primary_contacts_only is True
    assert mailing.send_rate == 20


def test_the_form_lists_the_merge_fields_beside_the_body(convener_client):
    page = convener_client.get("/dashboard/mailings/new/").content.decode()
    aside = re.search(r'<aside class="merge-fields".*?</aside>', page, re.S).group(0)
    for name in ["given_name", "organization", "campaign_link", "signed", "toolkit_link"]:
        assert f"<dt>{{{{ {name} }}}}</dt>" in aside


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("subject", "Hello {{ first_name }}", "Subject: {{ first_name }} is not a merge field."),
        ("body", "Dear {{ nmae }}", "Message: {{ nmae }} is not a merge field."),
        ("body", "{% for x in y %}{% endfor %}", "{% for %} cannot be used in a message"),
        ("body", "{% if signed %}unclosed", "Unclosed tag"),
        ("name", "", "This field is required."),
        ("send_rate", "0", "Ensure this value is greater than or equal to 1."),
    ],
    ids=[
        "subject-unknown-field",
        "body-unknown-field",
        "body-for-tag",
        "body-unclosed",
        "no-name",
        "rate-zero",
    ],
)
def test_errors_are_shown_on_their_field_and_nothing_is_lost(convener_client, field, value, error):
    data = new_mailing_data(**{field: value})

    response = convener_client.post("/dashboard/mailings/new/", data)

    assert response.status_code == 400
    assert any(error in message for message in field_errors(response, field)), response.context[
        "form"
    ].errors
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert 'class="error-summary"' in page
    # What was typed comes back.
    assert response.context["form"]["subject"].value() == data["subject"]
    assert response.context["form"]["body"].value() == data["body"]
    assert not Mailing.objects.exists()


def test_a_campaign_field_without_a_campaign_is_an_error_on_the_campaign(convener_client):
    data = new_mailing_data(body="Please [sign]({{ campaign_link }}).")

    response = convener_client.post("/dashboard/mailings/new/", data)

    assert response.status_code == 400
    assert field_errors(response, "campaign") == [
        "Choose the campaign the campaign merge fields are about."
    ]
    assert not Mailing.objects.exists()


def test_a_signed_segment_needs_a_campaign(convener_client):
    response = convener_client.post(
        "/dashboard/mailings/new/", new_mailing_data(signed="not_signed")
    )
    assert field_errors(response, "signed") == ["Choose the campaign to test signing against."]


def test_only_published_toolkits_are_offered(convener_client):
    from toolkits.models import Toolkit

    Toolkit.objects.create(title="Ready", slug="ready", status=Toolkit.Status.PUBLISHED)
    Toolkit.objects.create(title="Unfinished", slug="unfinished", status=Toolkit.Status.DRAFT)
    form = convener_client.get("/dashboard/mailings/new/").context["form"]
    assert [toolkit.title for toolkit in form.fields["toolkit"].queryset] == ["Ready"]


def test_editing_a_scheduled_mailing_puts_it_back_to_draft(convener_client, scheduled_mailing):
    url = f"/dashboard/mailings/{scheduled_mailing.pk}/edit/"
    page = convener_client.get(url).content.decode()
    assert "Saving a change makes it a draft again" in page

    response = convener_client.post(
        url, new_mailing_data(name="Renamed", subject="New subject"), follow=True
    )

    scheduled_mailing.refresh_from_db()
    assert scheduled_mailing.name == "Renamed"
    assert scheduled_mailing.subject == "New subject"
    assert scheduled_mailing.status == Mailing.Status.DRAFT
    assert scheduled_mailing.scheduled_at is None
    assert "The mailing is a draft again" in " ".join(messages_shown(response))


@pytest.mark.parametrize("status", ["sending", "paused", "sent", "cancelled"])
def test_a_mailing_that_started_cannot_be_edited(convener_client, status):
    mailing = MailingFactory(status=status, name="Started")
    url = f"/dashboard/mailings/{mailing.pk}/edit/"

    response = convener_client.post(url, new_mailing_data(name="Changed"), follow=True)

    mailing.refresh_from_db()
    assert mailing.name == "Started"
    assert mailing.status == status
    assert "it can no longer be changed" in " ".join(messages_shown(response))
    assert convener_client.get(url)["Location"] == f"/dashboard/mailings/{mailing.pk}/"


# --- Preview ------------------------------------------------------------------------------------


def test_the_preview_shows_the_count_a_sample_and_the_first_recipients(convener_client):
    AffiliationFactory(
        contact__given_name="Ana",
        contact__family_name="Lopez",
        contact__email="ana@example.org",
        organization__name="Safe & Sound",
    )
    members(2)
    members(1, status=Organization.Status.LAPSED)  # not in the audience
    mailing = MailingFactory(
        subject="Facts for {{ organization }}", body="Dear {{ given_name }},\n\nRead **this**."
    )

    response = convener_client.get(f"/dashboard/mailings/{mailing.pk}/preview/")

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r'<strong id="recipient-count">3</strong> recipients', page)
    sample = response.context["sample"]
    assert sample["subject"] == "Facts for Safe & Sound"
    assert sample["to"] == "ana@example.org"
    assert "Dear Ana," in sample["text"]
    assert "<strong>this</strong>" in sample["html"]
    # The HTML part is shown in a sandboxed frame, escaped into its srcdoc attribute.
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    assert " sandbox " in iframe
    assert "&lt;strong&gt;this&lt;/strong&gt;" in iframe
    assert "Dear Ana," in unescape(re.search(r'<pre id="sample-text">(.*?)</pre>', page, re.S)[1])
    rows = table_rows(page, "recipients-table")
    assert rows[1] == ["Ana Lopez", "Safe & Sound", "ana@example.org"]
    assert len(rows) == 4


def test_the_sample_carries_the_toolkit(convener_client):
    from toolkits.models import Toolkit
    from toolkits.rendering import toolkit_email_cache_clear

    toolkit_email_cache_clear()
    toolkit = Toolkit.objects.create(
        title="Facts first", slug="facts-first", status=Toolkit.Status.PUBLISHED
    )
    members(1)
    mailing = MailingFactory(toolkit=toolkit, body="See the toolkit: {{ toolkit_link }}")

    sample = convener_client.get(f"/dashboard/mailings/{mailing.pk}/preview/").context["sample"]

    assert "Facts first" in sample["html"]
    assert "FACTS FIRST" in sample["text"]
    assert "/toolkits/facts-first/?org=member-organisation-" in sample["text"]
    toolkit_email_cache_clear()


def test_the_preview_names_template_errors(convener_client):
    members(1)
    mailing = MailingFactory(body="Hi {{ nickname }}")  # saved around the form

    response = convener_client.get(f"/dashboard/mailings/{mailing.pk}/preview/")

    page = text_of(response.content.decode())
    assert "This mailing cannot be sent yet" in page
    assert "Message: {{ nickname }} is not a merge field." in page
    assert response.context["sample"] is None


def test_the_preview_says_when_nobody_is_in_the_audience(convener_client):
    mailing = MailingFactory()
    page = text_of(
        convener_client.get(f"/dashboard/mailings/{mailing.pk}/preview/").content.decode()
    )
    assert "0 recipients" in page
    assert "Nobody is in this audience, so it cannot be scheduled." in page


@pytest.mark.parametrize("count", [1, 25])
def test_the_preview_makes_the_same_queries_however_many_recipients(
    convener_client, django_assert_num_queries, count
):
    members(count)
    mailing = MailingFactory()

    with django_assert_num_queries(PREVIEW_QUERIES):
        response = convener_client.get(f"/dashboard/mailings/{mailing.pk}/preview/")

    rows = table_rows(response.content.decode(), "recipients-table")
    assert len(rows) == min(count, 20) + 1


def test_a_mailing_that_started_has_no_preview(convener_client):
    mailing = MailingFactory(status=Mailing.Status.SENT)
    response = convener_client.get(f"/dashboard/mailings/{mailing.pk}/preview/")
    assert response["Location"] == f"/dashboard/mailings/{mailing.pk}/"


# --- Test send ----------------------------------------------------------------------------------


def test_a_test_goes_to_the_convener_after_the_commit(
    convener_client, convener, django_capture_on_commit_callbacks, mailoutbox
):
    convener.email = "ada@example.org"
    convener.save()
    members(1)
    mailing = MailingFactory(subject="Facts for {{ organization }}")

    with django_capture_on_commit_callbacks() as queued:
        response = convener_client.post(f"/dashboard/mailings/{mailing.pk}/test/", follow=True)

    assert "A test is on its way to ada@example.org" in " ".join(messages_shown(response))
    assert len(queued) == 1
    assert mailoutbox == []  # the worker sends it
    send_test_mailing(mailing.pk, "ada@example.org")
    assert [message.to for message in mailoutbox] == [["ada@example.org"]]
    assert mailoutbox[0].subject.startswith("[Test] Facts for Member Organisation")
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
    assert not Delivery.objects.exists()


def test_a_convener_without_an_address_is_told_so(
    convener_client, django_capture_on_commit_callbacks
):
    members(1)
    mailing = MailingFactory()
    page = convener_client.get(f"/dashboard/mailings/{mailing.pk}/preview/").content.decode()
    assert "Your account has no e-mail address to send a test to." in page

    with django_capture_on_commit_callbacks() as queued:
        response = convener_client.post(f"/dashboard/mailings/{mailing.pk}/test/", follow=True)

    assert queued == []
    assert "Your account has no e-mail address" in " ".join(messages_shown(response))


def test_no_test_is_sent_of_a_broken_template(
    convener_client, convener, django_capture_on_commit_callbacks
):
    convener.email = "ada@example.org"
    convener.save()
    mailing = MailingFactory(subject="{{ oops }}")

    with django_capture_on_commit_callbacks() as queued:
        response = convener_client.post(f"/dashboard/mailings/{mailing.pk}/test/", follow=True)

    assert queued == []
    assert "Subject: {{ oops }} is not a merge field." in " ".join(messages_shown(response))


# --- Schedule -----------------------------------------------------------------------------------


def test_an_empty_audience_cannot_be_scheduled(convener_client):
    mailing = MailingFactory()

    response = convener_client.post(
        f"/dashboard/mailings/{mailing.pk}/schedule/", {"when": "now"}, follow=True
    )

    assert "Nobody is in this mailing's audience: it cannot be scheduled." in messages_shown(
        response
    )
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
    assert mailing.scheduled_at is None


def test_a_broken_template_cannot_be_scheduled(convener_client):
    members(1)
    mailing = MailingFactory(body="{{ nickname }}")

    response = convener_client.post(
        f"/dashboard/mailings/{mailing.pk}/schedule/", {"when": "now"}, follow=True
    )

    assert "Message: {{ nickname }} is not a merge field." in messages_shown(response)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT


def test_scheduling_now_and_the_dispatcher_freezes_the_audience(convener_client):
    members(3)
    mailing = MailingFactory()

    response = convener_client.post(
        f"/dashboard/mailings/{mailing.pk}/schedule/", {"when": "now"}, follow=True
    )

    assert "Scheduled: sending starts within a few seconds." in messages_shown(response)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.scheduled_at <= timezone.now()

    services.mailings_dispatch()

    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING
    assert mailing.recipients == 3
    assert mailing.deliveries.filter(status=Delivery.Status.QUEUED).count() == 3
    # A member that joins now is not added: the audience is frozen.
    members(1)
    services.mailings_dispatch()
    assert mailing.deliveries.count() == 3


def test_scheduling_at_a_time_reads_it_in_the_coalitions_time_zone(convener_client):
    members(1)
    mailing = MailingFactory()
    at = (timezone.now() + datetime.timedelta(days=2)).astimezone(NEW_YORK)
    typed = at.strftime("%Y-%m-%dT%H:%M")

    response = convener_client.post(
        f"/dashboard/mailings/{mailing.pk}/schedule/", {"when": "later", "at": typed}, follow=True
    )

    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.scheduled_at == at.replace(second=0, microsecond=0)
    assert f"Scheduled for {at:%-d %b %Y, %H:%M} (America/New_York time)." in messages_shown(
        response
    )
    # Not due yet: the dispatcher leaves it.
    services.mailings_dispatch()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert not mailing.deliveries.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"when": "later", "at": ""}, "Give the date and time to send it, or choose Send now."),
        ({"when": "later", "at": "2001-01-01T10:00"}, "That time has passed"),
        ({"when": "later", "at": "next tuesday"}, "Enter a valid date/time."),
        ({"when": "tomorrow"}, "Select a valid choice."),
    ],
    ids=["no-time", "past", "garbage", "bad-choice"],
)
def test_a_bad_schedule_is_refused_on_its_field(convener_client, data, error):
    members(1)
    mailing = MailingFactory()

    response = convener_client.post(f"/dashboard/mailings/{mailing.pk}/schedule/", data)

    assert response.status_code == 400
    form = response.context["schedule_form"]
    assert any(error in message for messages in form.errors.values() for message in messages)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT


def test_a_scheduled_mailing_goes_back_to_draft(convener_client, scheduled_mailing):
    response = convener_client.post(
        f"/dashboard/mailings/{scheduled_mailing.pk}/unschedule/", follow=True
    )
    assert "Back to draft: it will not be sent." in messages_shown(response)
    scheduled_mailing.refresh_from_db()
    assert scheduled_mailing.status == Mailing.Status.DRAFT


# --- Pause, resume, cancel ----------------------------------------------------------------------


def test_pause_resume_and_cancel_a_sending_mailing(convener_client):
    members(3)
    mailing = started(MailingFactory())
    url = f"/dashboard/mailings/{mailing.pk}/"
    assert mailing.status == Mailing.Status.SENDING

    response = convener_client.post(url + "pause/", follow=True)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.PAUSED
    assert "Paused" in messages_shown(response)[0]
    assert f'action="/dashboard/mailings/{mailing.pk}/resume/"' in response.content.decode()

    convener_client.post(url + "resume/")
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING

    confirm = convener_client.get(url + "cancel/")
    assert "Nobody who has not received it yet will receive it" in confirm.content.decode()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING  # a GET only asks

    convener_client.post(url + "cancel/")
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CANCELLED
    assert set(mailing.deliveries.values_list("status", flat=True)) == {Delivery.Status.SKIPPED}


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("draft", "pause", "Only a mailing that is sending can be paused."),
        ("sending", "resume", "Only a paused mailing can be resumed."),
        ("sent", "cancel", "This mailing can no longer be cancelled."),
        ("draft", "cancel", "This mailing can no longer be cancelled."),
        ("sending", "unschedule", "Only a scheduled mailing that has not started can go back."),
    ],
    ids=["pause-draft", "resume-sending", "cancel-sent", "cancel-draft", "unschedule-sending"],
)
def test_refused_transitions_say_why_and_change_nothing(convener_client, status, action, message):
    mailing = MailingFactory(status=status)

    response = convener_client.post(f"/dashboard/mailings/{mailing.pk}/{action}/", follow=True)

    assert message in messages_shown(response)
    mailing.refresh_from_db()
    assert mailing.status == status


def test_the_cancel_page_of_a_finished_mailing_says_it_is_too_late(convener_client):
    mailing = MailingFactory(status=Mailing.Status.SENT)
    response = convener_client.get(f"/dashboard/mailings/{mailing.pk}/cancel/", follow=True)
    assert "This mailing can no longer be cancelled." in messages_shown(response)


# --- Progress -----------------------------------------------------------------------------------


def _half_sent(n_sent=2, n_failed=1, n_queued=1):
    members(n_sent + n_failed + n_queued)
    mailing = started(MailingFactory())
    ids = list(mailing.deliveries.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    Delivery.objects.filter(pk__in=ids[:n_sent]).update(status="sent", sent_at=now)
    Delivery.objects.filter(pk__in=ids[n_sent : n_sent + n_failed]).update(
        status="failed", reason="550 No such user"
    )
    return mailing


def test_the_progress_figures(convener_client):
    mailing = _half_sent(n_sent=2, n_failed=1, n_queued=1)

    data = json.loads(
        convener_client.get(f"/dashboard/mailings/{mailing.pk}/progress.json").content
    )

    assert data["status"] == "sending"
    assert data["status_label"] == "Sending"
    assert [data[key] for key in ["recipients", "sent", "failed", "skipped", "remaining"]] == [
        4,
        2,
        1,
        0,
        1,
    ]
    assert data["percent"] == 75
    assert data["per_minute"] == 2
    finish = datetime.datetime.fromisoformat(data["estimated_finish"])
    assert timezone.now() < finish < timezone.now() + datetime.timedelta(minutes=1)
    assert data["bar"] == {
        "sent": 50.0,
        "failed": 25.0,
        "failed_x": 50.0,
        "skipped": 0.0,
        "skipped_x": 75.0,
    }


def test_the_detail_page_shows_progress_and_follows_it_live(convener_client):
    mailing = _half_sent(n_sent=2, n_failed=1, n_queued=1)

    page = convener_client.get(f"/dashboard/mailings/{mailing.pk}/").content.decode()

    progress = text_of(
        re.search(r'<section aria-labelledby="progress-heading">.*?</section>', page, re.S).group(0)
    )
    assert "75 % done: 3 of 4 recipients." in progress
    assert "Sent: 2 Failed: 1 Skipped: 0 Remaining: 1" in progress
    assert 'data-bar="sent" x="0" y="0" width="50.0"' in page
    assert 'data-bar="failed" x="50.0" y="0" width="25.0"' in page
    assert 'data-live="true"' in page
    assert "/static/js/mailing-progress.js" in page
    assert f'href="/dashboard/mailings/{mailing.pk}/" data-refresh-link>Refresh</a>' in page
    assert f'action="/dashboard/mailings/{mailing.pk}/pause/"' in page


def test_a_finished_mailing_is_not_followed(convener_client):
    mailing = _half_sent(n_sent=1, n_failed=0, n_queued=0)
    services.mailings_dispatch()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT

    page = convener_client.get(f"/dashboard/mailings/{mailing.pk}/").content.decode()

    assert 'data-live="false"' in page
    assert "mailing-progress.js" not in page
    assert "/pause/" not in page
    assert "/cancel/" not in page


def test_failures_are_listed_with_their_reason(convener_client):
    mailing = _half_sent(n_sent=2, n_failed=1, n_queued=1)
    failed = mailing.deliveries.get(status="failed")

    page = convener_client.get(f"/dashboard/mailings/{mailing.pk}/?status=failed").content.decode()

    rows = table_rows(page, "deliveries-table")
    assert len(rows) == 2
    assert rows[1][2:4] == [failed.email, "Failed"]
    assert rows[1][5] == "550 No such user"


def test_an_unknown_status_filter_shows_everyone_and_says_so(convener_client):
    mailing = _half_sent()
    page = convener_client.get(f"/dashboard/mailings/{mailing.pk}/?status=nonsense").content
    page = page.decode()
    assert "There is no such status; showing every recipient." in page
    assert len(table_rows(page, "deliveries-table")) == 5


def test_the_deliveries_are_paginated_by_fifty(convener_client):
    members(51)
    mailing = started(MailingFactory())
    url = f"/dashboard/mailings/{mailing.pk}/"

    first = convener_client.get(url).content.decode()
    second = convener_client.get(url + "?page=2").content.decode()

    assert len(table_rows(first, "deliveries-table")) == 51
    assert len(table_rows(second, "deliveries-table")) == 2
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first


@pytest.mark.parametrize("count", [1, 60])
def test_the_detail_page_makes_the_same_queries_however_many_deliveries(
    convener_client, django_assert_num_queries, count
):
    members(count)
    mailing = started(MailingFactory())

    with django_assert_num_queries(DETAIL_QUERIES):
        response = convener_client.get(f"/dashboard/mailings/{mailing.pk}/")

    assert len(table_rows(response.content.decode(), "deliveries-table")) == min(count, 50) + 1


def test_the_progress_endpoint_makes_a_fixed_number_of_queries(
    convener_client, django_assert_num_queries
):
    mailing = _half_sent()
    with django_assert_num_queries(PROGRESS_QUERIES):
        convener_client.get(f"/dashboard/mailings/{mailing.pk}/progress.json")


# --- The list -----------------------------------------------------------------------------------


def test_the_list_shows_each_mailing_with_its_counts(convener_client):
    campaign = CampaignFactory(title="Awareness Month")
    sending = _half_sent(n_sent=2, n_failed=1, n_queued=1)
    Mailing.objects.filter(pk=sending.pk).update(name="January toolkit", campaign=campaign)
    MailingFactory(name="Draft news")

    page = convener_client.get("/dashboard/mailings/").content.decode()

    rows = table_rows(page, "mailings-table")
    assert rows[0] == ["Mailing", "Status", "Scheduled for", "Recipients", "Sent", "Failed"]
    assert rows[1] == ["Draft news", "Draft", "—", "not yet", "0", "0"]
    assert rows[2][0] == "January toolkit — Awareness Month"
    assert rows[2][1] == "Sending"
    assert rows[2][3:] == ["4", "2", "1"]
    assert '<a class="button-link" href="/dashboard/mailings/new/">New mailing</a>' in page


@pytest.mark.parametrize("count", [1, 30])
def test_the_list_makes_the_same_queries_however_many_mailings(
    convener_client, django_assert_num_queries, count
):
    members(2)
    campaign = CampaignFactory()
    for _ in range(count):
        started(MailingFactory(campaign=campaign))

    with django_assert_num_queries(LIST_QUERIES):
        response = convener_client.get("/dashboard/mailings/")

    rows = table_rows(response.content.decode(), "mailings-table")
    assert len(rows) == count + 1
    assert all(row[3:] == ["2", "0", "0"] for row in rows[1:])


# --- Suppression list ---------------------------------------------------------------------------


def test_a_convener_adds_an_address_to_the_suppression_list(convener_client):
    [member] = members(1)
    email = member.contact.email

    response = convener_client.post(
        "/dashboard/mailings/suppressions/",
        {"email": f"  {email.upper()} ", "detail": "Asked by phone"},
        follow=True,
    )

    assert messages_shown(response) == [f"{email} receives no more mailings."]
    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason, suppression.detail) == (
        email,
        Suppression.Reason.MANUAL,
        "Asked by phone",
    )
    rows = table_rows(response.content.decode(), "suppressions-table")
    assert rows[1][:4] == [email, "Added by a convener", "Asked by phone", "—"]
    # Out of the next audience.
    page = convener_client.get(f"/dashboard/mailings/{MailingFactory().pk}/preview/")
    assert page.context["count"] == 0


def test_an_address_already_suppressed_keeps_its_reason(convener_client):
    Suppression.objects.create(email="gone@example.org", reason=Suppression.Reason.UNSUBSCRIBED)

    response = convener_client.post(
        "/dashboard/mailings/suppressions/", {"email": "Gone@example.org"}, follow=True
    )

    assert messages_shown(response) == ["gone@example.org is already on the list (unsubscribed)."]
    assert Suppression.objects.get().reason == Suppression.Reason.UNSUBSCRIBED


def test_a_bad_address_is_refused_on_its_field(convener_client):
    response = convener_client.post("/dashboard/mailings/suppressions/", {"email": "nobody"})
    assert response.status_code == 400
    assert response.context["add_form"].errors["email"] == ["Enter a valid email address."]
    assert 'id="id_email_error"' in response.content.decode()
    assert not Suppression.objects.exists()


def test_the_suppression_list_is_searched_by_address(convener_client):
    Suppression.objects.create(email="ana@example.org", reason=Suppression.Reason.BOUNCED)
    Suppression.objects.create(email="bo@example.net", reason=Suppression.Reason.COMPLAINED)

    page = convener_client.get("/dashboard/mailings/suppressions/?q=EXAMPLE.NET").content.decode()

    rows = table_rows(page, "suppressions-table")
    assert [row[:2] for row in rows[1:]] == [["bo@example.net", "Complaint (marked as spam)"]]
    assert "Addresses (1 matching “EXAMPLE.NET”)" in text_of(page)


@pytest.mark.parametrize("count", [1, 60])
def test_the_suppression_list_makes_the_same_queries_however_many_rows(
    convener_client, django_assert_num_queries, count
):
    mailing = MailingFactory()
    Suppression.objects.bulk_create(
        Suppression(email=f"p{n}@example.org", reason="bounced", mailing=mailing)
        for n in range(count)
    )

    with django_assert_num_queries(SUPPRESSION_QUERIES):
        response = convener_client.get("/dashboard/mailings/suppressions/")

    rows = table_rows(response.content.decode(), "suppressions-table")
    assert len(rows) == min(count, 50) + 1
    assert rows[1][3] == mailing.name


# --- Odd input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "?page=abc", {}),
        ("get", f"?page={10**30}", {}),
        ("get", "{pk}/?page=-1&status=%00", {}),
        ("get", "suppressions/?q=%00&page=9999", {}),
        ("get", "suppressions/?q=" + "x" * 300, {}),
        ("post", "new/", {"name": "x", "subject": "x", "body": "x", "campaign": str(10**30)}),
        ("post", "new/", {"name": "x", "subject": "x", "body": "x", "sectors": ["a", "-1"]}),
        ("post", "new/", {"name": "x\x00", "subject": "x", "body": "x", "statuses": ["gone"]}),
        ("post", "new/", {"name": "x", "subject": "{{", "body": "{% if %}", "send_rate": "1e9"}),
        ("post", "{pk}/schedule/", {"when": "later", "at": "9999-99-99T99:99"}),
        ("post", "suppressions/", {"email": "not an address\x00", "detail": "x" * 400}),
        ("post", "reminders/new/", {"days_before": str(10**30), "campaign": "x"}),
    ],
    ids=[
        "page-word",
        "page-huge",
        "detail-nul",
        "suppressions-nul",
        "suppressions-long-query",
        "campaign-huge",
        "sectors-garbage",
        "nul-and-unknown-status",
        "broken-templates",
        "impossible-date",
        "bad-address",
        "reminder-garbage",
    ],
)
def test_odd_input_gets_an_answer_not_an_error(convener_client, method, path, data):
    members(1)
    mailing = MailingFactory()
    url = "/dashboard/mailings/" + path.format(pk=mailing.pk)

    response = getattr(convener_client, method)(url, data)

    assert response.status_code in (200, 302, 400), response.status_code
    assert Mailing.objects.count() == 1
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT
    assert not Suppression.objects.exists()
