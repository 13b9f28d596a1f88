"""Creates the coalition's seven sectors, with the spellings the importer should recognise.

In a migration (not only the demo) so a real installation can import its spreadsheet at once.
Conveners rename, reorder and extend the aliases in the admin afterwards; this never overwrites.
"""

from django.db import migrations

SECTORS = [
    (
        "Public",
        "public",
        [
            "public sector",
            "government",
            "law enforcement",
            "city",
            "county",
            "state",
            "municipal",
            "court",
        ],
    ),
    (
        "Private",
        "private",
        [
            "private sector",
            "corporate",
            "business",
            "for-profit",
            "for profit",
            "company",
            "industry",
        ],
    ),
    (
        "Multi-faith",
        "multi-faith",
        [
            "multi faith",
            "multifaith",
            "faith",
            "faith-based",
            "faith based",
            "religious",
            "interfaith",
            "church",
        ],
    ),
    (
        "Education",
        "education",
        ["higher ed", "higher education", "school", "k-12", "university", "academic", "college"],
    ),
    ("Advocacy", "advocacy", ["advocate", "advocacy group", "policy"]),
    (
        "Nonprofit",
        "nonprofit",
        [
            "non-profit",
            "non profit",
            "npo",
            "ngo",
            "501(c)(3)",
            "501c3",
            "charity",
            "service provider",
        ],
    ),
    ("Philanthropic", "philanthropic", ["philanthropy", "funder", "foundation", "grantmaker"]),
]


def create_sectors(apps, schema_editor):
    Sector = apps.get_model("members", "Sector")
    for position, (name, slug, aliases) in enumerate(SECTORS):
        Sector.objects.get_or_create(
            slug=slug, defaults={"name": name, "aliases": aliases, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("members", "0002_directory_crm")]

    operations = [migrations.RunPython(create_sectors, migrations.RunPython.noop)]
