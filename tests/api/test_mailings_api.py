"""/api/v1/ mailings and deliveries: scopes, composing drafts, schedule -> cancel and the other
state changes through the services, progress, who may see addresses, constant queries."""

import datetime
import itertools

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Delivery, Mailing, SignedFilter
from members.models import Organization
from tests.api.conftest import client_with_key, key_for
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    MailingFactory,
    OrganizationFactory,
    SectorFactory,
)

pytestmark = pytest.mark.django_db

WRITER = ["read:mailings", "write:mailings"]
_partners = itertools.count(1)


def partner(scopes=("read:mailings",), **kwargs):
    kwargs.setdefault("name", f"Partner {next(_partners)}")
    return client_with_key(key_for(scopes=list(scopes), **kwargs))


def assert_error_shape(response, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "code", "errors"}
    return body


def members(n, **org_kwargs):
    """n active member organisations, each with one primary contact."""
    return [AffiliationFactory(organization=OrganizationFactory(**org_kwargs)) for _ in range(n)]


def started(mailing):
    services.mailing_schedule(mailing=mailing)
    services.mailing_audience_freeze(mailing=mailing)
    mailing.refresh_from_db()
    return mailing


DRAFT = {
    "name": "March update",
    "subject": "News for {{ organization }}",
    "body": "Dear {{ given_name }},\n\nHere is the news.",
}


# --- Scopes and who may reach mailings ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/mailings/", "/api/v1/deliveries/"])
def test_reading_needs_read_mailings(path):
    body = assert_error_shape(partner(scopes=["read:campaigns"]).get(path), 403)
    assert body["message"] == "This needs the read:mailings scope."


def test_writing_and_every_action_need_write_mailings():
    mailing = MailingFactory()
    reader = partner()
    assert_error_shape(reader.post("/api/v1/mailings/", DRAFT, format="json"), 403)
    assert_error_shape(
        reader.patch(f"/api/v1/mailings/{mailing.pk}/", {"name": "X"}, format="json"), 403
    )
    for verb in ("schedule", "cancel", "pause", "resume"):
        body = assert_error_shape(reader.post(f"/api/v1/mailings/{mailing.pk}/{verb}/"), 403)
        assert body["message"] == "This needs the write:mailings scope."
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT and mailing.name != "X"


def test_callers_bound_to_an_organisation_are_refused_mailings(editor_client):
    organization = OrganizationFactory()
    mailing = MailingFactory()
    bound = partner(scopes=[*WRITER, "read:contacts"], organization=organization)
    for path in [
        "/api/v1/mailings/",
        f"/api/v1/mailings/{mailing.pk}/",
        "/api/v1/deliveries/",
    ]:
        body = assert_error_shape(bound.get(path), 403)
        assert "limited to member organisations" in body["message"]
    assert_error_shape(bound.post("/api/v1/mailings/", DRAFT, format="json"), 403)
    assert_error_shape(bound.post(f"/api/v1/mailings/{mailing.pk}/cancel/"), 403)
    # An editor's session holds no mailing scope at all.
    body = assert_error_shape(editor_client(organization).get("/api/v1/mailings/"), 403)
    assert body["message"] == "This needs the read:mailings scope."
    assert Mailing.objects.count() == 1


# --- Composing ----------------------------------------------------------------------------------


