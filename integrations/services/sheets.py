"""Depot sheets: a CSV upload becomes one inbound message per row, marked as from paper, and a
result per row (applied, stale, unknown order, bad time, unknown code, ...) a clerk can act on.

A row that cannot be read (a bad time, an empty order) becomes no message: it is kept on the
upload with its error, so the clerk fixes the sheet and uploads it again (rows already received
are duplicates, never applied twice).
"""

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from integrations.adapters import ParsedMessage, ParsedStatus, ParseError, csv_depot
from integrations.models import (
    InboundMessage,
    MessageState,
    SheetUpload,
    SheetUploadRow,
    SourceSystem,
    Transport,
)
from integrations.services.admission import selectors_out_of_scope
from integrations.services.inbox import inbound_message_receive
from integrations.services.lines import lines_for_selectors
from integrations.services.parsing import sheet_layout_for, site_times_localise
from integrations.services.processing import inbound_message_process, source_time
from orders.models import EventOutcome, StatusEvent

# The stored reason of a row refused because it names a line outside the uploader's scope.
UNKNOWN_ORDER = "unknown_order"


class RowOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")  # moved the line on
    UNCHANGED = "unchanged", _("Confirmed unchanged")  # the line already had this status
    STALE = "stale", _("Recorded as late")  # older than the line's status: kept, moves nothing
    REJECTED = "rejected", _("Not a legal move")  # the status machine refused it
    CONTESTED = "contested", _("Contradicts an override")  # a discrepancy was opened
    REMEMBERED = "remembered", _("Kept during a hold")  # the held line resumes from here
    UNKNOWN_ORDER = "unknown_order", _("Unknown order")  # no line has this order and line number
    UNKNOWN_CODE = "unknown_code", _("Unknown status code")  # the depot's code has no mapping yet
    BAD_TIME = "bad_time", _("Bad time")  # unreadable, or in the future
    BAD_ROW = "bad_row", _("Unreadable row")  # an empty required cell, a bad quantity, ...
    AMBIGUOUS = "ambiguous", _("Ambiguous line")  # names lines a person must choose between
    WAITING = "waiting", _("Waiting")  # stored, not processed yet
    FAILED = "failed", _("Failed")  # anything else: see the detail


@dataclass(frozen=True)
class RowResult:
    row: int  # the spreadsheet row (header = 1)
    order: str
    line: str
    code: str
    time: str
    outcome: str  # a RowOutcome value
    detail: str = ""
    message_id: int | None = None
    duplicate: bool = False

    @property
    def outcome_label(self) -> str:
        return RowOutcome(self.outcome).label

    @property
    def is_problem(self) -> bool:
        return self.outcome not in (RowOutcome.APPLIED, RowOutcome.UNCHANGED, RowOutcome.WAITING)


@dataclass(frozen=True)
class _Row:
    """A row before its result is known: its number, its CSV text, its fact or why it has none."""

    number: int
    text: str
    status: ParsedStatus | None
    error: csv_depot.RowError | None


def depot_sheet_upload(*, source: SourceSystem, content: bytes, filename: str, user) -> SheetUpload:
    """Store every readable row as its own message and every row on the upload. Refuses (with
    ParseError, nothing stored) a file that is not a sheet or lacks a required column. A row
    about a line outside the uploader's scope is kept as an unknown order, never a message."""
    text = csv_depot.decode(content)
    rows = _sheet_rows(source, text, user=user)
    with transaction.atomic():
        upload = SheetUpload.objects.create(
            source=source, filename=filename[:200], sha256=hashlib.sha256(content).hexdigest(), uploaded_by=user
        )
        for row in rows:
            if row.error is not None:
                SheetUploadRow.objects.create(
                    upload=upload,
                    row_number=row.number,
                    error_reason=row.error.reason,
                    error=str(row.error),
                    raw=row.text,
                )
                continue
            message, is_new = inbound_message_receive(
                source=source,
                raw=row.text,
                transport=Transport.FILE,
                content_type="text/csv",
                provenance=f"paper sheet {filename}, row {row.number}"[:200],
                uploaded_by=user,
            )
            SheetUploadRow.objects.create(upload=upload, row_number=row.number, message=message, duplicate=not is_new)
    return upload


