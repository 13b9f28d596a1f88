from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_tombstone_organization_ids"),
    ]

    operations = [
        migrations.AddField(
            model_name="tombstone",
            name="contact_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
