"""Reads for the conveners' campaign tracking pages: each figure in one query, however many
signatures or members there are."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaigns.matching import PUBLIC_MAIL_DOMAINS
from campaigns.models import Campaign, Signature
from campaigns.selectors import signature_counted_q
from members.exporting import primary_contact_subquery
from members.models import Organization, Sector

# A chart of more days than this draws one bar per week; of more weeks than WEEKS_MAX, per month.
DAYS_MAX = 60
WEEKS_MAX = 104
LEADERBOARD_SIZE = 20
TRENDING_SIZE = 10
TRENDING_WINDOW = datetime.timedelta(hours=24)
RATE_WINDOW = datetime.timedelta(hours=1)


def _count(signatures: QuerySet[Signature], group_by: str):
    """How many of ``signatures`` (already filtered on an OuterRef) there are, as an integer
    subquery, 0 when none."""
    counted = signatures.order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _messages_awaiting_q() -> Q:
    """Messages a moderating campaign holds back until a convener approves them."""
    return (
        signature_counted_q() & ~Q(message="") & Q(message_status=Signature.MessageStatus.PENDING)
    )


# --- The list of campaigns ----------------------------------------------------------------------


def campaign_list_tracking() -> QuerySet[Campaign]:
    """Every campaign, open ones first, with the work waiting for a convener in each: flagged
    signatures to review, affiliations to confirm and messages to moderate. The signature count
    is the cached ``signature_count``, so no page view counts every signature."""
    signatures = Signature.objects.filter(campaign=OuterRef("pk"))
    return Campaign.objects.annotate(
        flagged_awaiting=_count(
            signatures.filter(flagged=True, invalidated_at__isnull=True), "campaign"
        ),
        suggestions_awaiting=_count(
            signatures.filter(organization_suggestion__isnull=False, invalidated_at__isnull=True),
            "campaign",
        ),
        messages_awaiting=_count(signatures.filter(_messages_awaiting_q()), "campaign"),
        status_order=Case(
            When(status=Campaign.Status.OPEN, then=Value(0)),
            When(status=Campaign.Status.DRAFT, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    ).order_by("status_order", F("opens_at").desc(nulls_last=True), "title", "pk")


def campaign_get_tracking(*, slug: str) -> Campaign:
    return get_object_or_404(Campaign, slug=slug)


# --- Signatures over time -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One bar of the chart: the counted signatures confirmed from ``start`` to ``end``."""

    start: datetime.date
    end: datetime.date
    count: int
    cumulative: int


@dataclass(frozen=True)
class SignaturesOverTime:
    unit: str  # "day", "week" or "month"
    periods: list[Period]

    @property
    def total(self) -> int:
        return self.periods[-1].cumulative if self.periods else 0

    @property
    def largest(self) -> int:
        return max((period.count for period in self.periods), default=0)


def _period_start(day: datetime.date, unit: str) -> datetime.date:
    if unit == "week":
        return day - datetime.timedelta(days=day.weekday())  # weeks start on Monday
    if unit == "month":
        return day.replace(day=1)
    return day


def _period_after(start: datetime.date, unit: str) -> datetime.date:
    if unit == "week":
        return start + datetime.timedelta(days=7)
    if unit == "month":
        return (start + datetime.timedelta(days=32)).replace(day=1)
    return start + datetime.timedelta(days=1)