def test_a_draft_is_created_with_its_audience_segments():
    campaign = CampaignFactory()
    sector = SectorFactory()
    response = partner(scopes=WRITER).post(
        "/api/v1/mailings/",
        {
            **DRAFT,
            "body": "{% if signed %}Thanks{% else %}Please sign: {{ campaign_link }}{% endif %}",
            "campaign": campaign.pk,
            "signed": SignedFilter.NOT_SIGNED,
            "sectors": [sector.pk],
            "statuses": [Organization.Status.ACTIVE, Organization.Status.PROSPECT],
            "primary_contacts_only": False,
            "language": "es",
            "send_rate": 5,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    mailing = Mailing.objects.get()
    assert body["id"] == mailing.pk
    assert body["status"] == "draft"
    assert body["progress"] == {
        "recipients": 0,
        "sent": 0,
        "failed": 0,
        "skipped": 0,
        "remaining": 0,
    }
    assert mailing.name == "March update"
    assert mailing.campaign == campaign
    assert mailing.signed == SignedFilter.NOT_SIGNED
    assert list(mailing.sectors.all()) == [sector]
    assert mailing.statuses == ["active", "prospect"]
    assert mailing.primary_contacts_only is False
    assert mailing.language == "es"
    assert mailing.send_rate == 5
    assert mailing.created_by is None  # a partner's key, not a person


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"body": "Hello {{ first_name }}"}, "body", "{{ first_name }} is not a merge field."),
        ({"subject": "{% for x in y %}{% endfor %}"}, "subject", "{% for %} cannot be used"),
        ({"body": "Sign: {{ campaign_link }}"}, "campaign", "Choose the campaign"),
        ({"signed": "signed"}, "signed", "Choose the campaign to test signing against."),
        ({"campaign": 10**30}, "campaign", "does not exist"),
        ({"sectors": [10**30]}, "sectors", "does not exist"),
        ({"sectors": "all"}, "sectors", "Expected a list"),
        ({"statuses": ["dormant"]}, "statuses", "Not a membership status: dormant."),
        ({"statuses": [["active"]]}, "statuses", "Not a valid string."),
        ({"send_rate": 0}, "send_rate", "greater than or equal to 1"),
        ({"send_rate": "fast"}, "send_rate", "valid integer"),
        ({"name": ""}, "name", "may not be blank"),
        ({"body": "x" * 60_000}, "body", "no more than"),
    ],
    ids=[
        "unknown-merge-field",
        "forbidden-tag",
        "campaign-field-without-campaign",
        "signed-without-campaign",
        "huge-campaign-id",
        "huge-sector-id",
        "sectors-not-a-list",
        "unknown-status",
        "status-a-list",
        "zero-rate",
        "rate-a-word",
        "no-name",
        "body-too-long",
    ],
)
def test_bad_input_is_a_400_naming_the_field(payload, field, message):
    response = partner(scopes=WRITER).post("/api/v1/mailings/", {**DRAFT, **payload}, format="json")
    body = assert_error_shape(response)
    assert field in body["errors"], body
    assert any(message in text for text in body["errors"][field]), body
    assert not Mailing.objects.exists()


def test_malformed_json_is_a_400():
    response = partner(scopes=WRITER).post(
        "/api/v1/mailings/", b'{"name": ', content_type="application/json"
    )
    assert assert_error_shape(response)["code"] == "parse_error"
    assert not Mailing.objects.exists()


def test_changing_a_scheduled_mailing_puts_it_back_to_draft():
    members(1)
    mailing = MailingFactory()
    services.mailing_schedule(mailing=mailing, at=timezone.now() + datetime.timedelta(days=1))
    response = partner(scopes=WRITER).patch(
        f"/api/v1/mailings/{mailing.pk}/", {"subject": "New subject"}, format="json"
    )
    assert response.status_code == 200, response.content
    mailing.refresh_from_db()
    assert mailing.subject == "New subject"
    assert mailing.status == Mailing.Status.DRAFT
    assert mailing.scheduled_at is None
    assert response.json()["status"] == "draft"


def test_a_mailing_that_has_started_cannot_be_changed():
    members(1)
    mailing = started(MailingFactory())
    response = partner(scopes=WRITER).patch(
        f"/api/v1/mailings/{mailing.pk}/", {"subject": "Too late"}, format="json"
    )
    body = assert_error_shape(response)
    assert body["message"] == "This mailing is sending: it can no longer be changed."
    mailing.refresh_from_db()
    assert mailing.subject != "Too late"


# --- Schedule, cancel, pause, resume ------------------------------------------------------------


