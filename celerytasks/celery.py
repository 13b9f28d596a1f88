"""The Celery app object, configured from Django settings (every ``CELERY_*`` setting)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

# Every task module; a worker registers exactly these.
TASK_MODULES = [
    "celerytasks.tasks",
    "celerytasks.imports",
    "celerytasks.accounts",
    "celerytasks.campaigns",
    "celerytasks.mailings",
    "celerytasks.webhooks",
]

app = Celery("crm", include=TASK_MODULES)
app.config_from_object("django.conf:settings", namespace="CELERY")
