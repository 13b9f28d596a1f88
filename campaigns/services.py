"""Writes of campaign data."""

from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.selectors import campaign_counted_signatures


def campaign_signature_counts_refresh() -> dict[int, int]:
    """Recounts the signatures of open campaigns into their cached ``signature_count``.

    Pages show the cached figure, so a page view never counts every signature and no single
    row is updated by every signature. Run by beat; running it twice is harmless.
    """
    campaign_ids = list(
        Campaign.objects.exclude(status=Campaign.Status.DRAFT).values_list("id", flat=True)
    )
    counts = campaign_counted_signatures(campaign_ids=campaign_ids)
    now = timezone.now()
    with transaction.atomic():
        for campaign_id, count in counts.items():
            Campaign.objects.filter(id=campaign_id).update(
                signature_count=count, signature_count_refreshed_at=now
            )
    return counts
