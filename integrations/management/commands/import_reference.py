"""Read code mappings, regions or sites from CSV: all rows or none, every error by its row."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.services.reference_data import TABLES
from orders.services.reference import ImportRefused, csv_import


class Command(BaseCommand):
    help = (
        "Import code mappings, regions or sites from a CSV file (as export_reference writes it). "
        "Nothing is written when any row has an error."
    )

    def add_arguments(self, parser):
        parser.add_argument("table", choices=sorted(TABLES), help="what to import")
        parser.add_argument("file", help="CSV file (comma or semicolon, UTF-8)")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")

    def handle(self, *args, table, file, dry_run=False, **options):
        try:
            text = Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {file}: {error}") from error
        try:
            report = csv_import(TABLES[table], text, dry_run=dry_run)
        except ImportRefused as refused:
            for row, message in refused.errors:
                self.stderr.write(f"row {row}: {message}")
            raise CommandError(f"{len(refused.errors)} error(s): nothing imported.") from refused
        prefix = "Dry run, nothing written: " if dry_run else ""
        self.stdout.write(f"{prefix}{table}: {report}.")
