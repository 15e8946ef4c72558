"""Reference data as CSV: regions and sites in and out without the shell (admin and commands).

An import is all or nothing: every row is checked first and any error names its spreadsheet
row (header = row 1); only a file without errors is written. A row whose key exists updates
that record, a new key creates one, an identical row changes nothing.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.db import models, transaction

from orders.models import Region, Site


class ImportRefused(Exception):
    """The file has errors: nothing was written. `errors` lists (row, message)."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        super().__init__("; ".join(f"row {row}: {message}" for row, message in errors))


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass(frozen=True)
class CsvTable:
    """One kind of reference data as a CSV table: its columns, how to export and import it."""

    name: str
    columns: tuple[str, ...]
    export_row: Callable[[models.Model], list[str]]
    import_rows: Callable[..., ImportReport]  # (rows: list[tuple[int, dict]], dry_run: bool) -> ImportReport
    queryset: Callable[[], models.QuerySet]


def csv_export(table: CsvTable, records: Iterable[models.Model] | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for record in table.queryset() if records is None else records:
        writer.writerow(table.export_row(record))
    return buffer.getvalue()


def csv_import(table: CsvTable, text: str, *, dry_run: bool = False) -> ImportReport:
    """Import a CSV text (comma or semicolon); raises ImportRefused with every error, or reports."""
    rows = csv_rows(text, table.columns)
    return table.import_rows(rows, dry_run=dry_run)


def csv_rows(text: str, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row, values by column) for each filled-in row; checks the header."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        header = [name.strip().lower() for name in next(reader, [])]
        records = list(enumerate(reader, start=2))
    except csv.Error as error:
        raise ImportRefused([(0, f"not a readable CSV file: {error}")]) from error
    missing = [column for column in columns if column not in header]
    if missing:
        raise ImportRefused([(1, f"missing column(s): {', '.join(missing)}; expected {','.join(columns)}")])
    return [
        (number, {name: (values[index].strip() if index < len(values) else "") for index, name in enumerate(header)})
        for number, values in records
        if any(value.strip() for value in values)
    ]


def _upsert(
    model: type[models.Model], rows: list[tuple[int, dict]], build: Callable, *, dry_run: bool, key: str = "code"
) -> ImportReport:
    """Check every row (build -> unsaved instance), then write them when none has an error."""
    report = ImportReport()
    planned = []
    first_row: dict[str, int] = {}
    for number, values in rows:
        if values[key] in first_row:
            report.errors.append((number, f"{key} {values[key]!r} again (first in row {first_row[values[key]]})"))
            continue
        first_row[values[key]] = number
        try:
            instance, changed = build(values)
            instance.full_clean(validate_unique=False)
        except ValidationError as error:
            report.errors.append((number, validation_text(error)))
            continue
        planned.append((instance, changed))
    if report.errors:
        raise ImportRefused(report.errors)
    with transaction.atomic():
        for instance, changed in planned:
            if instance.pk is None:
                report.created += 1
            elif changed:
                report.updated += 1
            else:
                report.unchanged += 1
                continue
            if not dry_run:
                instance.save()
    return report


def validation_text(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)


def _assign(instance: models.Model, values: dict[str, object]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


def regions_import(*, rows: list[tuple[int, dict]], dry_run: bool = False) -> ImportReport:
    existing = {region.code: region for region in Region.objects.filter(code__in=[v["code"] for _n, v in rows])}

    def build(values):
        region = existing.get(values["code"]) or Region(code=values["code"])
        return region, _assign(region, {"name": values["name"]})

    return _upsert(Region, rows, build, dry_run=dry_run)


def sites_import(*, rows: list[tuple[int, dict]], dry_run: bool = False) -> ImportReport:
    existing = {site.code: site for site in Site.objects.filter(code__in=[v["code"] for _n, v in rows])}
    regions = {region.code: region for region in Region.objects.all()}
    zones = available_timezones()

    def build(values):
        site = existing.get(values["code"]) or Site(code=values["code"])
        errors = {}
        region = regions.get(values["region"])
        if region is None:
            errors["region"] = [f"no region {values['region']!r}: import the regions first"]
        if values["time_zone"] not in zones:
            errors["time_zone"] = [f"{values['time_zone']!r} is not a time zone such as Europe/Berlin"]
        if errors:
            raise ValidationError(errors)
        changed = _assign(
            site,
            {
                "name": values["name"],
                "kind": values["kind"],
                "region_id": region.pk,
                "country": values["country"].upper(),
                "time_zone": values["time_zone"],
            },
        )
        return site, changed

    return _upsert(Site, rows, build, dry_run=dry_run)


REGIONS = CsvTable(
    name="regions",
    columns=("code", "name"),
    export_row=lambda region: [region.code, region.name],
    import_rows=lambda rows, dry_run=False: regions_import(rows=rows, dry_run=dry_run),
    queryset=lambda: Region.objects.order_by("code"),
)
SITES = CsvTable(
    name="sites",
    columns=("code", "name", "kind", "region", "country", "time_zone"),
    export_row=lambda site: [site.code, site.name, site.kind, site.region.code, site.country, site.time_zone],
    import_rows=lambda rows, dry_run=False: sites_import(rows=rows, dry_run=dry_run),
    queryset=lambda: Site.objects.select_related("region").order_by("code"),
)
