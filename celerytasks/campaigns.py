"""Tasks for campaign signing (confirmation e-mails)."""

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
