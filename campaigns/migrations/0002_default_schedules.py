"""Creates the periodic tasks every installation needs, in the database where conveners edit them.

A migration runs once, so a convener who changes or deletes a schedule keeps that choice.
"""

from django.db import migrations

DEFAULT_SCHEDULES = [
    # (name, task, every N seconds, description)
    (
        "Refresh campaign signature counts",
        "campaigns.refresh_signature_counts",
        30,
        "Recounts confirmed signatures into the figure campaign pages show.",
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
        ("campaigns", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
