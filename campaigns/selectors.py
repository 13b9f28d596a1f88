"""Reads of campaign data."""

from django.db.models import Count, Q, QuerySet

from campaigns.models import Campaign, Signature


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
