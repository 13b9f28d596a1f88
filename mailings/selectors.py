"""Reads of mailings: audiences, progress, a contact's mail."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from campaigns.models import Campaign, Signature
from campaigns.selectors import signature_counted_q
from mailings.models import (
    AudienceSegments,
    Delivery,
    Mailing,
    ReminderRule,
    SignedFilter,
    Suppression,
)
from members.models import Affiliation, Contact, Organization


def suppressed_q(email_field: str = "email") -> Exists:
    """Whether the address in ``email_field`` is on the suppression list."""
    return Exists(
        Suppression.objects.annotate(lower=Lower("email")).filter(lower=OuterRef(email_field))
    )


def _signed_affiliation_q(campaign: Campaign) -> Q:
    """Affiliations whose organisation signed ``campaign`` on, or whose person signed it."""
    org_signed = Signature.objects.filter(
        signature_counted_q(), campaign=campaign, on_behalf_of=OuterRef("organization_id")
    )
    person_signed = Signature.objects.filter(
        signature_counted_q(), campaign=campaign, contact=OuterRef("contact_id")
    )
    return Q(Exists(org_signed)) | Q(Exists(person_signed))


def audience_affiliations(segments: AudienceSegments) -> QuerySet[Affiliation]:
    """The affiliations a mailing's segments select, before one row per person is chosen:
    contacts of member organisations in any chosen status (active when none), sector and tag,
    in the chosen role and language, signed or not, whose address takes mail (subscribed, not
    suppressed). For an unsaved mailing, sectors and tags are not looked at."""
    statuses = segments.statuses or [Organization.Status.ACTIVE]
    rows = Affiliation.objects.filter(
        organization__status__in=statuses,
        contact__email_status=Contact.EmailStatus.SUBSCRIBED,
    ).exclude(contact__email="")
    if segments.pk:
        sector_ids = [sector.pk for sector in segments.sectors.all()]
        tag_ids = [tag.pk for tag in segments.tags.all()]
        if sector_ids:
            rows = rows.filter(organization__sector_id__in=sector_ids)
        if tag_ids:
            rows = rows.filter(
                Exists(
                    Organization.tags.through.objects.filter(
                        organization_id=OuterRef("organization_id"), tag_id__in=tag_ids
                    )
                )
            )
    if segments.primary_contacts_only:
        rows = rows.filter(role=Affiliation.Role.PRIMARY)
    if segments.language:
        rows = rows.filter(contact__language=segments.language)
    if segments.campaign_id and segments.signed == SignedFilter.SIGNED:
        rows = rows.filter(_signed_affiliation_q(segments.campaign))
    elif segments.campaign_id and segments.signed == SignedFilter.NOT_SIGNED:
        rows = rows.exclude(_signed_affiliation_q(segments.campaign))
    return rows.exclude(suppressed_q("contact__email"))


def audience_rows(segments: AudienceSegments) -> QuerySet:
    """One row per person: contact id, e-mail, language, and the organisation (the first by id
    when a person qualifies through several)."""
    return (
        audience_affiliations(segments)
        .values("contact_id", "contact__email", "contact__language")
        .annotate(organization_id=Min("organization_id"))
        .order_by("contact_id")
    )


def audience_count(segments: AudienceSegments) -> int:
    return audience_affiliations(segments).values("contact_id").distinct().count()


def contact_has_signed(*, campaign: Campaign, contact_id: int, organization_id: int | None) -> bool:
    """Whether the person, or the organisation they receive mail for, has signed (counted)."""
    counted = Signature.objects.filter(signature_counted_q(), campaign=campaign)
    q = Q(contact_id=contact_id, on_behalf_of__isnull=True)
    if organization_id:
        q |= Q(on_behalf_of_id=organization_id)
    return counted.filter(q).exists()


@dataclass(frozen=True)
class Progress:
    recipients: int
    queued: int
    sending: int
    sent: int
    failed: int
    skipped: int
    per_minute: float  # sent in the last minute
    estimated_finish: datetime.datetime | None

    @property
    def remaining(self) -> int:
        return self.queued + self.sending

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.recipients) if self.recipients else 0


def mailing_progress(mailing: Mailing) -> Progress:
    """Counts by status and the send rate of the last minute, in one query."""
    now = timezone.now()
    counts = Delivery.objects.filter(mailing=mailing).aggregate(
        total=Count("pk"),
        queued=Count("pk", filter=Q(status=Delivery.Status.QUEUED)),
        sending=Count("pk", filter=Q(status=Delivery.Status.SENDING)),
        sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        skipped=Count("pk", filter=Q(status=Delivery.Status.SKIPPED)),
        last_minute=Count(
            "pk",
            filter=Q(status=Delivery.Status.SENT, sent_at__gte=now - datetime.timedelta(minutes=1)),
        ),
    )
    remaining = counts["queued"] + counts["sending"]
    finish = None
    if remaining and counts["last_minute"] and mailing.status == Mailing.Status.SENDING:
        finish = now + datetime.timedelta(minutes=remaining / counts["last_minute"])
    return Progress(
        recipients=counts["total"],
        queued=counts["queued"],
        sending=counts["sending"],
        sent=counts["sent"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        per_minute=float(counts["last_minute"]),
        estimated_finish=finish,
    )


def contact_deliveries(contact: Contact) -> QuerySet[Delivery]:
    """The mail a contact was sent or is due, newest first, for their timeline."""
    return (
        Delivery.objects.filter(contact=contact)
        .select_related("mailing")
        .order_by("-created", "-pk")
    )


# --- The conveners' pages (one query each; their query counts are asserted in the tests) ---


def delivery_count(status: str):
    """How many of a mailing's deliveries have ``status``, as a subquery on the mailing row:
    it reads the (mailing, status) index, and a count of the mailings never touches
    deliveries."""
    counts = (
        Delivery.objects.filter(mailing=OuterRef("pk"), status=status)
        .order_by()
        .values("mailing")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def mailing_list_with_counts():
    """Every mailing, newest first, with its campaign and its sent and failed counts, in one
    query."""
    return (
        Mailing.objects.select_related("campaign")
        .annotate(
            sent_count=delivery_count(Delivery.Status.SENT),
            failed_count=delivery_count(Delivery.Status.FAILED),
        )
        .order_by("-created", "-pk")
    )


def mailing_suppression_counts(mailing: Mailing) -> dict:
    """How many addresses this mailing's messages put on the suppression list, by reason."""
    reasons = Suppression.Reason
    return Suppression.objects.filter(mailing=mailing).aggregate(
        bounced=Count("pk", filter=Q(reason=reasons.BOUNCED)),
        unsubscribed=Count("pk", filter=Q(reason=reasons.UNSUBSCRIBED)),
        complained=Count("pk", filter=Q(reason=reasons.COMPLAINED)),
    )


def mailing_deliveries(mailing: Mailing, *, status: str = ""):
    deliveries = Delivery.objects.filter(mailing=mailing).select_related("contact", "organization")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("pk")


def audience_first(mailing: Mailing, *, limit: int) -> list[dict]:
    """The first recipients of the audience as it stands: contact, e-mail and organisation
    (three queries however many)."""
    rows = list(audience_rows(mailing)[:limit])
    contacts = Contact.objects.in_bulk([row["contact_id"] for row in rows])
    organizations = Organization.objects.select_related("sector").in_bulk(
        [row["organization_id"] for row in rows]
    )
    return [
        {
            "contact": contacts.get(row["contact_id"]),
            "organization": organizations.get(row["organization_id"]),
            "email": row["contact__email"],
        }
        for row in rows
    ]


def reminder_rule_list():
    return ReminderRule.objects.select_related("campaign", "toolkit").prefetch_related(
        Prefetch("mailings", queryset=Mailing.objects.order_by("pk"))
    )


def suppression_list(*, query: str = ""):
    rows = Suppression.objects.select_related("mailing").order_by("-created", "-pk")
    if query:
        rows = rows.filter(email__icontains=query)
    return rows
