"""A person's rights over their data: a copy of everything held about them, and erasure."""

from __future__ import annotations

import json

from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Replace
from django.utils import timezone

from campaigns.matching import email_canonical
from campaigns.models import Signature
from crm.errors import ApplicationError
from crm.events import emit
from mailings.models import Delivery
from members.models import Affiliation, Contact, Interaction

ERASED_SIGNER_NAME = "Erased signer"
ERASED_TEXT = "[erased]"

CONTACT_FIELDS = [
    "id",
    "given_name",
    "family_name",
    "email",
    "phone",
    "phone_raw",
    "title",
    "language",
    "email_status",
    "created",
    "modified",
]


def _plain(data):
    """Dates, decimals and UUIDs as the strings JSON would hold."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _history_rows(queryset, fields: list[str]) -> list[dict]:
    return list(
        queryset.order_by("history_date").values(
            "history_id", "history_date", "history_type", "history_user__username", *fields
        )
    )


def person_signatures(*, contact: Contact):
    """The person's signatures: linked to them, or given with their e-mail before they were."""
    return Signature.objects.filter(
        Q(contact=contact)
        | Q(email__iexact=contact.email)
        | Q(canonical_email=email_canonical(contact.email))
    )


def person_export(*, contact: Contact) -> dict:
    """Everything the CRM holds about the person, as JSON-ready data (a subject access request)."""
    contact = Contact.objects.select_related("user").get(pk=contact.pk)
    affiliations = (
        Affiliation.objects.filter(contact=contact)
        .order_by("organization__name", "role")
        .values("organization_id", "organization__name", "role", "created")
    )
    interactions = (
        Interaction.objects.filter(contact=contact)
        .order_by("-occurred_at")
        .values("id", "kind", "occurred_at", "subject", "text", "organization__name")
    )
    signatures = (
        person_signatures(contact=contact)
        .order_by("created")
        .values(
            "id",
            "campaign__title",
            "campaign__slug",
            "name",
            "affiliation",
            "organization__name",
            "email",
            "phone",
            "message",
            "show_publicly",
            "confirmed_at",
            "source",
            "created",
        )
    )
    mailings = (
        Delivery.objects.filter(contact=contact)
        .order_by("created")
        .values("mailing__name", "mailing__subject", "email", "status", "sent_at", "created")
    )
    user = contact.user
    data = {
        "contact": {field: getattr(contact, field) for field in CONTACT_FIELDS},
        "affiliations": [
            {
                "organization_id": row["organization_id"],
                "organization": row["organization__name"],
                "role": row["role"],
                "since": row["created"],
            }
            for row in affiliations
        ],
        "interactions": [
            {**row, "organization": row.pop("organization__name")} for row in interactions
        ],
        "signatures": [
            {
                **row,
                "campaign": row.pop("campaign__title"),
                "campaign_slug": row.pop("campaign__slug"),
                "organization": row.pop("organization__name"),
            }
            for row in signatures
        ],
        "mailings": [
            {
                "mailing": row.pop("mailing__name"),
                "subject": row.pop("mailing__subject"),
                **row,
            }
            for row in mailings
        ],
        "history": {
            "contact": _history_rows(
                Contact.history.filter(id=contact.pk),
                [f for f in CONTACT_FIELDS if f != "modified"],
            ),
            "affiliations": _history_rows(
                Affiliation.history.filter(contact_id=contact.pk), ["organization_id", "role"]
            ),
        },
        "account": (
            {
                "username": user.username,
                "email": user.email,
                "last_login": user.last_login,
                "date_joined": user.date_joined,
            }
            if user
            else None
        ),
    }
    return _plain(data)


def person_erase(*, contact: Contact, actor) -> None:
    """Erases the person and their personal data, keeping campaign counts and public lists right.

    Their signatures stay, anonymised, so a campaign's total and its public list of signers do
    not change; notes about an organisation stay with the organisation without naming them.
    History rows are purged too: they are copies of the personal data.
    """
    if not actor.has_perm("members.delete_contact"):
        raise ApplicationError("You do not have permission to erase people.")
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=contact.pk)
        )
        contact_id, email, user = contact.pk, contact.email, contact.user
        # Every row rewritten here is stamped as changed (QuerySet.update() leaves ``modified``
        # alone), so a partner's incremental pull replaces its copy with the anonymised one.
        now = timezone.now()

        signatures = person_signatures(contact=contact)
        signature_ids = list(signatures.values_list("pk", flat=True))
        # An affiliation naming a matched member organisation says nothing about the person;
        # free text might ("self-employed, Jane's bakery"), so it goes.
        signatures.filter(organization__isnull=True).update(affiliation="", modified=now)
        signatures.update(
            modified=now,
            name=ERASED_SIGNER_NAME,
            email="",
            canonical_email="",
            phone="",
            message="",
            ip_address=None,
            pending_changes=None,
            resubmission=None,
            contact=None,
        )

        Interaction.objects.filter(contact=contact, organization__isnull=True).delete()
        Interaction.objects.filter(contact=contact).update(contact=None, modified=now)
        for field in ("subject", "text"):
            Interaction.objects.filter(**{f"{field}__icontains": email}).update(
                **{field: Replace(field, Value(email), Value(ERASED_TEXT))}, modified=now
            )

        # The mail sent to them stays counted on its mailing, without their address. (An
        # address on the suppression list stays there: it is what keeps a later import or
        # sign-up from mailing someone who asked not to be mailed.)
        Delivery.objects.filter(contact=contact).update(
            email="",
            contact=None,
            reason=Replace("reason", Value(email), Value(ERASED_TEXT)),
            modified=now,
        )

        # The tombstone names the organisations the person was with (read before the
        # affiliations go), so an organisation's own integration learns of the deletion.
        contact._tombstone_organization_ids = list(
            Affiliation.objects.filter(contact=contact)
            .values_list("organization_id", flat=True)
            .distinct()
        )
        Affiliation.objects.filter(contact=contact).delete()
        contact.delete()
        emit("person.erased", {"contact_id": contact_id, "signature_ids": signature_ids})
        if user is not None:
            user.delete()

        Contact.history.filter(id=contact_id).delete()
        Affiliation.history.filter(contact_id=contact_id).delete()
        content_type = ContentType.objects.get_for_model(Contact)
        LogEntry.objects.filter(content_type=content_type, object_id=str(contact_id)).delete()
        # Who erased whom and when, without naming the person.
        LogEntry.objects.create(
            user=actor,
            content_type=content_type,
            object_id=str(contact_id),
            object_repr=f"Erased person #{contact_id}",
            action_flag=DELETION,
            change_message="Erased the person and their personal data.",
        )
