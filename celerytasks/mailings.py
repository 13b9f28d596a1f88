"""Tasks of mailings. Each calls one service; the services hold the rules of exactly-once."""

import logging

from celery import shared_task

from mailings import services

logger = logging.getLogger(__name__)


@shared_task(name="mailings.dispatch")
def dispatch_mailings() -> dict:
    """Run by beat every few seconds and after a mailing is scheduled or resumed."""
    result = services.mailings_dispatch()
    if any(result.values()):
        logger.info("Mailings dispatched: %s", result)
    return result


@shared_task(name="mailings.pump")
def pump_mailing(mailing_id: int, token: str) -> int:
    """Publishes the next window of a sending mailing's deliveries; while the mailing sends,
    the service publishes this task's next run first. One chain per mailing (the pump lease)."""
    published, _token = services.mailing_pump(mailing_id=mailing_id, token=token)
    return published


@shared_task(name="mailings.send_delivery", bind=True, max_retries=None)
def send_delivery(self, delivery_id: int) -> str:
    """Sends one recipient's message; a claimed or finished delivery is left alone, so running
    it twice sends nothing twice. Transient errors come back with a capped backoff."""
    try:
        return services.delivery_send(delivery_id=delivery_id)
    except services.TransientSendError as error:
        raise self.retry(countdown=error.countdown, exc=error) from error


@shared_task(name="mailings.send_test")
def send_test_mailing(mailing_id: int, to: str) -> None:
    from mailings.models import Mailing

    mailing = Mailing.objects.filter(pk=mailing_id).first()
    if mailing is not None:
        services.mailing_test_send(mailing=mailing, to=to)


@shared_task(name="mailings.reminders")
def make_reminders() -> list[int]:
    made = services.reminders_run()
    if made:
        logger.info("Reminder mailings made: %s", made)
    return made
