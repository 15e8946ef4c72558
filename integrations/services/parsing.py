"""Parsing a stored message with what its source says about it: the adapter stays pure, this
hands it the source's settings and then puts each depot time in its site's time zone."""

from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models.functions import Lower
from django.utils import timezone

from integrations.adapters import ParsedMessage, adapter_for, csv_depot
from integrations.models import MessageFormat, SheetUploadRow, SourceSystem
from orders.models import Site


def sheet_layout_for(source: SourceSystem) -> csv_depot.SheetLayout:
    return csv_depot.SheetLayout(columns=dict(source.sheet_columns or {}), date_order=source.sheet_date_order)


def inbound_parse(*, source: SourceSystem, raw: str, message_id: int | None = None) -> ParsedMessage:
    """The facts of `raw` as `source` sends it. Depot sheets: the source's column layout, and
    local times in the time zone of the site the row names (the source's when it names none we
    know). A row error names the row of the uploaded sheet the message came from."""
    if source.message_format != MessageFormat.CSV_DEPOT:
        return adapter_for(source.message_format).parse(raw)
    try:
        parsed = csv_depot.parse(raw, layout=sheet_layout_for(source))
    except csv_depot.RowError as error:
        row = _sheet_row(message_id)
        raise (error.renumbered(row) if row else error) from error
    return site_times_localise(parsed)


def site_times_localise(parsed: ParsedMessage) -> ParsedMessage:
    """Naive times of facts that name a site become aware in that site's zone (one query)."""
    codes = {status.location.lower() for status in parsed.statuses if status.location}
    if not codes:
        return parsed
    zones = {}
    # Clerks write site codes as they like: matched without regard to case.
    sites = Site.objects.annotate(code_lower=Lower("code")).filter(code_lower__in=codes)
    for code, zone_name in sites.values_list("code", "time_zone"):
        try:
            zones[code.lower()] = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # a misconfigured site falls back to the source's zone
    statuses = tuple(
        replace(status, occurred_at=status.occurred_at.replace(tzinfo=zones[status.location.lower()]))
        if timezone.is_naive(status.occurred_at) and status.location.lower() in zones
        else status
        for status in parsed.statuses
    )
    return replace(parsed, statuses=statuses)


def _sheet_row(message_id: int | None) -> int | None:
    if message_id is None:
        return None
    return (
        SheetUploadRow.objects.filter(message_id=message_id).order_by("id").values_list("row_number", flat=True).first()
    )
