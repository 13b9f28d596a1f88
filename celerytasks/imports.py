"""Tasks for member imports."""

from celery import shared_task

from members.importing import import_run_execute


@shared_task(name="members.import_run")
def import_run(run_id: int) -> bool:
    """Imports a confirmed (queued) upload. A second delivery finds the run no longer queued
    and does nothing, so the same rows are never imported twice at once."""
    return import_run_execute(run_id=run_id)
