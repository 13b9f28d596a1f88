"""Checks that the database and the broker answer before ``make run`` starts anything."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from kombu.utils.url import maybe_sanitize_url

from crm import health


class Command(BaseCommand):
    help = "Exits with one clear line if DATABASE_URL or CELERY_BROKER_URL cannot be reached."

    def handle(self, *args, **options):
        # The error below says it all; the health module's own warning would repeat it.
        logging.getLogger(health.__name__).setLevel(logging.ERROR)
        database = settings.DATABASES["default"]
        problem = health.database_error()
        if problem:
            raise CommandError(
                f"DATABASE_URL: cannot reach {database['ENGINE'].rsplit('.', 1)[-1]} database "
                f"{database['NAME']!r} at {database.get('HOST') or 'localhost'}: {problem}"
            )
        problem = health.broker_error()
        if problem:
            broker = maybe_sanitize_url(settings.CELERY_BROKER_URL)
            raise CommandError(f"CELERY_BROKER_URL: cannot reach the broker at {broker}: {problem}")
        self.stdout.write("Database and broker answer.")
