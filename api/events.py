"""Turns domain events (crm.events) into webhook deliveries for the partners that asked."""

from __future__ import annotations

import logging

import celerytasks.webhooks  # noqa: F401  (so a worker registers the webhook tasks)
from api.models import WebhookEndpoint
from api.webhooks import webhook_deliveries_forget, webhook_event_record
from crm.events import subscribe

logger = logging.getLogger(__name__)


@subscribe
def webhooks_on_event(event: str, instance) -> None:
    """Records the event's deliveries in the transaction that made it. A fault here is logged
    and costs only the webhooks (their writes roll back to a savepoint): the signature, contact
    or organisation that raised the event is saved all the same."""
    if event not in WebhookEndpoint.Event.values:
        return
    try:
        webhook_event_record(event, instance)
    except Exception:
        logger.exception("Webhooks for %s of %r not recorded", event, instance)


@subscribe
def webhooks_forget_erased(event: str, instance) -> None:
    """An erasure empties the webhook log's copies of the person; a fault here fails the
    erasure (nothing of it is kept), rather than leave their data behind."""
    if event == "person.erased":
        webhook_deliveries_forget(
            contact_id=instance["contact_id"], signature_ids=instance["signature_ids"]
        )
