"""Tasks for member editors' accounts (sign-in links)."""

import logging
import smtplib

from celery import shared_task
from django.contrib.auth import get_user_model

from members.accounts import sign_in_link_email
from members.models import Contact

logger = logging.getLogger(__name__)


@shared_task(
    name="members.send_sign_in_link",
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def send_sign_in_link(contact_id: int, requested_by_id: int | None = None) -> bool:
    """E-mails a fresh sign-in link. A link that is no longer wanted (the person was deleted or
    stopped editing) is not sent; a second run sends a second, equally valid link."""
    contact = Contact.objects.select_related("user").filter(pk=contact_id).first()
    if contact is None:
        logger.info("Sign-in link not sent: contact %s no longer exists", contact_id)
        return False
    requested_by = (
        get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    )
    sent = sign_in_link_email(contact=contact, requested_by=requested_by)
    if not sent:
        logger.info("Sign-in link not sent: contact %s edits no organisation", contact_id)
    return sent
