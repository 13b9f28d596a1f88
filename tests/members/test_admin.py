"""The conveners' admin for the member directory: lists, bulk actions, timeline, sign-in links."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from campaigns.models import Signature
from celerytasks.accounts import send_sign_in_link
from members.models import (
    Affiliation,
    Contact,
    ImportRun,
    Interaction,
    Organization,
    Sector,
    Tag,
)
from tests.factories import (
    AffiliationFactory,
    CampaignFactory,
    ContactFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def directory_rows(count: int):
    """``count`` organisations, each with a primary contact, a tag, a timeline entry and a
    signature: made with bulk_create so a thousand take a moment."""
    sector = Sector.objects.get(slug="public")
    tag = Tag.objects.create(name="Hosts trainings", slug="hosts-trainings")
    campaign = CampaignFactory()
    organizations = Organization.objects.bulk_create(
        Organization(
            name=f"Bulk Organisation {n:04}",
            slug=f"bulk-organisation-{n}",
            sector=sector,
            status=Organization.Status.ACTIVE,
            city="Atlanta",
            county="Fulton",
        )
        for n in range(count)
    )
    contacts = Contact.objects.bulk_create(
        Contact(given_name=f"Given{n}", family_name="Bulk", email=f"bulk{n}@example.org")
        for n in range(count)
    )
    Affiliation.objects.bulk_create(
        Affiliation(contact=contact, organization=organization, role=Affiliation.Role.PRIMARY)
        for contact, organization in zip(contacts, organizations, strict=True)
    )
    Organization.tags.through.objects.bulk_create(
        Organization.tags.through(organization=organization, tag=tag)
        for organization in organizations
    )
    Interaction.objects.bulk_create(
        Interaction(organization=organization, contact=contact, text="Called about January.")
        for contact, organization in zip(contacts, organizations, strict=True)
    )
    Signature.objects.bulk_create(
        Signature(
            campaign=campaign,
            contact=contact,
            organization=organization,
            name=str(contact),
            email=contact.email,
            confirmed_at=timezone.now(),
        )
        for contact, organization in zip(contacts, organizations, strict=True)
    )
    return organizations, contacts


# Queries on each list, whatever its length: session, user, the user's and the groups'
# permissions, the filtered and the total count, the page of rows, then each list's own
# prefetches, filter choices (sectors, tags, counties, campaigns) and date-hierarchy range.
CHANGELIST_QUERIES = {
    "/admin/members/organization/": 12,
    "/admin/members/contact/": 9,
    "/admin/members/affiliation/": 7,
    "/admin/members/interaction/": 9,
    "/admin/campaigns/signature/": 7,
}


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("url", list(CHANGELIST_QUERIES))
def test_each_list_takes_the_same_queries_for_ten_rows_and_a_thousand(
    convener_client, django_assert_num_queries, url, rows
):
    directory_rows(rows)

    with django_assert_num_queries(CHANGELIST_QUERIES[url]):
        response = convener_client.get(url)

    assert response.status_code == 200
    assert f"{rows} " in response.content.decode()  # "10 organisations" / "1000 contacts"


def test_the_organisation_list_names_each_primary_contact(convener_client):
    AffiliationFactory(
        organization__name="Safe Harbor Atlanta",
        contact__given_name="Rosa",
        contact__family_name="Parks",
    )

    page = convener_client.get("/admin/members/organization/").content.decode()

    assert "Safe Harbor Atlanta" in page
    assert "Rosa Parks" in page


def test_the_organisation_list_finds_an_organisation_by_a_contacts_email(convener_client):
    AffiliationFactory(organization__name="Safe Harbor Atlanta", contact__email="rosa@harbor.org")
    OrganizationFactory(name="Other Org")

    page = convener_client.get("/admin/members/organization/?q=rosa@harbor.org").content.decode()

    assert "Safe Harbor Atlanta" in page
    assert "Other Org" not in page


def test_the_organisation_list_has_import_and_filtered_export_buttons(convener_client):
    page = convener_client.get("/admin/members/organization/?status__exact=active").content.decode()

    assert 'href="/admin/members/import/"' in page
    assert "Import members" in page
    assert 'href="/admin/members/organization/export/?status__exact=active"' in page


def test_the_contact_list_has_a_filtered_export_button(convener_client):
    page = convener_client.get("/admin/members/contact/?language__exact=es").content.decode()

    assert 'href="/admin/members/contact/export/?language__exact=es"' in page


def test_the_contact_list_shows_each_persons_organisations_and_roles(convener_client):
    signatory = AffiliationFactory(
        organization__name="Safe Harbor Atlanta",
        contact__email="rosa@harbor.org",
        role=Affiliation.Role.SIGNATORY,
    )
    AffiliationFactory(
        contact=signatory.contact,
        organization=signatory.organization,
        role=Affiliation.Role.PRIMARY,
    )

    page = convener_client.get("/admin/members/contact/").content.decode()

    assert "Safe Harbor Atlanta (Primary contact, Signatory)" in page


def test_a_bulk_status_change_records_who_made_it(convener_client, convener):
    lapsing = OrganizationFactory(status=Organization.Status.ACTIVE)
    staying = OrganizationFactory(status=Organization.Status.ACTIVE)

    response = convener_client.post(
        "/admin/members/organization/",
        {"action": "set_status_lapsed", "_selected_action": [lapsing.pk]},
        follow=True,
    )

    lapsing.refresh_from_db()
    staying.refresh_from_db()
    assert lapsing.status == Organization.Status.LAPSED
    assert lapsing.left_on == timezone.localdate()
    assert staying.status == Organization.Status.ACTIVE
    assert lapsing.history.first().history_user == convener
    assert "1 organisation set to Lapsed." in messages_of(response)


def test_adding_a_tag_asks_for_its_name_then_tags_the_selected(convener_client):
    chosen = OrganizationFactory(name="Chosen Org")
    other = OrganizationFactory(name="Other Org")
    Tag.objects.create(name="Hosts trainings", slug="hosts-trainings")

    confirmation = convener_client.post(
        "/admin/members/organization/", {"action": "add_tag", "_selected_action": [chosen.pk]}
    )
    page = confirmation.content.decode()
    assert "Add a tag to 1 organisation" in page
    assert "Chosen Org" in page
    assert "csrfmiddlewaretoken" in page
    assert not chosen.tags.exists()

    response = convener_client.post(
        "/admin/members/organization/",
        {
            "action": "add_tag",
            "_selected_action": [chosen.pk],
            "apply": "1",
            "tag": "  hosts   TRAININGS ",
        },
        follow=True,
    )

    assert list(chosen.tags.values_list("name", flat=True)) == ["Hosts trainings"]
    assert not other.tags.exists()
    assert Tag.objects.count() == 1
    assert "Tagged 1 organisation “Hosts trainings”." in messages_of(response)


def test_a_blank_tag_name_is_asked_again_and_nothing_is_saved(convener_client):
    chosen = OrganizationFactory()

    response = convener_client.post(
        "/admin/members/organization/",
        {"action": "add_tag", "_selected_action": [chosen.pk], "apply": "1", "tag": "   "},
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Tag.objects.exists()


def organization_form_data(organization, **extra):
    return {
        "name": organization.name,
        "slug": organization.slug,
        "sector": organization.sector_id,
        "status": organization.status,
        "county": organization.county,
        "listed": "on",
        "affiliations-TOTAL_FORMS": "0",
        "affiliations-INITIAL_FORMS": "0",
        "interactions-TOTAL_FORMS": "0",
        "interactions-INITIAL_FORMS": "0",
        **extra,
    }


def test_a_timeline_entry_added_on_an_organisation_is_signed_by_the_convener(
    convener_client, convener
):
    organization = OrganizationFactory()
    Interaction.objects.create(
        organization=organization,
        text="Older note",
        occurred_at=timezone.now() - datetime.timedelta(days=30),
    )

    response = convener_client.post(
        f"/admin/members/organization/{organization.pk}/change/",
        organization_form_data(
            organization,
            **{
                "interactions-TOTAL_FORMS": "2",
                "interactions-INITIAL_FORMS": "1",
                "interactions-0-id": Interaction.objects.get().pk,
                "interactions-0-organization": organization.pk,
                "interactions-0-kind": "note",
                "interactions-0-occurred_at_0": (
                    timezone.localtime() - datetime.timedelta(days=30)
                ).strftime("%Y-%m-%d"),
                "interactions-0-occurred_at_1": "09:00:00",
                "interactions-0-text": "Older note",
                "interactions-1-organization": organization.pk,
                "interactions-1-kind": "call",
                "interactions-1-occurred_at_0": timezone.localdate().strftime("%Y-%m-%d"),
                "interactions-1-occurred_at_1": "10:30:00",
                "interactions-1-subject": "January statement",
                "interactions-1-text": "They will sign and share it.",
            },
        ),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    entry = Interaction.objects.get(subject="January statement")
    assert entry.author == convener
    assert entry.organization == organization
    assert entry.kind == Interaction.Kind.CALL
    page = convener_client.get(f"/admin/members/organization/{organization.pk}/change/")
    text = page.content.decode()
    assert text.index("January statement") < text.index("Older note")  # newest first


def test_sending_sign_in_links_reports_each_person(
    convener_client, convener, django_capture_on_commit_callbacks, mailoutbox
):
    editor = AffiliationFactory(
        role=Affiliation.Role.EDITOR, contact__given_name="Eda", contact__email="eda@example.org"
    ).contact
    signer = ContactFactory(given_name="Sam", email="sam@example.org")

    with django_capture_on_commit_callbacks() as queued:
        response = convener_client.post(
            "/admin/members/contact/",
            {"action": "send_sign_in_link", "_selected_action": [editor.pk, signer.pk]},
            follow=True,
        )

    shown = messages_of(response)
    assert "Sign-in link sent to Eda Person (eda@example.org)." in shown
    assert (
        "Sam Person (sam@example.org): Only profile editors and signatories of a member "
        "organisation can sign in." in shown
    )
    # One e-mail is queued for after the commit; the worker's task sends it.
    assert len(queued) == 1
    send_sign_in_link(editor.pk, convener.pk)
    assert [message.to for message in mailoutbox] == [["eda@example.org"]]
    assert "/account/login/?sesame=" in mailoutbox[0].body


def test_tags_list_counts_organisations(convener_client, django_assert_num_queries):
    directory_rows(3)

    page = convener_client.get("/admin/members/tag/").content.decode()

    assert "Hosts trainings" in page
    assert '<td class="field-organization_count">3</td>' in page


def test_import_runs_are_listed_read_only_with_links_to_their_report(convener_client, convener):
    run = ImportRun.objects.create(
        filename="members-2026.csv",
        content="name\n",
        created_by=convener,
        status=ImportRun.Status.DONE,
        total_rows=12,
        processed_rows=12,
    )

    page = convener_client.get("/admin/members/importrun/").content.decode()

    assert f'href="/admin/members/import/{run.pk}/"' in page
    assert "12 / 12" in page
    assert convener_client.get("/admin/members/importrun/add/").status_code == 403


def test_tombstones_cannot_be_added_or_changed(convener_client):
    OrganizationFactory().delete()

    page = convener_client.get("/admin/members/tombstone/").content.decode()

    assert "members.organization" in page
    assert convener_client.get("/admin/members/tombstone/add/").status_code == 403


# -- actions need the change permission, not only the view permission ---------------------------


@pytest.fixture
def viewer_client(client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_organization", "view_contact"])
    )
    client.force_login(user)
    return client


def test_staff_who_may_only_view_cannot_change_status_tag_or_send_links(viewer_client):
    organization = OrganizationFactory(status="prospect")
    editor = AffiliationFactory(organization=organization, role=Affiliation.Role.EDITOR).contact

    for url, data in [
        ("/admin/members/organization/", {"action": "set_status_active"}),
        ("/admin/members/organization/", {"action": "add_tag", "apply": "1", "tag": "pwned"}),
    ]:
        viewer_client.post(url, {**data, "_selected_action": [organization.pk]})
    viewer_client.post(
        "/admin/members/contact/",
        {"action": "send_sign_in_link", "_selected_action": [editor.pk]},
    )

    organization.refresh_from_db()
    editor.refresh_from_db()
    assert organization.status == "prospect"
    assert organization.tags.count() == 0
    assert editor.user_id is None
