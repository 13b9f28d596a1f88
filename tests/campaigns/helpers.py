"""Helpers for tests of signing: the sign POST stores a signature in one statement and a task
processes it moments later (contact, member match, re-submission, confirmation e-mail)."""

from campaigns.models import Signature
from campaigns.services import signature_record, signatures_process_pending


def processed(signature: Signature | None = None) -> Signature | None:
    """Runs the processing the task would run now; the signature as stored afterwards."""
    signatures_process_pending()
    if signature is None:
        return None
    return Signature.objects.select_related("campaign").get(pk=signature.pk)


def sign_processed(**fields) -> tuple[Signature, bool]:
    """``signature_record`` followed by the processing: what signing did inline before."""
    signature, created = signature_record(**fields)
    return processed(signature), created


def confirmations_queued(callbacks) -> int:
    """How many of the captured on-commit callbacks queue a confirmation e-mail."""
    return sum(
        getattr(callback, "__name__", "") == "enqueue_signature_confirmation"
        for callback in callbacks
    )
