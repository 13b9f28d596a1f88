"""Tasks of outbound webhooks: one per delivery, and beat's sweep. The service holds the rules of
claiming, so running either twice sends nothing twice."""

import logging

from celery import shared_task
from django.conf import settings

from api import webhooks

logger = logging.getLogger(__name__)


@shared_task(
    name="webhooks.deliver",
    # Past the request's own timeouts (a connect and reads of WEBHOOK_TIMEOUT each), the worker
    # gives up on a slow endpoint; the delivery is retried later. Below the lease, so no second
    # worker can claim it while this one still sends.
    soft_time_limit=3 * settings.WEBHOOK_TIMEOUT,
    time_limit=settings.WEBHOOK_LEASE - 1,
)
def deliver(delivery_id: int, attempt: int) -> str:
    """Sends one delivery's attempt number ``attempt`` (0 for the first)."""
    return webhooks.webhook_delivery_send(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    """Run by beat every 30 s: publishes the deliveries whose retry is due, or whose task was
    lost. Retries wait here rather than as countdowns in the broker."""
    published = webhooks.webhook_deliveries_publish_due()
    if published:
        logger.info("Webhook deliveries published: %s", published)
    return published


@shared_task(name="webhooks.prune")
def prune() -> int:
    """Run by beat every hour: deletes delivery log rows older than WEBHOOK_LOG_DAYS."""
    deleted = webhooks.webhook_deliveries_prune()
    if deleted:
        logger.info("Old webhook deliveries deleted: %s", deleted)
    return deleted
