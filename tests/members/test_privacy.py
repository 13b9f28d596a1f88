"""A person's rights: a copy of everything held about them, and erasure that keeps counts right."""

import json

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import models
from django.db.models.functions import Cast
from django.utils import timezone

from campaigns.models import Signature
from campaigns.services import campaign_signature_counts_refresh
from crm.errors import ApplicationError
from mailings.models import Delivery
from members import privacy, services
from members.models import Affiliation, Contact, Interaction, Tombstone
from tests.factories import (
    CampaignFactory,
    MailingFactory,
    OrganizationFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

EMAIL = "rosa.parks@harbor.example.org"


@pytest.fixture
def person(convener):
    """Rosa: an editor of a member organisation, with an account, notes and two signatures."""
    organization = OrganizationFactory(name="Safe Harbor Atlanta")
    contact, _ = services.contact_upsert(
        email=EMAIL, given_name="Rosa", family_name="Parks", phone="+14045550123", actor=convener
    )
    services.contact_update(contact=contact, data={"title": "Director"}, actor=convener)
    services.affiliation_ensure(
        contact=contact, organization=organization, role=Affiliation.Role.EDITOR, actor=convener
    )
    contact = services.contact_update(
        contact=contact,
        data={"user": get_user_model().objects.create_user(EMAIL, email=EMAIL)},
        actor=convener,
    )
    services.interaction_record(
        kind="call",
        text=f"Rosa ({EMAIL}) will host the January training.",
        subject="Training",
        organization=organization,
        contact=contact,
        author=convener,
    )
    services.interaction_record(kind="note", text="Prefers calls.", contact=contact)
    statement = CampaignFactory(title="January statement", public_list=True)
    SignatureFactory(
        campaign=statement,
        contact=contact,
        organization=organization,
        affiliation="Safe Harbor Atlanta",
        message="Proud to sign.",
        phone="+14045550123",
        show_publicly=True,
    )
    SignatureFactory(
        campaign=CampaignFactory(title="Pledge"),
        contact=contact,
        affiliation="Rosa's own consultancy",
        show_publicly=True,
    )
    SignatureFactory.create_batch(3, campaign=statement, show_publicly=True)
    Delivery.objects.create(
        mailing=MailingFactory(name="January toolkit", subject="The January toolkit"),
        contact=contact,
        organization=organization,
        email=EMAIL,
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        message_id="<toolkit-1@crm.example.org>",
    )
    return contact


def rows_containing(text: str) -> list[str]:
    """Every row, in every table Django knows (history tables too), with ``text`` in it."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            rows = model._base_manager.all()
            if isinstance(field, models.CharField | models.TextField):
                rows = rows.filter(**{f"{field.attname}__icontains": text})
            elif isinstance(field, models.JSONField):
                rows = rows.annotate(_as_text=Cast(field.attname, models.TextField())).filter(
                    _as_text__icontains=text
                )
            else:
                continue
            found += [
                f"{model._meta.label}.{field.name} #{pk}"
                for pk in rows.values_list("pk", flat=True)
            ]
    return found


def public_signers(campaign) -> list[str]:
    return list(
        Signature.objects.filter(
            campaign=campaign, confirmed_at__isnull=False, show_publicly=True
        ).values_list("name", flat=True)
    )


def test_the_export_holds_everything_about_the_person(person):
    data = privacy.person_export(contact=person)

    assert data["contact"]["email"] == EMAIL
    assert data["contact"]["title"] == "Director"
    assert data["affiliations"] == [
        {
            "organization_id": person.organizations.get().pk,
            "organization": "Safe Harbor Atlanta",
            "role": "editor",
            "since": data["affiliations"][0]["since"],
        }
    ]
    assert {entry["text"] for entry in data["interactions"]} == {
        f"Rosa ({EMAIL}) will host the January training.",
        "Prefers calls.",
    }
    assert {(s["campaign"], s["message"]) for s in data["signatures"]} == {
        ("January statement", "Proud to sign."),
        ("Pledge", ""),
    }
    assert [row["history_type"] for row in data["history"]["contact"]] == ["+", "~", "~"]
    assert data["history"]["contact"][0]["history_user__username"] == "ada"
    assert [row["role"] for row in data["history"]["affiliations"]] == ["editor"]
    assert [(m["mailing"], m["subject"], m["email"], m["status"]) for m in data["mailings"]] == [
        ("January toolkit", "The January toolkit", EMAIL, "sent")
    ]
    assert data["account"]["username"] == EMAIL
    assert data["account"]["last_login"] is None
    json.dumps(data)  # plain JSON, nothing left for an encoder to guess


def test_a_convener_downloads_the_export_from_the_contact_page(convener_client, person):
    page = convener_client.get(f"/admin/members/contact/{person.pk}/change/").content.decode()
    assert f'href="/admin/members/contact/{person.pk}/personal-data/"' in page
    assert "Export personal data (JSON)" in page
    assert f'href="/admin/members/contact/{person.pk}/erase/"' in page

    response = convener_client.get(f"/admin/members/contact/{person.pk}/personal-data/")

    assert response["Content-Disposition"] == f'attachment; filename="contact-{person.pk}.json"'
    assert json.loads(response.content)["contact"]["email"] == EMAIL


def test_erasure_leaves_the_email_nowhere_and_the_counts_unchanged(person, convener):
    statement = person.signatures.get(campaign__title="January statement").campaign
    pledge = person.signatures.get(campaign__title="Pledge").campaign
    organization = person.organizations.get()
    counts_before = campaign_signature_counts_refresh()
    signers_before = public_signers(statement)
    assert rows_containing(EMAIL)  # the search finds what is there
    contact_id, user_id = person.pk, person.user_id

    privacy.person_erase(contact=person, actor=convener)

    assert rows_containing(EMAIL) == []
    assert rows_containing("Rosa Parks") == []
    assert campaign_signature_counts_refresh() == counts_before
    assert len(public_signers(statement)) == len(signers_before)
    assert "Erased signer" in public_signers(statement)
    kept = Signature.objects.get(campaign=statement, name="Erased signer")
    assert (kept.affiliation, kept.organization, kept.contact) == (
        "Safe Harbor Atlanta",
        organization,
        None,
    )
    assert (kept.email, kept.phone, kept.message) == ("", "", "")
    assert kept.confirmed_at is not None
    assert Signature.objects.get(campaign=pledge).affiliation == ""
    assert Tombstone.objects.filter(model="members.contact", object_id=contact_id).exists()
    assert not Contact.objects.filter(pk=contact_id).exists()
    assert not get_user_model().objects.filter(pk=user_id).exists()
    assert not Affiliation.objects.filter(contact_id=contact_id).exists()
    assert not Contact.history.filter(id=contact_id).exists()
    assert not Affiliation.history.filter(contact_id=contact_id).exists()
    note = Interaction.objects.get()  # the note about Rosa alone is gone
    assert (note.organization, note.contact) == (organization, None)
    assert note.text == "Rosa ([erased]) will host the January training."
    # The mailing's figures stay right: the delivery stays, without the address.
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.email, delivery.contact) == ("sent", "", None)


def test_erasure_needs_permission_to_delete_contacts(person):
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="change_contact"))

    with pytest.raises(ApplicationError):
        privacy.person_erase(contact=person, actor=clerk)

    assert Contact.objects.filter(pk=person.pk).exists()
    assert Signature.objects.filter(contact=person).count() == 2


def test_the_admin_explains_erasure_then_erases_on_confirmation(convener_client, person):
    confirmation = convener_client.get(f"/admin/members/contact/{person.pk}/erase/")

    page = confirmation.content.decode()
    assert "cannot be undone" in page
    assert "2 signatures" in page
    assert "Their sign-in account: deleted." in page
    assert "csrfmiddlewaretoken" in page
    assert Contact.objects.filter(pk=person.pk).exists()

    response = convener_client.post(f"/admin/members/contact/{person.pk}/erase/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/members/contact/"
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == [
        f"Person #{person.pk} was erased: their signatures are anonymised and everything else "
        "held about them is deleted."
    ]
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert rows_containing(EMAIL) == []


def test_erasing_requires_a_csrf_token(client, convener, person):
    client.handler.enforce_csrf_checks = True
    client.force_login(convener)

    response = client.post(f"/admin/members/contact/{person.pk}/erase/")

    assert response.status_code == 403
    assert Contact.objects.filter(pk=person.pk).exists()


def test_a_user_who_may_not_delete_contacts_cannot_erase_from_the_admin(client, person):
    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_contact", "change_contact"])
    )
    client.force_login(clerk)

    page = client.get(f"/admin/members/contact/{person.pk}/change/").content.decode()
    assert "Erase person" not in page
    assert client.get(f"/admin/members/contact/{person.pk}/erase/").status_code == 403
    assert client.post(f"/admin/members/contact/{person.pk}/erase/").status_code == 403

    assert Contact.objects.filter(pk=person.pk).exists()


def test_erasing_someone_who_is_not_there_is_a_404(convener_client):
    assert convener_client.post("/admin/members/contact/999999/erase/").status_code == 404
    assert convener_client.get("/admin/members/contact/999999/personal-data/").status_code == 404


def test_confirmed_at_survives_erasure(person, convener):
    confirmed = set(
        Signature.objects.filter(contact=person).values_list("campaign_id", "confirmed_at")
    )

    privacy.person_erase(contact=person, actor=convener)

    assert (
        set(
            Signature.objects.filter(name="Erased signer").values_list(
                "campaign_id", "confirmed_at"
            )
        )
        == confirmed
    )
    assert all(at <= timezone.now() for _, at in confirmed)


def test_deleting_a_person_in_the_admin_leads_to_erasure(convener_client, person):
    response = convener_client.get(f"/admin/members/contact/{person.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == f"/admin/members/contact/{person.pk}/erase/"
    page = convener_client.get("/admin/members/contact/").content.decode()
    assert "delete_selected" not in page


def test_erasure_clears_what_signing_recorded_canonical_email_and_ip(convener):
    from tests.campaigns.helpers import sign_processed
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(double_opt_in=False)
    signature, _ = sign_processed(
        campaign=campaign,
        name="Ida Wells",
        email="Ida.B.Wells+statement@gmail.com",
        ip_address="203.0.113.7",
    )
    assert (signature.canonical_email, signature.ip_address) == (
        "idabwells@gmail.com",
        "203.0.113.7",
    )

    privacy.person_erase(contact=signature.contact, actor=convener)

    signature.refresh_from_db()
    assert (signature.canonical_email, signature.ip_address, signature.email) == ("", None, "")
    assert rows_containing("idabwells") == [] and rows_containing("203.0.113.7") == []
    assert campaign_signature_counts_refresh()[campaign.pk] == 1


def test_a_signature_erased_before_it_was_processed_is_found_and_stays_erased(convener):
    from campaigns.services import signature_record, signatures_process_pending
    from tests.campaigns.helpers import sign_processed
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(double_opt_in=False)
    first, _ = sign_processed(campaign=campaign, name="Ida Wells", email="ida.wells@example.org")
    # Signing again, and a second campaign, both still waiting for processing when erased.
    signature_record(
        campaign=campaign, name="Ida B. Wells", email="ida.wells@example.org", phone="404-555-0188"
    )
    waiting, _ = signature_record(
        campaign=CampaignFactory(), name="Ida Wells", email="Ida.Wells@example.org"
    )
    assert set(privacy.person_signatures(contact=first.contact)) == {first, waiting}

    privacy.person_erase(contact=first.contact, actor=convener)
    signatures_process_pending()

    assert not Contact.objects.filter(email="ida.wells@example.org").exists()
    assert rows_containing("ida.wells") == [] and rows_containing("Ida B.") == []
    assert rows_containing("555-0188") == [] and rows_containing("5550188") == []
    for signature in Signature.objects.all():
        assert (signature.contact, signature.email, signature.processed_at is not None) == (
            None,
            "",
            True,
        )
