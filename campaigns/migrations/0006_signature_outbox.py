"""The sign POST's outbox: ``Signature.processed_at`` (NULL = waiting for processing), the
re-submission it carries, one signature per mailbox per campaign (what the one-statement upsert
relies on), and the beat schedule that processes waiting signatures should the web's own
request for it have been lost."""

import django.utils.timezone
from django.db import migrations, models

SCHEDULE_NAME = "Process new signatures"


def existing_processed(apps, schema_editor):
    # Signatures recorded before the outbox were linked and confirmed inline.
    Signature = apps.get_model("campaigns", "Signature")
    Signature.objects.filter(processed_at__isnull=True).update(processed_at=models.F("modified"))


def schedule_create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=10, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "task": "campaigns.process_signatures",
            "interval": interval,
            "description": "Links new signatures to contacts and member organisations and "
            "sends their confirmation e-mails, should the web's own request for it have been "
            "lost.",
        },
    )


def schedule_remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0005_signature_pending_changes"),
        ("members", "0005_contact_email_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="signature",
            name="processed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="signature",
            name="resubmission",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="signature",
            index=models.Index(
                condition=models.Q(("processed_at__isnull", True)),
                fields=["id"],
                name="signature_to_process",
            ),
        ),
        migrations.AddConstraint(
            model_name="signature",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("on_behalf_of__isnull", True),
                    models.Q(("canonical_email", ""), _negated=True),
                ),
                fields=("campaign", "canonical_email"),
                name="signature_one_per_mailbox",
            ),
        ),
        migrations.RunPython(existing_processed, migrations.RunPython.noop),
        # Rows created through the ORM are processed as created; the sign POST's raw upsert
        # stores NULL.
        migrations.AlterField(
            model_name="signature",
            name="processed_at",
            field=models.DateTimeField(
                blank=True, default=django.utils.timezone.now, editable=False, null=True
            ),
        ),
        migrations.RunPython(schedule_create, schedule_remove),
    ]