def depot_sheet_upload_results(*, upload: SheetUpload) -> list[RowResult]:
    """What became of each row of an upload, as it stands now (rows are processed by workers)."""
    stored = list(upload.rows.select_related("message").order_by("row_number"))
    layout = sheet_layout_for(upload.source)
    rows = []
    for sheet_row in stored:
        text = sheet_row.message.raw if sheet_row.message else sheet_row.raw
        row = _row_of_text(sheet_row.row_number, text, layout)
        if sheet_row.message is None and sheet_row.error_reason == UNKNOWN_ORDER and row.status:
            row = replace(row, error=_unknown_order(row.number, row.status.line))
        rows.append(row)
    return _results(
        upload.source,
        rows,
        messages=[sheet_row.message for sheet_row in stored],
        duplicates=[sheet_row.duplicate for sheet_row in stored],
    )


class _DryRunRollback(Exception):
    pass


def depot_sheet_dry_run(*, source: SourceSystem, content: bytes | str, user=None) -> list[RowResult]:
    """What the sheet would do if it were uploaded now: every row through the whole pipeline, one
    after the other as a worker would take them, inside a transaction that is rolled back. With
    a `user`, rows outside their scope are unknown orders, not tried (no lock taken)."""
    text = csv_depot.decode(content) if isinstance(content, bytes) else content
    rows = _sheet_rows(source, text, user=user)
    results: list[RowResult] = []
    try:
        with transaction.atomic():
            messages: list[InboundMessage | None] = []
            for row in rows:
                if row.error is not None:
                    messages.append(None)
                    continue
                message = InboundMessage.objects.create(
                    source=source,
                    message_id=f"dry-run:{uuid.uuid4()}",
                    transport=Transport.FILE,
                    raw=row.text,
                    provenance=f"dry run, row {row.number}",
                )
                inbound_message_process(message_id=message.pk)
                message.refresh_from_db()
                messages.append(message)
            results = _results(source, rows, messages=messages, duplicates=[False] * len(rows), dry_run=True)
            raise _DryRunRollback
    except _DryRunRollback:
        pass
    return results


