"""Task entry points. Each takes ids or JSON primitives and calls one service."""

import logging

from celery import shared_task

from campaigns.services import campaign_signature_counts_refresh

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.refresh_signature_counts")
def refresh_signature_counts() -> dict:
    counts = campaign_signature_counts_refresh()
    logger.info("Refreshed signature counts of %d campaigns", len(counts))
    # Celery results are JSON: keys become strings.
    return {str(k): v for k, v in counts.items()}
