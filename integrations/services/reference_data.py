"""Code mappings as CSV (admin import / export and the import_reference / export_reference
commands), beside the core's regions and sites.

Mappings are versioned: a row without a version that says something new for its code adds the
next version (the one in force ends where the new one starts); a row naming an existing version
must match it, since what was in force in the past is never rewritten.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.models import InboundMessage, MessageState, SourceSystem, StatusMapping
from integrations.services.inbox import inbound_messages_replay
from orders.services.reference import REGIONS, SITES, CsvTable, ImportRefused, ImportReport, validation_text

MAPPING_COLUMNS = (
    "source",
    "external_code",
    "qualifier",
    "status",
    "reason_code",
    "description",
    "version",
    "valid_from",
    "valid_until",
)
CONTENT_FIELDS = ("status", "reason_code", "description")


def _export_mapping(mapping: StatusMapping) -> list[str]:
    return [
        mapping.source.code,
        mapping.external_code,
        mapping.qualifier,
        mapping.status,
        mapping.reason_code,
        mapping.description,
        str(mapping.version),
        mapping.valid_from.isoformat(),
        mapping.valid_until.isoformat() if mapping.valid_until else "",
    ]


def status_mappings_import(*, rows: list[tuple[int, dict]], dry_run: bool = False) -> ImportReport:
    """Check every row, then write them all (or nothing, with every error by row). Quarantined
    messages waiting for a code that now has a mapping are replayed."""
    sources = {source.code: source for source in SourceSystem.objects.all()}
    report = ImportReport()
    with transaction.atomic():
        for number, values in rows:
            try:
                outcome = _import_mapping(values, sources)
            except ValidationError as error:
                report.errors.append((number, validation_text(error)))
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
        if report.errors:
            transaction.set_rollback(True)
            raise ImportRefused(report.errors)
        if dry_run:
            transaction.set_rollback(True)
            return report
        _replay_waiting({(values["source"], values["external_code"]) for _number, values in rows}, sources)
    return report


def _import_mapping(values: dict[str, str], sources: dict[str, SourceSystem]) -> str:
    source = sources.get(values["source"])
    if source is None:
        raise ValidationError({"source": [f"no source system {values['source']!r}"]})
    key = {"source": source, "external_code": values["external_code"], "qualifier": values["qualifier"]}
    content = {name: values[name] for name in CONTENT_FIELDS}
    valid_from = _moment(values, "valid_from") or timezone.now()
    valid_until = _moment(values, "valid_until")
    versions = list(StatusMapping.objects.select_for_update().filter(**key).order_by("version"))
    if values["version"]:
        if not values["version"].isdigit() or int(values["version"]) < 1:
            raise ValidationError({"version": ["a whole number from 1, or empty for the next version"]})
        same = next((mapping for mapping in versions if mapping.version == int(values["version"])), None)
        if same is not None:
            if all(getattr(same, name) == value for name, value in content.items()):
                return "unchanged"
            raise ValidationError(
                {"version": [f"version {same.version} exists with other values; leave the version empty to add one"]}
            )
        mapping = StatusMapping(
            **key, **content, version=int(values["version"]), valid_from=valid_from, valid_until=valid_until
        )
        _save(mapping)
        return "created"
    current = next((mapping for mapping in reversed(versions) if mapping.valid_until is None), None)
    if current is not None and all(getattr(current, name) == value for name, value in content.items()):
        return "unchanged"
    mapping = StatusMapping(
        **key,
        **content,
        version=(versions[-1].version + 1) if versions else 1,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    _save(mapping)
    if current is not None:
        current.valid_until = valid_from
        current.save(update_fields=["valid_until"])
        return "updated"
    return "created"


def _save(mapping: StatusMapping) -> None:
    mapping.full_clean(validate_unique=False)  # refuses a status no fact can reach (received)
    mapping.save()


def _moment(values: dict[str, str], name: str) -> datetime | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError({name: [f"{text!r} is not a time like 2026-11-02T14:30:00+01:00"]})
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, timezone.get_current_timezone())


def _replay_waiting(codes: set[tuple[str, str]], sources: dict[str, SourceSystem]) -> int:
    waiting = []
    for source_code, external_code in codes:
        waiting += InboundMessage.objects.filter(
            source=sources[source_code], state=MessageState.QUARANTINED, parsed__unknown_code__code=external_code
        ).values_list("pk", flat=True)
    return inbound_messages_replay(message_ids=waiting) if waiting else 0


MAPPINGS = CsvTable(
    name="mappings",
    columns=MAPPING_COLUMNS,
    export_row=_export_mapping,
    import_rows=lambda rows, dry_run=False: status_mappings_import(rows=rows, dry_run=dry_run),
    queryset=lambda: StatusMapping.objects.select_related("source").order_by(
        "source__code", "external_code", "qualifier", "version"
    ),
)
TABLES: dict[str, CsvTable] = {"mappings": MAPPINGS, "regions": REGIONS, "sites": SITES}
