"""Reads behind /osdi/v1/: each collection's rows with everything its shape prints, in a fixed
number of queries, narrowed to what the caller may reach."""

from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from api.access import Access
from campaigns.models import Campaign, Signature
from campaigns.selectors import signature_counted_q
from members.models import Affiliation, Contact, Organization, Tag

Tagging = Organization.tags.through


def people(*, access: Access) -> QuerySet[Contact]:
    """Everyone, or for a caller limited to some organisations, the people affiliated with them
    (and of their affiliations only those: a person's other memberships are not theirs to see)."""
    affiliations = Affiliation.objects.select_related("organization").order_by("pk")
    contacts = Contact.objects.all()
    if access.restricted:
        ids = access.organization_ids
        affiliations = affiliations.filter(organization_id__in=ids)
        contacts = contacts.filter(
            Exists(Affiliation.objects.filter(contact=OuterRef("pk"), organization_id__in=ids))
        )
    return contacts.prefetch_related(Prefetch("affiliations", queryset=affiliations)).order_by("pk")


def petitions() -> QuerySet[Campaign]:
    """Campaigns that are or were open (drafts are nobody's business yet), with the number of
    counted signatures (confirmed, not flagged) of each, counted in the same query."""
    counted = (
        Signature.objects.filter(signature_counted_q(), campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Campaign.objects.exclude(status=Campaign.Status.DRAFT)
        .annotate(total_signatures=Coalesce(Subquery(counted, output_field=IntegerField()), 0))
        .order_by("pk")
    )


def signatures(*, access: Access) -> QuerySet[Signature]:
    """Signatures not held back as abuse, of campaigns that are not drafts; for a caller limited
    to some organisations, those matched to or given for them (/api/v1/signatures/'s rule).
    Those it only brought in (``referred_by``) are not: the signer may be another organisation's
    person, their signature what they gave that one; the record signature helper answers a
    partner with what it submitted instead."""
    rows = Signature.objects.filter(flagged=False).exclude(campaign__status=Campaign.Status.DRAFT)
    if access.restricted:
        ids = access.organization_ids
        rows = rows.filter(Q(organization_id__in=ids) | Q(on_behalf_of_id__in=ids))
    return rows.order_by("pk")


def tags() -> QuerySet[Tag]:
    return Tag.objects.order_by("pk")


def taggings(*, access: Access) -> QuerySet:
    """Tags on member organisations (people carry no tags here)."""
    rows = Tagging.objects.all()
    if access.restricted:
        rows = rows.filter(organization_id__in=access.organization_ids)
    return rows.order_by("pk")


def organizations(*, access: Access) -> QuerySet[Organization]:
    rows = Organization.objects.select_related("sector").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )
    if access.restricted:
        rows = rows.filter(pk__in=access.organization_ids)
    return rows.order_by("pk")


def person_visible(*, access: Access, contact_id: int | None) -> bool:
    if contact_id is None or not access.personal_data:
        return False
    if not access.restricted:
        return True
    return Affiliation.objects.filter(
        contact_id=contact_id, organization_id__in=access.organization_ids
    ).exists()
