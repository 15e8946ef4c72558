"""The depot sheet: paper-based depots fill in one row per status (order, line, status code,
time, site, clerk), then a clerk uploads it as CSV. Each row is stored as its own message."""

import csv
import io
from datetime import datetime

from integrations.adapters.base import LineSelector, ParsedMessage, ParsedStatus, ParseError

COLUMNS = ("order", "line", "status", "time", "site", "clerk")
OPTIONAL_COLUMNS = ("note",)
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M")


def peek_message_id(raw: str) -> str | None:
    return None  # a sheet row has no id of its own: the inbox uses a hash of its content


def header() -> str:
    return ",".join((*COLUMNS, *OPTIONAL_COLUMNS))


def rows(raw: str) -> list[tuple[int, str]]:
    try:
        return _rows(raw)
    except csv.Error as error:
        raise ParseError(f"not a readable CSV sheet: {error}") from error


def _rows(raw: str) -> list[tuple[int, str]]:
    """Split an uploaded sheet into (line number, CSV text with the header) per filled-in row."""
    reader = csv.reader(io.StringIO(raw.lstrip("\ufeff")))
    try:
        head = next(reader)
    except StopIteration as error:
        raise ParseError("the file is empty") from error
    _check_header([name.strip().lower() for name in head])
    texts = []
    for values in reader:
        if not any(value.strip() for value in values):
            continue
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([head, values])
        texts.append((reader.line_num, buffer.getvalue()))
    return texts


def parse(raw: str) -> ParsedMessage:
    try:
        return _parse(raw)
    except csv.Error as error:
        raise ParseError(f"not a readable CSV sheet: {error}") from error


def _parse(raw: str) -> ParsedMessage:
    reader = csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise ParseError("the sheet is empty")
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    _check_header(reader.fieldnames)
    statuses = []
    for row_number, row in enumerate(reader, start=2):
        if None in row:
            raise ParseError(f"row {row_number}: more values than columns")
        values = {key: (value or "").strip() for key, value in row.items()}
        if not any(values.values()):
            continue
        for column in ("order", "line", "status", "time"):
            if not values.get(column):
                raise ParseError(f"row {row_number}: column '{column}' is empty")
        statuses.append(
            ParsedStatus(
                line=LineSelector(order_number=values["order"], line_number=values["line"]),
                code=values["status"].upper(),
                occurred_at=_time(values["time"], row_number),
                location=values.get("site", ""),
                text=" ".join(
                    filter(None, [values.get("note", ""), f"clerk: {values['clerk']}" if values.get("clerk") else ""])
                ),
            )
        )
    if not statuses:
        raise ParseError("the sheet has no filled-in rows")
    return ParsedMessage(statuses=tuple(statuses))


def _check_header(names: list[str]) -> None:
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise ParseError(f"missing column(s): {', '.join(missing)}; expected {header()}")


def _time(value: str, row_number: int) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for time_format in TIME_FORMATS:
        try:
            return datetime.strptime(value, time_format)
        except ValueError:
            continue
    raise ParseError(f"row {row_number}: time {value!r} is not like 2026-11-02 14:30")