def test_create_schedule_cancel():
    members(2)
    client = partner(scopes=WRITER)
    mailing_id = client.post("/api/v1/mailings/", DRAFT, format="json").json()["id"]

    at = timezone.now() + datetime.timedelta(hours=3)
    response = client.post(
        f"/api/v1/mailings/{mailing_id}/schedule/", {"at": at.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "scheduled"
    mailing = Mailing.objects.get(pk=mailing_id)
    assert mailing.status == Mailing.Status.SCHEDULED
    assert mailing.scheduled_at == at

    response = client.post(f"/api/v1/mailings/{mailing_id}/cancel/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CANCELLED
    assert mailing.finished_at is not None
    assert not Delivery.objects.filter(mailing=mailing).exists()

    body = assert_error_shape(client.post(f"/api/v1/mailings/{mailing_id}/cancel/"))
    assert body["message"] == "This mailing can no longer be cancelled."
    body = assert_error_shape(client.post(f"/api/v1/mailings/{mailing_id}/schedule/"))
    assert body["message"] == "This mailing is cancelled."


def test_schedule_without_a_time_is_now():
    members(1)
    mailing = MailingFactory()
    before = timezone.now()
    response = partner(scopes=WRITER).post(f"/api/v1/mailings/{mailing.pk}/schedule/")
    assert response.status_code == 200, response.content
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert before <= mailing.scheduled_at <= timezone.now()


def test_an_empty_audience_or_a_bad_template_cannot_be_scheduled():
    client = partner(scopes=WRITER)
    empty = MailingFactory()
    body = assert_error_shape(client.post(f"/api/v1/mailings/{empty.pk}/schedule/"))
    assert body["message"] == "Nobody is in this mailing's audience: it cannot be scheduled."

    members(1)
    broken = MailingFactory(body="Hello {{ first_name }}")  # saved around the API's checks
    body = assert_error_shape(client.post(f"/api/v1/mailings/{broken.pk}/schedule/"))
    assert body["errors"]["body"] == ["Message: {{ first_name }} is not a merge field."]
    for mailing in (empty, broken):
        mailing.refresh_from_db()
        assert mailing.status == Mailing.Status.DRAFT


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("yesterday", "Datetime has wrong format"),
        ("2001-01-01T00:00:00Z", "That time has passed"),
        ("9999-12-31T23:59:59Z", "more than two years ahead"),
        (["2030-01-01"], "Datetime has wrong format"),
    ],
    ids=["not-a-time", "past", "far-future", "a-list"],
)
def test_a_bad_schedule_time_is_a_400(at, message):
    members(1)
    mailing = MailingFactory()
    response = partner(scopes=WRITER).post(
        f"/api/v1/mailings/{mailing.pk}/schedule/", {"at": at}, format="json"
    )
    body = assert_error_shape(response)
    assert any(message in text for text in body["errors"]["at"]), body
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT


def test_pause_and_resume_a_sending_mailing_and_cancel_skips_the_queue():
    members(3)
    mailing = started(MailingFactory())
    client = partner(scopes=WRITER)

    body = assert_error_shape(client.post(f"/api/v1/mailings/{mailing.pk}/resume/"))
    assert body["message"] == "Only a paused mailing can be resumed."
    assert client.post(f"/api/v1/mailings/{mailing.pk}/pause/").json()["status"] == "paused"
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.PAUSED
    body = assert_error_shape(client.post(f"/api/v1/mailings/{mailing.pk}/pause/"))
    assert body["message"] == "Only a mailing that is sending can be paused."
    assert client.post(f"/api/v1/mailings/{mailing.pk}/resume/").json()["status"] == "sending"
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENDING

    Delivery.objects.filter(pk=Delivery.objects.order_by("pk")[0].pk).update(
        status=Delivery.Status.SENT, sent_at=timezone.now()
    )
    response = client.post(f"/api/v1/mailings/{mailing.pk}/cancel/")
    assert response.json()["progress"] == {
        "recipients": 3,
        "sent": 1,
        "failed": 0,
        "skipped": 2,
        "remaining": 0,
    }
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent", "skipped"}


def test_unknown_mailings_are_404_for_actions_too():
    client = partner(scopes=WRITER)
    assert_error_shape(client.post("/api/v1/mailings/999/cancel/"), 404)
    assert_error_shape(client.post("/api/v1/mailings/" + "9" * 30 + "/schedule/"), 404)
    assert_error_shape(client.get("/api/v1/mailings/999/"), 404)


# --- Reading: progress, filters, deliveries -----------------------------------------------------


def test_progress_and_filters():
    members(2)
    campaign = CampaignFactory()
    sending = started(MailingFactory(name="Sending one"))
    first, second = Delivery.objects.filter(mailing=sending).order_by("pk")
    Delivery.objects.filter(pk=first.pk).update(status=Delivery.Status.SENT)
    Delivery.objects.filter(pk=second.pk).update(status=Delivery.Status.FAILED, reason="550")
    draft = MailingFactory(campaign=campaign, name="Draft one")
    client = partner()

    row = client.get(f"/api/v1/mailings/{sending.pk}/").json()
    assert row["status"] == "sending"
    assert row["progress"] == {
        "recipients": 2,
        "sent": 1,
        "failed": 1,
        "skipped": 0,
        "remaining": 0,
    }

    def ids(params):
        response = client.get("/api/v1/mailings/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids({"status": "sending"}) == [sending.pk]
    assert ids({"campaign": campaign.pk}) == [draft.pk]
    assert ids({"search": "draft one"}) == [draft.pk]
    assert ids({"campaign": "9" * 25}) == []
    assert_error_shape(client.get("/api/v1/mailings/", {"status": "lost"}))
    assert_error_shape(client.get("/api/v1/mailings/", {"campaign": "x"}))


def test_deliveries_by_mailing_with_the_address_only_for_read_contacts():
    members(2)
    mailing = started(MailingFactory())
    other = started(MailingFactory())
    first = Delivery.objects.filter(mailing=mailing).order_by("pk").first()
    Delivery.objects.filter(pk=first.pk).update(
        status=Delivery.Status.FAILED, reason=f"550 5.1.1 <{first.email}>: mailbox unknown"
    )

    rows = partner().get("/api/v1/deliveries/", {"mailing": mailing.pk}).json()["results"]
    assert {row["mailing"] for row in rows} == {mailing.pk}
    assert len(rows) == 2
    assert all("email" not in row for row in rows)
    failed = next(row for row in rows if row["id"] == first.pk)
    assert failed["status"] == "failed"
    assert failed["reason"] == "550 5.1.1 <[address]>: mailbox unknown"
    assert first.email not in str(rows)

    with_contacts = partner(scopes=["read:mailings", "read:contacts"])
    rows = with_contacts.get("/api/v1/deliveries/", {"mailing": mailing.pk}).json()["results"]
    by_id = {row["id"]: row for row in rows}
    assert by_id[first.pk]["email"] == first.email
    assert first.email in by_id[first.pk]["reason"]

    assert len(partner().get("/api/v1/deliveries/").json()["results"]) == 4
    statuses = partner().get("/api/v1/deliveries/", {"status": "failed"}).json()["results"]
    assert [row["id"] for row in statuses] == [first.pk]
    assert other.pk not in {row["mailing"] for row in statuses}
    assert_error_shape(partner().get("/api/v1/deliveries/", {"mailing": "first"}))
    assert "search" not in str(partner().get("/api/v1/deliveries/?search=x").json())


@pytest.mark.parametrize("rows", [1, 100])
def test_mailing_list_queries_are_constant(rows, django_assert_num_queries):
    sector = SectorFactory()
    members(1, sector=sector)
    for _ in range(rows):
        mailing = MailingFactory()
        mailing.sectors.set([sector])
    started(Mailing.objects.first())
    client = partner()
    # The key, its last-used stamp, one page of mailings with their progress, their sectors,
    # their tags.
    with django_assert_num_queries(5):
        response = client.get("/api/v1/mailings/")
    results = response.json()["results"]
    assert len(results) == rows
    assert all(row["sectors"] == [sector.pk] for row in results)


@pytest.mark.parametrize("rows", [1, 100])
def test_delivery_list_queries_are_constant(rows, django_assert_num_queries):
    members(rows)
    mailing = started(MailingFactory())
    client = partner(scopes=["read:mailings", "read:contacts"])
    # The key, its last-used stamp, one page of deliveries.
    with django_assert_num_queries(3):
        response = client.get("/api/v1/deliveries/", {"mailing": mailing.pk})
    assert len(response.json()["results"]) == rows


def test_the_schema_describes_the_actions_and_their_bodies(client):
    document = client.get("/api/schema/?format=json").json()
    paths = document["paths"]
    schedule = paths["/api/v1/mailings/{id}/schedule/"]["post"]
    ref = schedule["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "at" in document["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    for verb in ("cancel", "pause", "resume"):
        operation = paths[f"/api/v1/mailings/{{id}}/{verb}/"]["post"]
        assert "requestBody" not in operation
        assert {"200", "400", "403", "404"} <= set(operation["responses"])
    deliveries = {p["name"] for p in paths["/api/v1/deliveries/"]["get"]["parameters"]}
    assert {"mailing", "status", "organization", "modified_since"} <= deliveries
    assert "search" not in deliveries
    mailings = {p["name"] for p in paths["/api/v1/mailings/"]["get"]["parameters"]}
    assert {"status", "campaign", "modified_since", "created_since", "search"} <= mailings