def row_results_csv(results: list[RowResult], *, delimiter: str = ",") -> str:
    """The result table as CSV, in the delimiter of the depot's own sheet (Excel in Europe: ;)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["row", "order", "line", "status", "time", "result", "result_text", "detail", "message"])
    for result in results:
        writer.writerow(
            [
                result.row,
                result.order,
                result.line,
                result.code,
                result.time,
                result.outcome,
                str(result.outcome_label),
                result.detail,
                result.message_id or "",
            ]
        )
    return buffer.getvalue()


def upload_delimiter(upload: SheetUpload) -> str:
    first = upload.rows.select_related("message").first()
    text = (first.message.raw if first and first.message else first.raw) if first else ""
    return sheet_delimiter(text)


def sheet_delimiter(text: str) -> str:
    try:
        return csv_depot.read(text).delimiter if text else ","
    except ParseError:
        return ","


def _sheet_rows(source: SourceSystem, text: str, user=None) -> list[_Row]:
    """The rows of a sheet; with a `user`, a row naming a line outside their scope is an
    unknown order (integrations.services.admission): it never becomes a message."""
    layout = sheet_layout_for(source)
    sheet_rows = csv_depot.rows(text, layout=layout)  # refuses a sheet without the required columns
    if not sheet_rows:
        raise ParseError("the sheet has no filled-in rows")
    rows = [_row_of_text(number, row_text, layout) for number, row_text in sheet_rows]
    if user is None:
        return rows
    outside = selectors_out_of_scope(user=user, selectors=[row.status.line for row in rows if row.status])
    return [
        replace(row, error=_unknown_order(row.number, row.status.line))
        if row.status and row.status.line in outside
        else row
        for row in rows
    ]


def _unknown_order(number: int, selector) -> csv_depot.RowError:
    return csv_depot.RowError(number, UNKNOWN_ORDER, f"no line matches {selector}")


def _row_of_text(number: int, text: str, layout: csv_depot.SheetLayout) -> _Row:
    """The fact of one stored row (the header and the row), read again; pure."""
    try:
        sheet = csv_depot.read(text, layout=layout)
        [(_number, values)] = sheet.rows
        return _Row(number, text, csv_depot.row_status(sheet, number, values, layout=layout), None)
    except csv_depot.RowError as error:
        return _Row(number, text, None, error.renumbered(number))
    except (ParseError, ValueError) as error:
        return _Row(number, text, None, csv_depot.RowError(number, "bad_row", str(error)))


def _results(
    source: SourceSystem,
    rows: list[_Row],
    *,
    messages: list[InboundMessage | None],
    duplicates: list[bool],
    dry_run: bool = False,
) -> list[RowResult]:
    """One result per row, in a fixed number of queries whatever the number of rows."""
    message_ids = [message.pk for message in messages if message is not None]
    first_outcome: dict[int, str] = {}
    events = StatusEvent.objects.filter(inbound_message_id__in=message_ids).order_by("id")
    for message_id, outcome in events.values_list("inbound_message_id", "outcome"):
        first_outcome.setdefault(message_id, outcome)
    unfinished = [
        row.status
        for row, message in zip(rows, messages, strict=True)
        if message is not None and row.status and message.state in (MessageState.RETRYING, MessageState.DEAD)
    ]
    candidates = lines_for_selectors([status.line for status in unfinished]) if unfinished else {}
    localised = site_times_localise(ParsedMessage(statuses=tuple(row.status for row in rows if row.status)))
    local_times = iter(status.occurred_at for status in localised.statuses)
    results = []
    for row, message, duplicate in zip(rows, messages, duplicates, strict=True):
        occurred_at = next(local_times) if row.status else None
        outcome, detail = _outcome(row, message, first_outcome, candidates, occurred_at, source)
        status = row.status
        results.append(
            RowResult(
                row=row.number,
                order=status.line.order_number if status else "",
                line=status.line.line_number if status else "",
                code=status.code if status else "",
                time=occurred_at.isoformat(sep=" ") if occurred_at else "",
                outcome=outcome,
                detail=detail,
                message_id=message.pk if message is not None and not dry_run else None,
                duplicate=duplicate,
            )
        )
    return results


def _outcome(
    row: _Row,
    message: InboundMessage | None,
    first_outcome: dict[int, str],
    candidates: dict,
    occurred_at: datetime | None,
    source: SourceSystem,
) -> tuple[str, str]:
    if row.error is not None:
        if row.error.reason == UNKNOWN_ORDER:
            return RowOutcome.UNKNOWN_ORDER, row.error.detail  # the words of a line not found
        reason = RowOutcome.BAD_TIME if row.error.reason == csv_depot.RowError.BAD_TIME else RowOutcome.BAD_ROW
        return reason, str(row.error)
    if message is None:
        return RowOutcome.FAILED, ""
    if message.state == MessageState.PROCESSED:
        outcome = first_outcome.get(message.pk, EventOutcome.APPLIED)
        return (outcome if outcome in RowOutcome.values else RowOutcome.APPLIED), ""
    if message.state == MessageState.RECEIVED:
        return RowOutcome.WAITING, ""
    parsed = message.parsed or {}
    if message.state == MessageState.QUARANTINED:
        if parsed.get("unknown_code"):
            return RowOutcome.UNKNOWN_CODE, message.last_error
        if parsed.get("ambiguous"):
            return RowOutcome.AMBIGUOUS, message.last_error
        if occurred_at is not None and _in_the_future(occurred_at, message, source):
            return RowOutcome.BAD_TIME, message.last_error
        return RowOutcome.FAILED, message.last_error
    found = candidates.get(row.status.line) if row.status else None
    if found is None or not (found.lines or found.references or found.shipments):
        return RowOutcome.UNKNOWN_ORDER, message.last_error
    return RowOutcome.FAILED, message.last_error


def _in_the_future(occurred_at: datetime, message: InboundMessage, source: SourceSystem) -> bool:
    return source_time(occurred_at, source) > message.received_at + settings.FACT_MAX_FUTURE


@dataclass(frozen=True)
class SheetPreview:
    """The first rows of a sample sheet, with the field each column is read as."""

    headings: list[tuple[str, str]]  # (heading, field or "")
    rows: list[tuple[int, list[str]]]
    missing: list[str]
    delimiter: str


def depot_sheet_preview(*, content: bytes, layout: csv_depot.SheetLayout, limit: int = 5) -> SheetPreview:
    sheet = csv_depot.read(csv_depot.decode(content), layout=layout)
    return SheetPreview(
        headings=[(heading, sheet.field_of_column(index)) for index, heading in enumerate(sheet.header)],
        rows=[(number, values[: len(sheet.header)]) for number, values in sheet.rows[:limit]],
        missing=sheet.missing,
        delimiter=sheet.delimiter,
    )


def source_sheet_layout_set(*, source_id: int, columns: dict[str, str], date_order: str) -> SourceSystem:
    """Store which heading of the depot's sheet holds which field (audited in the history)."""
    unknown = set(columns) - set(csv_depot.FIELDS)
    if unknown:
        raise ValueError(f"unknown sheet field(s): {', '.join(sorted(unknown))}")
    with transaction.atomic():
        source = SourceSystem.objects.select_for_update().get(pk=source_id)
        source.sheet_columns = {name: heading for name, heading in columns.items() if heading}
        source.sheet_date_order = date_order
        source.save(update_fields=["sheet_columns", "sheet_date_order"])
    return source
