"""``manage.py import_members FILE.csv``: imports a member spreadsheet export, row by row."""

import csv
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crm.errors import ApplicationError
from members.importing import OUTCOMES, decode_upload, members_import, read_rows, report_csv_rows


class Command(BaseCommand):
    help = (
        "Imports member organisations and their primary contacts from a CSV export with the "
        "columns Organization, Sector, Website, Primary Contact, Contact Email, Contact Phone, "
        "City, County, Joined, Status, Notes. Prints counts per outcome."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8, with or without a BOM)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="show what would happen; save nothing",
        )
        parser.add_argument(
            "--report", metavar="REPORT.csv", help="write the per-row report to this CSV file"
        )

    def handle(self, *args, file, dry_run, report, **options):
        try:
            text = decode_upload(Path(file).read_bytes())
            total = len(read_rows(text))
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except ApplicationError as error:
            raise CommandError(f"{file}: {error.message}") from error
        with tqdm(total=total, unit="row", file=sys.stderr, disable=None) as bar:
            result = members_import(
                text=text, dry_run=dry_run, progress=lambda done: bar.update(done - bar.n)
            )
        if report:
            try:
                with open(report, "w", newline="", encoding="utf-8") as handle:
                    csv.writer(handle).writerows(report_csv_rows(result.report()))
            except OSError as error:
                raise CommandError(f"Cannot write {report}: {error.strerror}.") from error
        summary = result.summary
        heading = "Dry run, nothing saved" if dry_run else "Imported"
        counts = ", ".join(f"{summary[outcome]} {outcome}" for outcome in OUTCOMES)
        self.stdout.write(f"{heading}: {len(result.rows)} rows: {counts}.")
        if report:
            self.stdout.write(f"Report written to {report}.")
