"""Reads of member-directory data: the public directory and the convener dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from members.models import Affiliation, Contact, Organization, ProfileChange, Sector

# What the public may ever see of an organisation. Listing fields explicitly (rather than
# deferring a few) means a new private column stays private until someone adds it here.
PUBLIC_LIST_FIELDS = [
    "id",
    "name",
    "slug",
    "city",
    "county",
    "state",
    "description",
    "sector",
    "sector__name",
    "sector__slug",
]
PUBLIC_DETAIL_FIELDS = [
    *PUBLIC_LIST_FIELDS,
    "website",
    "public_email",
    "public_phone",
    "facebook",
    "instagram",
    "x_twitter",
    "linkedin",
    "bluesky",
    "logo",
]

# Longer searches are cut to this: no organisation's name or city is longer, and an
# unbounded LIKE pattern is a cheap way to make the database work hard.
SEARCH_MAX_LENGTH = 100


def _public_organizations() -> QuerySet[Organization]:
    return Organization.objects.filter(listed=True, status=Organization.Status.ACTIVE)


def organization_list_public(
    *, sector: str | None = None, county: str | None = None, q: str | None = None
) -> QuerySet[Organization]:
    """Listed, active organisations, optionally in one sector (slug) and county, matching ``q``."""
    organizations = _public_organizations()
    if sector:
        organizations = organizations.filter(sector__slug=sector)
    if county:
        organizations = organizations.filter(county=county)
    q = " ".join((q or "").split())[:SEARCH_MAX_LENGTH]
    for word in q.split():
        organizations = organizations.filter(
            Q(name__icontains=word) | Q(city__icontains=word) | Q(description__icontains=word)
        )
    return organizations.select_related("sector").only(*PUBLIC_LIST_FIELDS).order_by("name", "id")


def organization_get_public(*, slug: str) -> Organization:
    """One listed, active organisation with its sectors; Http404 for any other."""
    organizations = (
        _public_organizations()
        .select_related("sector")
        .prefetch_related("secondary_sectors")
        .only(*PUBLIC_DETAIL_FIELDS)
    )
    return get_object_or_404(organizations, slug=slug)


@dataclass(frozen=True)
class DirectoryFilterOptions:
    sectors: list[tuple[str, str]]  # (slug, name)
    counties: list[str]


def directory_filter_options() -> DirectoryFilterOptions:
    """The sectors and counties a visitor can filter the directory by."""
    sectors = list(Sector.objects.order_by("position", "name").values_list("slug", "name"))
    counties = list(
        _public_organizations()
        .exclude(county="")
        .order_by("county")
        .values_list("county", flat=True)
        .distinct()
    )
    return DirectoryFilterOptions(sectors=sectors, counties=counties)


# --- Convener dashboard ------------------------------------------------------------------------

STATUSES = list(Organization.Status)


@dataclass
class SectorCounts:
    sector: Sector
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def dashboard_members_by_sector() -> list[SectorCounts]:
    """Every sector (in chart order) with its number of organisations in each status."""
    annotations = {
        f"n_{status.value}": Count("organizations", filter=Q(organizations__status=status.value))
        for status in STATUSES
    }
    sectors = Sector.objects.order_by("position", "name").annotate(**annotations)
    return [
        SectorCounts(
            sector=sector,
            by_status={status.value: getattr(sector, f"n_{status.value}") for status in STATUSES},
        )
        for sector in sectors
    ]


def dashboard_totals(*, by_sector: list[SectorCounts]) -> dict[str, Any]:
    """Headline figures; the organisation counts come from ``by_sector`` to save a query."""
    by_status = {status.value: 0 for status in STATUSES}
    for row in by_sector:
        for status, count in row.by_status.items():
            by_status[status] += count
    return {
        "organizations": sum(by_status.values()),
        "by_status": by_status,
        "contacts": Contact.objects.count(),
        "pending_approvals": ProfileChange.objects.filter(
            status=ProfileChange.Status.PENDING
        ).count(),
    }


def organization_list_lapsed(*, limit: int = 50) -> list[Organization]:
    """Lapsed members, the most recently lapsed first."""
    return list(
        Organization.objects.filter(status=Organization.Status.LAPSED)
        .select_related("sector")
        .only("id", "name", "left_on", "sector", "sector__name")
        .order_by(F("left_on").desc(nulls_last=True), "name")[:limit]
    )


def organization_list_without_primary_contact(*, limit: int = 50) -> tuple[list, int]:
    """Active organisations nobody is the primary contact of: (the first ``limit``, how many)."""
    organizations = Organization.objects.filter(status=Organization.Status.ACTIVE).exclude(
        affiliations__role=Affiliation.Role.PRIMARY
    )
    shown = list(
        organizations.select_related("sector")
        .only("id", "name", "sector", "sector__name")
        .order_by("name")[:limit]
    )
    return shown, organizations.count()


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class RecentChange:
    """One history record made readable: who did what to which organisation or contact."""

    kind: str  # "organization", "contact" or "affiliation"
    record: Any
    when: Any
    who: Any
    action: str  # "created", "changed" or "deleted"
    subject: str
    organization_id: int | None = None
    contact_id: int | None = None
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def author(self) -> str:
        """Who made the change, or "" when nobody was signed in (a task, a shell)."""
        if self.who is None:
            return ""
        return self.who.get_full_name() or self.who.get_username()

    # A change whose earlier version was never recorded (e.g. rows loaded in bulk).
    earlier_unknown: bool = False


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _history_with_previous(history_manager, *, limit: int, related=()):
    """The latest ``limit`` records and, in one more query, the record before each of them."""
    history_model = history_manager.model
    previous_id = (
        history_model.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    latest = (
        history_manager.select_related("history_user", *related)
        .annotate(previous_history_id=Subquery(previous_id))
        .order_by("-history_date", "-history_id")[:limit]
    )
    records = list(latest)
    # Always one query (a subquery, not a Python list), so the count does not depend on data.
    previous = history_model.objects.filter(
        history_id__in=Subquery(
            history_manager.annotate(previous_history_id=Subquery(previous_id))
            .order_by("-history_date", "-history_id")
            .values("previous_history_id")[:limit]
        )
    )
    previous_by_id = {record.history_id: record for record in previous}
    for record in records:
        record.previous = previous_by_id.get(record.previous_history_id)
    return records


def _field_changes(record, *, sector_names: dict[int, str]) -> list[FieldChange]:
    if record.previous is None or record.history_type != "~":
        return []
    delta = record.diff_against(record.previous)
    changes = []
    for change in delta.changes:
        old, new = change.old, change.new
        if change.field == "sector":
            old, new = sector_names.get(old, old), sector_names.get(new, new)
        label = str(record.instance_type._meta.get_field(change.field).verbose_name)
        changes.append(FieldChange(field=label, old=old, new=new))
    return changes


def _recent_change(kind, record, *, sector_names, **fields) -> RecentChange:
    return RecentChange(
        kind=kind,
        record=record,
        when=record.history_date,
        who=record.history_user,
        action=_ACTIONS.get(record.history_type, record.history_type),
        changes=_field_changes(record, sector_names=sector_names),
        earlier_unknown=record.history_type == "~" and record.previous is None,
        **fields,
    )


def history_list_recent(
    *, limit: int = 20, sector_names: dict[int, str] | None = None
) -> list[RecentChange]:
    """The latest changes to organisations, contacts and affiliations, newest first.

    Six queries whatever the data (seven without ``sector_names``): for each history table its
    latest records (with the author) and the records just before them (for old → new values).
    """
    if sector_names is None:
        sector_names = dict(Sector.objects.values_list("id", "name"))
    entries = []
    for record in _history_with_previous(Organization.history, limit=limit):
        entries.append(
            _recent_change(
                "organization",
                record,
                subject=record.name,
                organization_id=record.id,
                sector_names=sector_names,
            )
        )
    for record in _history_with_previous(Contact.history, limit=limit):
        entries.append(
            _recent_change(
                "contact",
                record,
                subject=f"{record.given_name} {record.family_name}".strip(),
                contact_id=record.id,
                sector_names=sector_names,
            )
        )
    for record in _history_with_previous(
        Affiliation.history, limit=limit, related=("contact", "organization")
    ):
        contact, organization = record.contact, record.organization
        entries.append(
            _recent_change(
                "affiliation",
                record,
                subject=(
                    f"{contact or 'a removed contact'} as {record.get_role_display().lower()} "
                    f"of {organization or 'a removed organisation'}"
                ),
                organization_id=record.organization_id if organization else None,
                contact_id=record.contact_id if contact else None,
                sector_names=sector_names,
            )
        )
    entries.sort(key=lambda entry: (entry.when, entry.record.history_id), reverse=True)
    return entries[:limit]
