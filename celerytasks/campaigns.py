"""Tasks for campaign signing (processing new signatures, confirmation e-mails)."""

import logging
import smtplib

from celery import shared_task

from campaigns.models import Signature
from campaigns.services import signature_confirmation_email

logger = logging.getLogger(__name__)


@shared_task(
    name="campaigns.send_signature_confirmation",
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def send_signature_confirmation(signature_id: int) -> bool:
    """E-mails the signer a link to confirm their signature. Nothing is sent once it is
    confirmed, erased or deleted; a second run sends a second, equally valid link."""
    signature = Signature.objects.select_related("campaign").filter(pk=signature_id).first()
    if signature is None:
        logger.info("Confirmation not sent: signature %s no longer exists", signature_id)
        return False
    sent = signature_confirmation_email(signature=signature)
    if not sent:
        logger.info("Confirmation not sent: signature %s needs none", signature_id)
    return sent


@shared_task(name="campaigns.process_signatures")
def process_signatures() -> int:
    """Links new signatures to contacts and member organisations, applies re-submissions and
    queues the confirmation e-mails (the sign POST only stores them). Asked for by the web after
    a signature, at most once a second per process, and run by beat every 10 s, so nothing waits
    on a lost message. Running it twice, or twice at once, is harmless."""
    from campaigns.services import signatures_process_pending

    processed = signatures_process_pending()
    if processed:
        logger.info("Processed %d new signatures", processed)
    return processed
