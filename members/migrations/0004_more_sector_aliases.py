"""Adds sector spellings met in members' spreadsheets after 0003 ("Gov't", "Survivor Advocacy").

Only appends aliases a sector lacks, so conveners' own edits stay.
"""

from django.db import migrations

EXTRA = {
    "public": ["gov't", "govt", "public agency"],
    "advocacy": ["survivor advocacy", "survivor-led", "anti-trafficking advocacy"],
}


def add_aliases(apps, schema_editor):
    Sector = apps.get_model("members", "Sector")
    for slug, extra in EXTRA.items():
        sector = Sector.objects.filter(slug=slug).first()
        if sector is None:
            continue
        have = {alias.casefold() for alias in sector.aliases}
        sector.aliases = sector.aliases + [alias for alias in extra if alias not in have]
        sector.save(update_fields=["aliases"])


class Migration(migrations.Migration):
    dependencies = [("members", "0003_seven_sectors")]

    operations = [migrations.RunPython(add_aliases, migrations.RunPython.noop)]
