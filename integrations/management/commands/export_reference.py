"""Write code mappings, regions or sites as CSV (the same format the admin exports and imports)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from integrations.services.reference_data import TABLES
from orders.services.reference import csv_export


class Command(BaseCommand):
    help = "Export code mappings, regions or sites as CSV, to a file or to standard output."

    def add_arguments(self, parser):
        parser.add_argument("table", choices=sorted(TABLES), help="what to export")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, table, output=None, **options):
        text = csv_export(TABLES[table])
        if output:
            Path(output).write_text(text, encoding="utf-8")
            rows = text.count("\n") - 1
            self.stdout.write(f"{rows} {table} written to {output}.")
        else:
            self.stdout.write(text, ending="")
