"""Beat's schedule for webhooks, created once in the database where conveners can edit it."""

from django.db import migrations

DEFAULT_SCHEDULES = [
    # (name, task, every N seconds, description)
    (
        "Send due webhooks",
        "webhooks.sweep",
        30,
        "Publishes the webhook deliveries whose retry is due, and any whose task was lost or "
        "whose worker died mid-send.",
    ),
    (
        "Prune the webhook delivery log",
        "webhooks.prune",
        3600,
        "Deletes delivered and failed webhook deliveries older than WEBHOOK_LOG_DAYS.",
    ),
]


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds, description in DEFAULT_SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={"task": task, "interval": interval, "description": description},
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in DEFAULT_SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_partners_keys_webhooks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
