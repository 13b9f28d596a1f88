"""Reads of campaign data."""

from django.db.models import Case, Count, F, Q, QuerySet, TextField, Value, When

from campaigns.models import Campaign, Signature
from members.models import Organization


def signature_counted_q() -> Q:
    """Which signatures count toward a campaign's total: confirmed ones not flagged as abuse."""
    return Q(confirmed_at__isnull=False, flagged=False)


def campaign_counted_signatures(*, campaign_ids) -> dict[int, int]:
    """Counted signatures per campaign id, in one query."""
    rows = (
        Signature.objects.filter(signature_counted_q(), campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(n=Count("id"))
    )
    counts = {campaign_id: 0 for campaign_id in campaign_ids}
    counts.update({row["campaign_id"]: row["n"] for row in rows})
    return counts


def campaign_list_open() -> QuerySet[Campaign]:
    return Campaign.objects.filter(status=Campaign.Status.OPEN)


# --- Public pages -------------------------------------------------------------------------------

PUBLIC_LIST_SEARCH_MAX = 100


def campaign_public_get(*, slug: str, include_drafts: bool = False, with_resources: bool = False):
    """The campaign a public page shows, or None: drafts only for a convener's preview. With
    ``with_resources`` its "learn more" resources come in one more query, never per row."""
    campaigns = Campaign.objects.filter(slug=slug)
    if not include_drafts:
        campaigns = campaigns.exclude(status=Campaign.Status.DRAFT)
    if with_resources:
        campaigns = campaigns.prefetch_related("resources")
    return campaigns.first()


def signature_by_share_code(*, campaign: Campaign, share_code: str) -> Signature | None:
    """The signature a thank-you link names, loading nothing personal."""
    return (
        Signature.objects.filter(campaign=campaign, share_code=share_code)
        .only("pk", "campaign_id", "share_code", "confirmed_at")
        .first()
    )


def signature_public_list(*, campaign: Campaign, search: str = "") -> QuerySet[Signature]:
    """The signatures a campaign's public list shows, newest first: counted ones (confirmed, not
    flagged) whose signers agreed to be shown. Only the columns the list prints are loaded, so
    e-mail, phone and address never leave the database here. ``public_message`` is the message
    when it may show (not hidden, and approved when the campaign moderates), else ""."""
    message_shows = ~Q(message_status=Signature.MessageStatus.HIDDEN)
    if campaign.moderate_messages:
        message_shows = Q(message_status=Signature.MessageStatus.APPROVED)
    signatures = (
        Signature.objects.filter(signature_counted_q(), campaign=campaign, show_publicly=True)
        .select_related("organization__sector", "on_behalf_of__sector")
        .only(
            "pk",
            "created",
            "name",
            "affiliation",
            "organization__name",
            "organization__sector__name",
            "on_behalf_of__name",
            "on_behalf_of__sector__name",
        )
        .annotate(
            public_message=Case(
                When(message_shows, then=F("message")),
                default=Value(""),
                output_field=TextField(),
            )
        )
        .order_by("-created", "-pk")
    )
    search = " ".join((search or "").split())[:PUBLIC_LIST_SEARCH_MAX]
    if search:
        # Only what the list prints is searched: an organisation's sign-on shows the
        # organisation, never the signatory's name (or the e-mail standing in for it), so
        # searching that would reveal, letter by letter, who signed for it.
        signatures = signatures.filter(
            Q(on_behalf_of__isnull=True, name__icontains=search)
            | Q(on_behalf_of__isnull=True, affiliation__icontains=search)
            | Q(on_behalf_of__name__icontains=search)
        )
    return signatures


def organization_embedding_get(*, slug: str) -> Organization | None:
    """The active member organisation whose website embeds a campaign's form, or None."""
    slug = (slug or "").strip()
    if not slug or len(slug) > 200:
        return None
    return Organization.objects.filter(slug=slug, status=Organization.Status.ACTIVE).first()