def signatures_over_time(*, campaign: Campaign, today: datetime.date | None = None):
    """Counted signatures by the day they were confirmed (in the site's time zone), from the
    first one to the last, or to today while the campaign is open; by week when that spans more
    than 60 days, by month past two years. Days without signatures are bars of 0."""
    rows = (
        Signature.objects.filter(signature_counted_q(), campaign=campaign)
        .annotate(day=TruncDate("confirmed_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    per_day = {row["day"]: row["n"] for row in rows}
    if not per_day:
        return SignaturesOverTime(unit="day", periods=[])
    first, last = min(per_day), max(per_day)
    if campaign.status == Campaign.Status.OPEN:
        today = today or timezone.localdate()
        closes = timezone.localdate(campaign.closes_at) if campaign.closes_at else today
        last = max(last, min(today, closes))
    days = (last - first).days + 1
    unit = "day" if days <= DAYS_MAX else "week" if days <= WEEKS_MAX * 7 else "month"
    per_period: dict[datetime.date, int] = {}
    for day, count in per_day.items():
        start = _period_start(day, unit)
        per_period[start] = per_period.get(start, 0) + count
    periods = []
    cumulative = 0
    start = _period_start(first, unit)
    while start <= last:
        after = _period_after(start, unit)
        count = per_period.get(start, 0)
        cumulative += count
        periods.append(
            Period(
                start=start,
                end=after - datetime.timedelta(days=1),
                count=count,
                cumulative=cumulative,
            )
        )
        start = after
    return SignaturesOverTime(unit=unit, periods=periods)


# --- By sector; members signed and not signed ---------------------------------------------------


@dataclass
class SectorFigures:
    """One sector's row (``sector`` None: signatures not matched to a member organisation)."""

    sector: Sector | None
    signatures: int = 0  # counted signatures matched to an organisation in the sector
    members: int = 0  # active member organisations
    signed: int = 0  # of which have a counted organisational sign-on
    staff_signatures: int = 0  # counted individual signatures matched to an active member

    @property
    def label(self) -> str:
        return self.sector.name if self.sector else "Not matched to a member"

    @property
    def not_signed(self) -> int:
        return self.members - self.signed


def _signed_on(campaign: Campaign) -> QuerySet[Signature]:
    """The counted organisational sign-on of the organisation OuterRef("pk") names."""
    return Signature.objects.filter(
        signature_counted_q(), campaign=campaign, on_behalf_of=OuterRef("pk")
    )


def _staff_signatures(campaign: Campaign) -> QuerySet[Signature]:
    return Signature.objects.filter(
        signature_counted_q(), campaign=campaign, on_behalf_of__isnull=True
    )


def sector_figures(*, campaign: Campaign) -> tuple[list[SectorFigures], SectorFigures]:
    """Per sector, in chart order: counted signatures of organisations in it, active members,
    how many of them signed as an organisation, and their staff's signatures. Returns (the
    sectors' rows, the row of signatures not matched to a member). Four queries."""
    rows = {sector.pk: SectorFigures(sector=sector) for sector in Sector.objects.all()}
    unmatched = SectorFigures(sector=None)
    signatures = (
        Signature.objects.filter(signature_counted_q(), campaign=campaign)
        .annotate(
            matched_sector=Coalesce(F("on_behalf_of__sector_id"), F("organization__sector_id"))
        )
        .values("matched_sector")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in signatures:
        rows.get(row["matched_sector"], unmatched).signatures += row["n"]
    members = (
        Organization.objects.filter(status=Organization.Status.ACTIVE)
        .values("sector_id")
        .annotate(n=Count("pk"), signed=Count("pk", filter=Exists(_signed_on(campaign))))
        .order_by()
    )
    for row in members:
        if row["sector_id"] in rows:
            rows[row["sector_id"]].members = row["n"]
            rows[row["sector_id"]].signed = row["signed"]
    staff = (
        _staff_signatures(campaign)
        .filter(organization__status=Organization.Status.ACTIVE)
        .values("organization__sector_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in staff:
        if row["organization__sector_id"] in rows:
            rows[row["organization__sector_id"]].staff_signatures = row["n"]
    return list(rows.values()), unmatched


def organizations_not_signed(
    campaign: Campaign, sector: Sector | str | None = None
) -> QuerySet[Organization]:
    """Active member organisations without a counted organisational sign-on of ``campaign``
    (an unconfirmed or flagged one does not count; nor do their staff's own signatures),
    optionally in one sector (a Sector or its slug), by sector then name. The reminders of
    the mailing work start from this."""
    organizations = Organization.objects.filter(status=Organization.Status.ACTIVE).filter(
        ~Exists(_signed_on(campaign))
    )
    if isinstance(sector, Sector):
        organizations = organizations.filter(sector=sector)
    elif sector:
        organizations = organizations.filter(sector__slug=sector)
    return organizations.select_related("sector").order_by(
        "sector__position", "sector__name", "name", "pk"
    )


def organizations_not_signed_list(
    *, campaign: Campaign, sector: Sector | str | None = None
) -> QuerySet[Organization]:
    """``organizations_not_signed`` with what the tracking page and its CSV show of each: the
    primary contact's name and e-mail and the staff signatures, in the same one query."""
    staff = _staff_signatures(campaign).filter(organization=OuterRef("pk"))
    return organizations_not_signed(campaign, sector).annotate(
        primary_contact_name=primary_contact_subquery("full_name"),
        primary_contact_email=primary_contact_subquery("contact__email"),
        staff_signatures=_count(staff, "organization"),
    )


# --- Referrals ----------------------------------------------------------------------------------


def referral_leaderboard(*, campaign: Campaign, limit: int = LEADERBOARD_SIZE) -> list[dict]:
    """The member organisations whose links and embedded forms brought the most counted
    signatures: [{"name", "sector", "signatures"}], most first."""
    rows = (
        Signature.objects.filter(signature_counted_q(), campaign=campaign)
        .filter(referred_by__isnull=False)
        .values("referred_by_id", "referred_by__name", "referred_by__sector__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "referred_by__name", "referred_by_id")[:limit]
    )
    return [
        {
            "organization_id": row["referred_by_id"],
            "name": row["referred_by__name"],
            "sector": row["referred_by__sector__name"],
            "signatures": row["n"],
        }
        for row in rows
    ]


# --- Review queues ------------------------------------------------------------------------------

REVIEW_FIELDS = [
    "id",
    "name",
    "email",
    "email_domain",
    "ip_address",
    "flag_reason",
    "created",
    "confirmed_at",
]


def signatures_flagged_awaiting_review(*, campaign: Campaign) -> QuerySet[Signature]:
    """Flagged signatures a convener has not yet judged, newest first."""
    return (
        Signature.objects.filter(campaign=campaign, flagged=True, invalidated_at__isnull=True)
        .only(*REVIEW_FIELDS)
        .order_by("-created", "-pk")
    )


def signatures_awaiting_organization(*, campaign: Campaign) -> QuerySet[Signature]:
    """Signatures whose affiliation might be a member organisation, for a convener to confirm."""
    return (
        Signature.objects.filter(
            campaign=campaign, organization_suggestion__isnull=False, invalidated_at__isnull=True
        )
        .select_related("organization_suggestion__sector")
        .only(
            "id",
            "name",
            "affiliation",
            "organization_match_score",
            "created",
            "organization_suggestion__name",
            "organization_suggestion__sector__name",
        )
        .order_by("-created", "-pk")
    )


def signature_messages_for_review(*, campaign: Campaign) -> QuerySet[Signature]:
    """Messages of confirmed, not invalidated signatures, newest first; when the campaign
    moderates messages, those awaiting review come before the rest."""
    messages = (
        Signature.objects.filter(campaign=campaign, confirmed_at__isnull=False)
        .filter(invalidated_at__isnull=True)
        .exclude(message="")
        .only("id", "name", "affiliation", "message", "message_status", "flagged", "created")
    )
    if not campaign.moderate_messages:
        return messages.order_by("-created", "-pk")
    awaiting_first = Case(
        When(message_status=Signature.MessageStatus.PENDING, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return messages.order_by(awaiting_first, "-created", "-pk")


def signature_messages_awaiting_count(*, campaign: Campaign) -> int:
    return Signature.objects.filter(_messages_awaiting_q(), campaign=campaign).count()


# --- Trending sources ---------------------------------------------------------------------------


def _trending(signatures: QuerySet[Signature], field: str, *, now, limit: int) -> list[dict]:
    rows = (
        signatures.filter(created__gte=now - TRENDING_WINDOW)
        .values(field)
        .annotate(
            n=Count("pk"),
            flagged_n=Count("pk", filter=Q(flagged=True)),
            last_hour=Count("pk", filter=Q(created__gte=now - RATE_WINDOW)),
        )
        .order_by("-n", field)[:limit]
    )
    return [
        {
            "source": str(row[field]),
            "signatures": row["n"],
            "flagged": row["flagged_n"],
            "last_hour": row["last_hour"],
        }
        for row in rows
    ]


@dataclass(frozen=True)
class TrendingSources:
    ips: list[dict]
    domains: list[dict]


def trending_sources(*, campaign: Campaign, now=None, limit: int = TRENDING_SIZE):
    """The IP addresses and e-mail domains with the most signatures in the last 24 hours, each
    with how many were flagged and how many came in the last hour; a source past half the
    campaign's hourly limit is marked ``near_limit`` (public mail providers never are, as the
    limit does not count them)."""
    now = now or timezone.now()
    signatures = Signature.objects.filter(campaign=campaign)
    ips = _trending(signatures.filter(ip_address__isnull=False), "ip_address", now=now, limit=limit)
    domains = _trending(signatures.exclude(email_domain=""), "email_domain", now=now, limit=limit)
    for row in ips:
        row["near_limit"] = row["last_hour"] * 2 > campaign.rate_limit_per_ip
    for row in domains:
        row["public_provider"] = row["source"] in PUBLIC_MAIL_DOMAINS
        row["near_limit"] = (
            not row["public_provider"] and row["last_hour"] * 2 > campaign.rate_limit_per_domain
        )
    return TrendingSources(ips=ips, domains=domains)


def trending_warnings(*, now=None, limit: int = TRENDING_SIZE) -> list[dict]:
    """Across open campaigns, the IP addresses and e-mail domains that sent more than half the
    campaign's hourly limit in the last hour, for the dashboard: [{"campaign_title",
    "campaign_slug", "kind" ("IP address" or "e-mail domain"), "source", "last_hour",
    "signatures" (24 hours), "flagged", "limit"}], busiest first. Two queries."""
    now = now or timezone.now()
    open_recent = Signature.objects.filter(
        campaign__status=Campaign.Status.OPEN, created__gte=now - TRENDING_WINDOW
    )
    warnings = []
    for kind, field, limit_field, signatures in [
        (
            "IP address",
            "ip_address",
            "campaign__rate_limit_per_ip",
            open_recent.filter(ip_address__isnull=False),
        ),
        (
            "e-mail domain",
            "email_domain",
            "campaign__rate_limit_per_domain",
            open_recent.exclude(email_domain="").exclude(email_domain__in=PUBLIC_MAIL_DOMAINS),
        ),
    ]:
        rows = (
            signatures.values(
                "campaign_id", "campaign__title", "campaign__slug", limit_field, field
            )
            .annotate(
                n=Count("pk"),
                flagged_n=Count("pk", filter=Q(flagged=True)),
                last_hour=Count("pk", filter=Q(created__gte=now - RATE_WINDOW)),
            )
            # Integer halves: more than half of 5 is 3 or more, that is more than 5 / 2 = 2.
            .filter(last_hour__gt=F(limit_field) / 2)
            .order_by("-last_hour", field)[:limit]
        )
        warnings.extend(
            {
                "campaign_title": row["campaign__title"],
                "campaign_slug": row["campaign__slug"],
                "kind": kind,
                "source": str(row[field]),
                "last_hour": row["last_hour"],
                "signatures": row["n"],
                "flagged": row["flagged_n"],
                "limit": row[limit_field],
            }
            for row in rows
        )
    warnings.sort(key=lambda warning: -warning["last_hour"])
    return warnings[:limit]


# --- The dashboard's panel ----------------------------------------------------------------------


def dashboard_campaigns(*, limit: int = 10) -> tuple[list[Campaign], bool]:
    """The campaigns the dashboard shows (open first), and whether there are more."""
    campaigns = list(campaign_list_tracking()[: limit + 1])
    return campaigns[:limit], len(campaigns) > limit


# --- CSV exports --------------------------------------------------------------------------------

SIGNATURE_COLUMNS = [
    "name",
    "email",
    "phone",
    "affiliation",
    "member organisation",
    "sector",
    "on behalf of organisation",
    "confirmed_at",
    "flagged",
    "flag_reason",
    "invalidated_at",
    "source",
    "referral_code",
    "referred_by",
    "message",
    "message_status",
    "show_publicly",
    "created",
]
NOT_SIGNED_COLUMNS = ["organisation", "sector", "primary contact", "primary contact e-mail"]
CSV_CHUNK_SIZE = 2000


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def signature_csv_rows(*, campaign: Campaign) -> Iterator[list]:
    """Every signature of the campaign, counted or not, oldest first, as CSV rows in one
    query, fetched in chunks while the response streams."""
    sources = dict(Signature.Source.choices)
    message_statuses = dict(Signature.MessageStatus.choices)
    rows = (
        Signature.objects.filter(campaign=campaign)
        .annotate(
            sector_name=Coalesce(F("on_behalf_of__sector__name"), F("organization__sector__name"))
        )
        .values_list(
            "name",
            "email",
            "phone",
            "affiliation",
            "organization__name",
            "sector_name",
            "on_behalf_of__name",
            "confirmed_at",
            "flagged",
            "flag_reason",
            "invalidated_at",
            "source",
            "referral_code",
            "referred_by__name",
            "message",
            "message_status",
            "show_publicly",
            "created",
        )
        .order_by("created", "pk")
    )
    for row in rows.iterator(chunk_size=CSV_CHUNK_SIZE):
        (
            name,
            email,
            phone,
            affiliation,
            organization,
            sector,
            on_behalf_of,
            confirmed_at,
            flagged,
            flag_reason,
            invalidated_at,
            source,
            referral_code,
            referred_by,
            message,
            message_status,
            show_publicly,
            created,
        ) = row
        yield [
            name,
            email,
            phone,
            affiliation,
            organization,
            sector,
            on_behalf_of,
            _local(confirmed_at),
            flagged,
            flag_reason,
            _local(invalidated_at),
            sources.get(source, source),
            referral_code,
            referred_by,
            message,
            message_statuses.get(message_status, message_status),
            show_publicly,
            _local(created),
        ]


def not_signed_csv_rows(*, campaign: Campaign, sector: str | None = None) -> Iterator[list]:
    rows = organizations_not_signed_list(campaign=campaign, sector=sector).values_list(
        "name", "sector__name", "primary_contact_name", "primary_contact_email"
    )
    for row in rows.iterator(chunk_size=CSV_CHUNK_SIZE):
        yield list(row)
