"""Member self-service: editors sign in and keep their organisation's profile and contacts."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from celerytasks.accounts import send_sign_in_link
from crm.errors import ApplicationError
from crm.roles import convener_group_ensure
from members import accounts
from members.models import (
    Affiliation,
    ApprovalRequiredField,
    Contact,
    Interaction,
    Organization,
    ProfileChange,
    Sector,
)
from members.views_account import LINK_SENT
from tests.factories import AffiliationFactory, ContactFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_cache(settings):
    # Rate limits live in the cache: each test starts with none counted.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "self-service-tests",
        }
    }
    settings.SITE_URL = "https://crm.example.org"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def organization():
    return OrganizationFactory(
        name="Harbor Light Shelter", slug="harbor-light", website="https://harbor.example.org"
    )


@pytest.fixture
def editor(organization):
    return AffiliationFactory(
        organization=organization,
        role=Affiliation.Role.EDITOR,
        contact__given_name="Eda",
        contact__family_name="Okafor",
        contact__email="eda@example.org",
    ).contact


@pytest.fixture
def editor_user(editor):
    return accounts._user_for_contact(editor)


@pytest.fixture
def editor_client(client, editor_user):
    client.force_login(editor_user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def convener(db):
    user = get_user_model().objects.create_user("ada", password="x", is_staff=True)
    user.groups.add(convener_group_ensure())
    return user


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def request_link(client, email, **extra):
    return client.post(
        reverse("account:sign_in"), {"form": "link", "link-email": email}, follow=True, **extra
    )


def profile_data(organization, **changes):
    data = {
        "name": organization.name,
        "sector": organization.sector_id,
        "description": organization.description,
        "website": organization.website,
        "public_email": organization.public_email,
        "public_phone": organization.public_phone,
        "street_address": organization.street_address,
        "city": organization.city,
        "county": organization.county,
        "state": organization.state,
        "postal_code": organization.postal_code,
        "facebook": "",
        "instagram": "",
        "x_twitter": "",
        "linkedin": "",
        "bluesky": "",
        "listed": "on" if organization.listed else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- Sign-in links -----------------------------------------------------------------------------


def test_sign_in_link_flow_end_to_end(
    client, editor, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = request_link(client, "  EDA@Example.org ")
    assert LINK_SENT in messages_of(response)
    assert len(callbacks) == 1  # the task is queued once the request's transaction commits

    editor.refresh_from_db()
    user = editor.user
    assert user.username == "eda@example.org"
    assert not user.has_usable_password()
    assert not user.is_staff

    assert send_sign_in_link(editor.pk) is True  # what the worker runs
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["eda@example.org"]
    assert "Harbor Light Shelter" in message.body
    assert "works once, until" in message.body
    html = message.alternatives[0][0]
    assert "Harbor Light Shelter" in html
    link = re.search(r"https://crm\.example\.org(/account/login/\?sesame=[\w-]+)", message.body)
    assert link, message.body
    assert Interaction.objects.filter(
        contact=editor, kind=Interaction.Kind.EMAIL, subject="Sign-in link sent"
    ).exists()

    response = client.get(link.group(1), follow=True)
    assert response.redirect_chain[-1][0] == reverse("account:home")
    assert response.wsgi_request.user == user
    assert "Harbor Light Shelter" in response.content.decode()

    client.post(reverse("account:sign_out"))
    again = client.get(link.group(1))
    assert again.status_code == 403
    assert "This sign-in link no longer works" in again.content.decode()
    assert not again.wsgi_request.user.is_authenticated


@pytest.mark.parametrize("email", ["nobody@example.org", "staffer@example.org", "not-an-editor"])
def test_link_request_answers_the_same_and_sends_nothing(
    client, editor, email, django_capture_on_commit_callbacks, mailoutbox
):
    AffiliationFactory(contact__email="staffer@example.org", role=Affiliation.Role.STAFF)
    with django_capture_on_commit_callbacks(execute=True):
        response = request_link(client, email)
    if "@" in email:
        assert LINK_SENT in messages_of(response)
    else:
        assert "Please enter a valid e-mail address" in response.content.decode()
    assert mailoutbox == []
    assert not get_user_model().objects.filter(username=email).exists()


def test_link_requests_are_rate_limited_per_address(
    client, editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answers = [messages_of(request_link(client, "eda@example.org")) for _ in range(7)]
    assert all(LINK_SENT in shown for shown in answers)
    assert len(callbacks) == 5


def test_link_requests_are_rate_limited_per_client_address(
    client, editor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for n in range(20):
            request_link(client, f"someone{n}@example.org", REMOTE_ADDR="203.0.113.9")
        response = request_link(client, "eda@example.org", REMOTE_ADDR="203.0.113.9")
    assert LINK_SENT in messages_of(response)
    assert callbacks == []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_link(client, "eda@example.org", REMOTE_ADDR="198.51.100.7")
    assert len(callbacks) == 1


def test_sign_in_link_send_refuses_people_who_edit_nothing():
    signer = ContactFactory(email="sam@example.org")
    with pytest.raises(ApplicationError, match="Only profile editors"):
        accounts.sign_in_link_send(contact=signer)
    signer.refresh_from_db()
    assert signer.user is None


def test_sign_in_link_send_keeps_the_user_name_in_step_with_the_email(
    editor, editor_user, convener, django_capture_on_commit_callbacks
):
    Contact.objects.filter(pk=editor.pk).update(email="eda.okafor@example.org")
    editor.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        accounts.sign_in_link_send(contact=editor, requested_by=convener)
    editor_user.refresh_from_db()
    assert editor_user.username == "eda.okafor@example.org"
    assert editor_user.email == "eda.okafor@example.org"
    assert len(callbacks) == 1


def test_sign_in_link_is_not_sent_once_the_editor_role_is_gone(editor, editor_user, mailoutbox):
    Affiliation.objects.filter(contact=editor).delete()
    assert send_sign_in_link(editor.pk) is False
    assert mailoutbox == []


def test_a_conveners_account_gets_no_link(editor, convener):
    Contact.objects.filter(pk=editor.pk).update(user=convener)
    editor.refresh_from_db()
    with pytest.raises(ApplicationError):
        accounts.sign_in_link_send(contact=editor)


# --- Password ----------------------------------------------------------------------------------


def test_password_set_then_password_sign_in(client, editor_client, editor_user):
    response = editor_client.post(
        reverse("account:password"),
        {"new_password1": "short", "new_password2": "short"},
    )
    assert "This password is too short" in response.content.decode()

    response = editor_client.post(
        reverse("account:password"),
        {"new_password1": "harbor-light-2026!", "new_password2": "harbor-light-2026!"},
        follow=True,
    )
    assert "Your password is saved" in response.content.decode()
    editor_client.post(reverse("account:sign_out"))

    wrong = client.post(
        reverse("account:sign_in"),
        {"form": "password", "password-username": "eda@example.org", "password-password": "no"},
    )
    assert "do not match an account" in wrong.content.decode()
    assert not wrong.wsgi_request.user.is_authenticated

    response = client.post(
        reverse("account:sign_in"),
        {
            "form": "password",
            "password-username": "EDA@example.org",
            "password-password": "harbor-light-2026!",
        },
        follow=True,
    )
    assert response.wsgi_request.user == editor_user
    assert "Harbor Light Shelter" in response.content.decode()


def test_password_attempts_are_limited(client, editor_user):
    editor_user.set_password("harbor-light-2026!")
    editor_user.save()
    for _ in range(10):
        client.post(
            reverse("account:sign_in"),
            {"form": "password", "password-username": "eda@example.org", "password-password": "x"},
        )
    response = client.post(
        reverse("account:sign_in"),
        {
            "form": "password",
            "password-username": "eda@example.org",
            "password-password": "harbor-light-2026!",
        },
    )
    assert "Too many sign-in attempts" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


# --- Editing the profile -----------------------------------------------------------------------


def test_editor_saves_the_profile_with_normalised_phone_and_website(
    editor_client, organization, editor_user
):
    faith = Sector.objects.get(slug="multi-faith")
    response = editor_client.post(
        reverse("account:organization", args=[organization.slug]),
        {
            **profile_data(
                organization,
                description="We shelter survivors.",
                website="harbor-light.example.org",
                public_phone="(404) 555-0142",
                city="Atlanta",
                listed="",
            ),
            "secondary_sectors": [faith.pk, organization.sector_id],
        },
        follow=True,
    )
    assert "Your changes are saved." in messages_of(response)
    organization.refresh_from_db()
    assert organization.description == "We shelter survivors."
    assert organization.website == "https://harbor-light.example.org"
    assert organization.public_phone == "+14045550142"
    assert organization.city == "Atlanta"
    assert organization.listed is False
    assert list(organization.secondary_sectors.all()) == [faith]

    latest = organization.history.latest()
    assert latest.history_user == editor_user
    page = response.content.decode()
    assert "Eda Okafor" in page  # the history table names the editor
    assert re.search(r"Eda Okafor</td><td>Changed [^<]*Description[^<]*Public phone", page)


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"public_phone": "12"}, "Please enter a valid phone number."),
        ({"website": "not a web address"}, "Please enter a valid web address"),
        ({"public_email": "info@"}, "Please enter a valid e-mail address"),
        ({"name": "   "}, "Please enter your organisation&#x27;s name."),
        ({"sector": "999999"}, "Please choose one of the sectors listed."),
        ({"postal_code": "1" * 30}, "Ensure this value has at most 20 characters"),
    ],
)
def test_invalid_profile_input_is_explained_and_nothing_is_saved(
    editor_client, organization, changes, field_message
):
    before = Organization.objects.filter(pk=organization.pk).values().get()
    response = editor_client.post(
        reverse("account:organization", args=[organization.slug]),
        profile_data(organization, city="Changed City", **changes),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_message in page
    assert "nothing was saved" in page
    assert Organization.objects.filter(pk=organization.pk).values().get() == before


def _png(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, "PNG")
    return buffer.getvalue()


def test_logo_upload_is_validated(editor_client, organization, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = reverse("account:organization", args=[organization.slug])
    not_image = SimpleUploadedFile("logo.png", b"plain text", content_type="image/png")
    response = editor_client.post(url, {**profile_data(organization), "logo": not_image})
    assert "this file is not one" in response.content.decode()

    big = SimpleUploadedFile("logo.png", _png() + b"\0" * (2 * 1024 * 1024), "image/png")
    response = editor_client.post(url, {**profile_data(organization), "logo": big})
    assert "The logo must be 2 MB or smaller" in response.content.decode()
    organization.refresh_from_db()
    assert not organization.logo

    good = SimpleUploadedFile("Harbor Logo.png", _png(), content_type="image/png")
    editor_client.post(url, {**profile_data(organization), "logo": good})
    organization.refresh_from_db()
    assert organization.logo.name.startswith("logos/Harbor_Logo-")
    assert (tmp_path / organization.logo.name).exists()


def test_fields_needing_approval_wait_then_a_convener_approves(
    editor_client, organization, editor_user, convener, client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ApprovalRequiredField.objects.create(field="name")
    ApprovalRequiredField.objects.create(field="sector")
    ApprovalRequiredField.objects.create(field="logo")
    private = Sector.objects.get(slug="private")
    organization.refresh_from_db()
    response = editor_client.post(
        reverse("account:organization", args=[organization.slug]),
        {
            **profile_data(
                organization, name="Harbor Light Shelters", sector=private.pk, city="Decatur"
            ),
            "logo": SimpleUploadedFile("new.png", _png(), content_type="image/png"),
        },
        follow=True,
    )
    shown = messages_of(response)
    assert "Your changes are saved." in shown
    held = next(m for m in shown if m.startswith("These changes wait for a convener"))
    assert "Name → Harbor Light Shelters" in held
    assert "Sector → Private" in held
    page = response.content.decode()
    assert "Waiting for a convener" in page
    assert "Harbor Light Shelters" in page

    organization.refresh_from_db()
    assert organization.name == "Harbor Light Shelter"  # held
    assert organization.city == "Decatur"  # applied
    assert not organization.logo
    changes = ProfileChange.objects.filter(organization=organization)
    assert set(changes.values_list("field", "status")) == {
        ("name", "pending"),
        ("sector", "pending"),
        ("logo", "pending"),
    }
    assert all(change.requested_by == editor_user for change in changes)

    client.force_login(convener)
    listing = client.get(reverse("admin:members_profilechange_changelist"))
    assert "Harbor Light Shelter → Harbor Light Shelters" in listing.content.decode()
    assert f"{organization.sector.name} → Private" in listing.content.decode()
    response = client.post(
        reverse("admin:members_profilechange_changelist"),
        {"action": "approve_selected", "_selected_action": [c.pk for c in changes]},
        follow=True,
    )
    assert "Approved 3 changes." in messages_of(response)
    organization.refresh_from_db()
    assert organization.name == "Harbor Light Shelters"
    assert organization.sector == private
    assert (tmp_path / organization.logo.name).exists()

    again = client.post(
        reverse("admin:members_profilechange_changelist"),
        {"action": "reject_selected", "_selected_action": [changes[0].pk]},
        follow=True,
    )
    assert any("already decided" in m for m in messages_of(again))


def test_a_convener_rejects_a_change(editor_client, organization, convener, client):
    ApprovalRequiredField.objects.create(field="name")
    editor_client.post(
        reverse("account:organization", args=[organization.slug]),
        profile_data(organization, name="Something Else"),
    )
    change = ProfileChange.objects.get(organization=organization)
    client.force_login(convener)
    response = client.post(
        reverse("admin:members_profilechange_changelist"),
        {"action": "reject_selected", "_selected_action": [change.pk]},
        follow=True,
    )
    assert "Rejected 1 change." in messages_of(response)
    organization.refresh_from_db()
    assert organization.name == "Harbor Light Shelter"
    change.refresh_from_db()
    assert change.status == ProfileChange.Status.REJECTED
    assert change.decided_by == convener


def test_conveners_mark_fields_as_needing_approval_in_the_admin(client, convener):
    client.force_login(convener)
    response = client.post(
        reverse("admin:members_approvalrequiredfield_add"), {"field": "website"}, follow=True
    )
    assert response.status_code == 200
    assert ApprovalRequiredField.objects.filter(field="website").exists()


def test_history_shows_the_last_ten_changes_with_the_editor_as_author(editor_client, organization):
    url = reverse("account:organization", args=[organization.slug])
    for n in range(12):
        editor_client.post(url, profile_data(organization, city=f"Town {n}"))
    page = editor_client.get(url).content.decode()
    history = page.split('id="history-heading"')[1]
    assert history.count("Eda Okafor") == 10
    assert history.count("Changed City") == 10


# --- Contacts ----------------------------------------------------------------------------------


def test_contacts_list_add_edit_remove(editor_client, organization, editor, editor_user):
    url = reverse("account:contacts", args=[organization.slug])
    page = editor_client.get(url).content.decode()
    assert "eda@example.org" in page and "Profile editor" in page

    response = editor_client.post(
        reverse("account:contact_add", args=[organization.slug]),
        {
            "email": " Rafael@Example.org ",
            "given_name": "Rafael",
            "family_name": "Ortiz",
            "title": "Outreach lead",
            "phone": "404 555 0177",
            "role": Affiliation.Role.STAFF,
        },
        follow=True,
    )
    assert "Rafael Ortiz is added to Harbor Light Shelter." in messages_of(response)
    rafael = Contact.objects.get(email="rafael@example.org")
    assert rafael.phone == "+14045550177"
    assert rafael.history.latest().history_user == editor_user
    assert "Outreach lead" in response.content.decode()

    response = editor_client.post(
        reverse("account:contact_edit", args=[organization.slug, rafael.pk]),
        {"given_name": "Rafa", "family_name": "Ortiz", "title": "", "phone": "abc"},
    )
    page = response.content.decode()
    assert "Please enter a valid phone number." in page
    assert "Please choose English or Español." not in page
    rafael.refresh_from_db()
    assert rafael.given_name == "Rafael"

    response = editor_client.post(
        reverse("account:contact_edit", args=[organization.slug, rafael.pk]),
        {
            "given_name": "Rafa",
            "family_name": "Ortiz",
            "title": "Director",
            "phone": "",
            "language": "es",
        },
        follow=True,
    )
    assert "Saved the details of rafael@example.org." in messages_of(response)
    rafael.refresh_from_db()
    assert (rafael.given_name, rafael.title, rafael.phone, rafael.language) == (
        "Rafa",
        "Director",
        "",
        "es",
    )

    elsewhere = OrganizationFactory()
    AffiliationFactory(contact=rafael, organization=elsewhere, role=Affiliation.Role.PRIMARY)
    response = editor_client.post(
        reverse("account:contact_remove", args=[organization.slug, rafael.pk]), follow=True
    )
    assert "Rafa Ortiz is no longer listed with Harbor Light Shelter." in messages_of(response)
    assert not Affiliation.objects.filter(contact=rafael, organization=organization).exists()
    assert Affiliation.objects.filter(contact=rafael, organization=elsewhere).exists()
    assert Contact.objects.filter(pk=rafael.pk).exists()


def test_an_editor_cannot_attach_someone_the_directory_holds_elsewhere(editor_client, organization):
    known = ContactFactory(
        email="known@example.org", given_name="Known", title="Pastor", phone="+14045550199"
    )
    response = editor_client.post(
        reverse("account:contact_add", args=[organization.slug]),
        {
            "email": "KNOWN@example.org",
            "given_name": "Other",
            "title": "Changed",
            "role": Affiliation.Role.SIGNATORY,
        },
    )

    page = response.content.decode()
    assert "Ask a convener to add them to your organisation." in page
    # Nothing another organisation or a signer gave us is shown to this editor.
    assert "Pastor" not in page and "5550199" not in page and "Known" not in page
    known.refresh_from_db()
    assert (known.given_name, known.title) == ("Known", "Pastor")
    assert not Affiliation.objects.filter(contact=known, organization=organization).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"email": "", "given_name": "A", "role": "staff"},
            "Please enter the person&#x27;s e-mail",
        ),
        ({"email": "a@", "given_name": "A", "role": "staff"}, "Please enter a valid e-mail"),
        ({"email": "a@example.org", "given_name": " ", "role": "staff"}, "given name"),
        ({"email": "a@example.org", "given_name": "A", "role": "boss"}, "one of the roles"),
        (
            {"email": "a@example.org", "given_name": "A", "role": "staff", "phone": "x"},
            "Please enter a valid phone number.",
        ),
    ],
)
def test_adding_a_contact_validates_each_field(editor_client, organization, data, message):
    response = editor_client.post(reverse("account:contact_add", args=[organization.slug]), data)
    assert message in response.content.decode()
    assert not Contact.objects.filter(email="a@example.org").exists()


def test_the_last_editor_cannot_remove_themselves(editor_client, organization, editor):
    url = reverse("account:contact_remove", args=[organization.slug, editor.pk])
    assert "Add another profile editor" in editor_client.get(url).content.decode()
    response = editor_client.post(url, follow=True)
    assert any("only profile editor" in m for m in messages_of(response))
    assert Affiliation.objects.filter(
        contact=editor, organization=organization, role=Affiliation.Role.EDITOR
    ).exists()


def test_an_editor_with_a_colleague_can_leave_and_loses_access(editor_client, organization, editor):
    AffiliationFactory(organization=organization, role=Affiliation.Role.EDITOR)
    response = editor_client.post(
        reverse("account:contact_remove", args=[organization.slug, editor.pk]), follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("account:home")
    assert "does not edit any member organisation" in response.content.decode()
    assert (
        editor_client.get(reverse("account:organization", args=[organization.slug])).status_code
        == 404
    )


def test_account_pages_need_csrf_tokens(editor_user, organization):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor_user, backend="django.contrib.auth.backends.ModelBackend")
    response = strict.post(
        reverse("account:organization", args=[organization.slug]),
        profile_data(organization, city="Nowhere"),
    )
    assert response.status_code == 403
    organization.refresh_from_db()
    assert organization.city != "Nowhere"


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_list_pages_make_the_same_number_of_queries_for_one_row_and_many(
    editor_client, organization, editor
):
    contacts_url = reverse("account:contacts", args=[organization.slug])
    home_url = reverse("account:home")
    one = (_queries(editor_client, contacts_url), _queries(editor_client, home_url))
    for _ in range(6):
        AffiliationFactory(organization=organization, role=Affiliation.Role.STAFF)
        AffiliationFactory(contact=editor, role=Affiliation.Role.EDITOR)
    many = (_queries(editor_client, contacts_url), _queries(editor_client, home_url))
    assert one == many
    assert one == (6, 5)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_broker_outage_does_not_reveal_that_an_address_belongs_to_an_editor(client, monkeypatch):
    from celerytasks import app as celery_app

    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setitem(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    monkeypatch.setitem(celery_app.conf, "broker_connection_retry", False)
    monkeypatch.setitem(celery_app.conf, "broker_connection_max_retries", 0)
    AffiliationFactory(role=Affiliation.Role.EDITOR, contact__email="real.editor@example.org")

    answers = [
        client.post("/account/sign-in/", {"form": "link", "link-email": email}, follow=True)
        for email in ("real.editor@example.org", "nobody@example.org")
    ]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert [answer.redirect_chain for answer in answers][0] == answers[1].redirect_chain
    assert messages_of(answers[0]) == messages_of(answers[1])
    assert any("we have e-mailed a sign-in link" in m for m in messages_of(answers[0]))
