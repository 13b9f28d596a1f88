"""Beat's schedules for mailings, created once in the database where conveners can edit them."""

from django.db import migrations

DEFAULT_SCHEDULES = [
    # (name, task, every N seconds, description)
    (
        "Send due mailings",
        "mailings.dispatch",
        5,
        "Starts scheduled mailings at their time, keeps each sending mailing's send tasks "
        "flowing and returns messages of lost workers to the queue.",
    ),
    (
        "Make due reminders",
        "mailings.reminders",
        60,
        "Turns each reminder rule into a mailing when its time before the campaign's date comes.",
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
        ("mailings", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
