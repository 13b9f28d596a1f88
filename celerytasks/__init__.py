"""The Celery application and its tasks; tasks are thin and call the apps' services."""

from celerytasks.celery import app

__all__ = ["app"]
