"""Can this process reach its database and its broker? Used by /healthz and ``preflight``."""

import logging

from django.db import connection

from celerytasks import app as celery_app

logger = logging.getLogger(__name__)


def database_error() -> str | None:
    """None when the database answers a query, else what went wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return None
    except Exception as exc:  # any driver error means "not reachable"
        logger.warning("Health check: database unreachable: %s", exc)
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def broker_error() -> str | None:
    """None when the Celery broker accepts a connection, else what went wrong."""
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            # Redis connects lazily: open a channel so the server really answers.
            conn.default_channel  # noqa: B018
        return None
    except Exception as exc:  # any transport error means "not reachable"
        logger.warning("Health check: broker unreachable: %s", exc)
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
