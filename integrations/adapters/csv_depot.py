"""The depot sheet: paper-based depots fill in one row per status (order, line, status code,
time, site, clerk, note), then a clerk uploads it as CSV. Each row is stored as its own message.

Each depot keeps the sheet it already has: the common header spellings (English, German,
French, Spanish) are recognised, a per-source layout names the columns of any other sheet, and
CSV as Excel writes it in Europe (semicolons, decimal commas, a BOM, a `sep=` line) is read.
Pure: the layout is passed in; times stay naive (the site's or the source's zone applies later).
Row numbers are the spreadsheet rows a person sees: the header is row 1, blank rows count.
"""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import NamedTuple

from integrations.adapters.base import LineSelector, ParsedMessage, ParsedStatus, ParseError

# Our own column names, in the order of the printed blank sheet.
COLUMNS = ("order", "line", "status", "time", "site", "clerk")
OPTIONAL_COLUMNS = ("note",)
# Everything a layout can name. `date`: a separate date column; `time` then holds the time of day.
FIELDS = ("order", "line", "status", "time", "date", "site", "clerk", "note", "quantity")
REQUIRED = ("order", "line", "status", "time")

DAY_FIRST, MONTH_FIRST, ISO_ONLY = "dmy", "mdy", "ymd"
DATE_FORMATS = {
    DAY_FIRST: ("%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%y", "%d/%m/%y"),
    MONTH_FIRST: ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y"),
    ISO_ONLY: (),
}
ISO_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d")
CLOCK_FORMATS = ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p")

# Header spellings seen on depot sheets, normalised (see _normalise): lower case, no accents,
# no punctuation, without filler words such as "no.", "nr", "n°", "de".
HEADER_ALIASES: dict[str, frozenset[str]] = {
    "order": frozenset(
        {
            "order", "order id", "sales order", "so", "auftrag", "auftragsnr", "auftragsnummer", "bestellung",
            "bestellnr", "bestellnummer", "commande", "cde", "pedido", "orden", "pedido venta",
        }
    ),
    "line": frozenset(
        {"line", "line item", "item", "pos", "position", "posnr", "auftragsposition", "ligne", "linea", "posicion"}
    ),
    "status": frozenset(
        {"status", "state", "status code", "statuscode", "code", "statut", "code statut", "estado", "zustand"}
    ),
    "time": frozenset(
        {
            "time", "date time", "datetime", "timestamp", "zeit", "uhrzeit", "zeitpunkt", "datum zeit",
            "datum uhrzeit", "heure", "date heure", "horodatage", "hora", "fecha hora",
        }
    ),
    "date": frozenset({"date", "datum", "fecha", "day", "tag", "jour", "dia"}),
    "site": frozenset(
        {
            "site", "site code", "depot", "depot code", "location", "standort", "lager", "werk", "niederlassung",
            "entrepot", "sitio", "almacen", "deposito", "sede",
        }
    ),
    "clerk": frozenset(
        {
            "clerk", "name", "by", "user", "employee", "signed by", "operator", "bearbeiter", "mitarbeiter",
            "sachbearbeiter", "kurzzeichen", "operateur", "agent", "employe", "nom", "signature", "empleado",
            "operario", "responsable", "usuario",
        }
    ),
    "note": frozenset(
        {
            "note", "notes", "remark", "remarks", "comment", "comments", "bemerkung", "bemerkungen", "kommentar",
            "notiz", "anmerkung", "hinweis", "remarque", "remarques", "commentaire", "commentaires", "observation",
            "observations", "observacion", "observaciones", "comentario", "comentarios", "nota", "notas",
        }
    ),
    "quantity": frozenset(
        {"qty", "quantity", "menge", "anzahl", "stuck", "stk", "quantite", "qte", "cantidad", "cant", "unidades"}
    ),
}  # fmt: skip
FILLER_WORDS = frozenset({"no", "nr", "n", "num", "number", "numero", "nummer", "de", "du", "of", "the", "et", "y"})
DELIMITERS = (";", ",", "\t", "|")


class SheetRow(NamedTuple):
    number: int  # the spreadsheet row (header = 1)
    text: str  # the header and this row, as CSV with the sheet's own delimiter


class RowError(ParseError):
    """One row cannot be read; `reason` says what kind of problem it is (for the result table)."""

    BAD_TIME = "bad_time"
    MISSING_VALUE = "missing_value"
    BAD_QUANTITY = "bad_quantity"
    EXTRA_VALUES = "extra_values"

    def __init__(self, row: int, reason: str, detail: str):
        self.row = row
        self.reason = reason
        self.detail = detail
        super().__init__(f"row {row}: {detail}")

    def renumbered(self, row: int) -> "RowError":
        return RowError(row, self.reason, self.detail)


@dataclass(frozen=True)
class SheetLayout:
    """How one depot's sheet is laid out. `columns` maps a field (FIELDS) to the header the
    depot writes; fields it leaves out are found by their common spellings."""

    columns: dict[str, str] = field(default_factory=dict)
    date_order: str = DAY_FIRST
    decimal_comma: bool | None = None  # None: a semicolon sheet writes decimal commas (Excel in Europe)


@dataclass(frozen=True)
class Sheet:
    """A sheet read but not yet interpreted: its header, which column holds which field, its rows."""

    delimiter: str
    header: list[str]
    fields: dict[str, int]  # field -> column index
    rows: list[tuple[int, list[str]]]  # (spreadsheet row, values), blank rows left out
    header_row: int = 1

    @property
    def missing(self) -> list[str]:
        return [name for name in REQUIRED if name not in self.fields and not (name == "time" and "date" in self.fields)]

    def field_of_column(self, index: int) -> str:
        return next((name for name, column in self.fields.items() if column == index), "")


def peek_message_id(raw: str) -> str | None:
    return None  # a sheet row has no id of its own: the inbox uses a hash of its content


def header() -> str:
    return ",".join((*COLUMNS, *OPTIONAL_COLUMNS))


def decode(content: bytes) -> str:
    """The text of an uploaded file. Spreadsheet programs save CSV as UTF-8 (often with a BOM)
    or, on older desktops, Windows-1252 ("CSV (semicolon delimited)" in Europe)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise ParseError("the file is not a CSV text file")


def read(raw: str, *, layout: SheetLayout | None = None) -> Sheet:
    """The sheet's header, columns and rows; refuses a sheet that cannot be read as CSV."""
    try:
        return _read(raw, layout or SheetLayout())
    except csv.Error as error:
        raise ParseError(f"not a readable CSV sheet: {error}") from error


def rows(raw: str, *, layout: SheetLayout | None = None) -> list[SheetRow]:
    """One text per filled-in row (the header and that row), to store each row as its own message.
    Refuses a sheet whose header lacks a required column."""
    sheet = read(raw, layout=layout)
    _check_columns(sheet)
    texts = []
    for number, values in sheet.rows:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=sheet.delimiter, lineterminator="\n").writerows([sheet.header, values])
        texts.append(SheetRow(number, buffer.getvalue()))
    return texts


def parse(raw: str, *, layout: SheetLayout | None = None) -> ParsedMessage:
    layout = layout or SheetLayout()
    sheet = read(raw, layout=layout)
    _check_columns(sheet)
    statuses = [row_status(sheet, number, values, layout=layout) for number, values in sheet.rows]
    if not statuses:
        raise ParseError("the sheet has no filled-in rows")
    return ParsedMessage(statuses=tuple(statuses))


def row_status(sheet: Sheet, number: int, values: list[str], *, layout: SheetLayout) -> ParsedStatus:
    """The status fact of one row, or a RowError naming the row and what is wrong with it."""
    extra = [value for value in values[len(sheet.header) :] if value.strip()]
    if extra:
        raise RowError(number, RowError.EXTRA_VALUES, "more values than columns")

    def cell(name: str) -> str:
        index = sheet.fields.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""

    for name in ("order", "line", "status"):
        if not cell(name):
            raise RowError(number, RowError.MISSING_VALUE, f"column '{sheet.header[sheet.fields[name]]}' is empty")
    # A cell typed with Alt+Enter holds line breaks: one line in the event's text.
    clerk, note = " ".join(cell("clerk").split()), " ".join(cell("note").split())
    return ParsedStatus(
        line=LineSelector(order_number=cell("order"), line_number=_line_number(cell("line"))),
        code=cell("status").upper(),
        occurred_at=_occurred_at(sheet, cell, number, layout),
        quantity=_quantity(cell("quantity"), number, _decimal_comma(sheet, layout)),
        location=cell("site"),
        text=" ".join(filter(None, [note, f"clerk: {clerk}" if clerk else ""])),
    )


def _read(raw: str, layout: SheetLayout) -> Sheet:
    text = raw.lstrip("\ufeff")
    delimiter, header_row = "", 1
    first, _newline, rest = text.partition("\n")
    # Excel writes (and hides) a "sep=;" line: the header is still the first row a person sees.
    if re.fullmatch(r"\s*sep=.\s*", first, flags=re.IGNORECASE):
        delimiter, text, header_row = first.strip()[4], rest, 1
    reader = csv.reader(io.StringIO(text), delimiter=delimiter or _delimiter(text))
    try:
        head = next(reader)
    except StopIteration as error:
        raise ParseError("the file is empty") from error
    while head and not head[-1].strip():
        head.pop()  # Excel's trailing empty columns
    if not head:
        raise ParseError("the first row holds no column names")
    records = [
        (number, values)
        for number, values in enumerate(reader, start=header_row + 1)
        if any(value.strip() for value in values)
    ]
    return Sheet(
        delimiter=reader.dialect.delimiter,
        header=head,
        fields=_fields(head, layout),
        rows=records,
        header_row=header_row,
    )


def _delimiter(text: str) -> str:
    """The delimiter of the header row: the candidate found most often outside quotes."""
    first = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])
    counts = {candidate: first.count(candidate) for candidate in DELIMITERS}
    best = max(DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def _normalise(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    kept = [word for word in words if word not in FILLER_WORDS]
    return " ".join(kept or words)


def _fields(head: list[str], layout: SheetLayout) -> dict[str, int]:
    """Which column holds which field: the layout's names first, then the common spellings."""
    normalised = [_normalise(name) for name in head]
    fields: dict[str, int] = {}
    for name, column_header in layout.columns.items():
        if name in FIELDS and column_header and _normalise(column_header) in normalised:
            fields[name] = normalised.index(_normalise(column_header))
    for name in FIELDS:
        if name in fields:
            continue
        for index, spelled in enumerate(normalised):
            if spelled in HEADER_ALIASES[name] and index not in fields.values():
                fields[name] = index
                break
    return fields


def _check_columns(sheet: Sheet) -> None:
    if sheet.missing:
        found = ", ".join(sheet.header)
        raise ParseError(
            f"missing column(s): {', '.join(sheet.missing)}; the sheet has {found}. "
            f"Expected headings such as {header()}, or a column layout for this depot"
        )


def _line_number(value: str) -> str:
    # A spreadsheet that took the line for a number writes 10 as "10,0" or "10.0".
    return re.sub(r"^(\d+)[.,]0+$", r"\1", value)


def _decimal_comma(sheet: Sheet, layout: SheetLayout) -> bool:
    return layout.decimal_comma if layout.decimal_comma is not None else sheet.delimiter == ";"


def _quantity(value: str, number: int, decimal_comma: bool) -> int | None:
    if not value:
        return None
    thousands, decimal = (".", ",") if decimal_comma else (",", ".")
    plain = value.replace(" ", "").replace("\u00a0", "").replace(thousands, "").replace(decimal, ".")
    try:
        amount = float(plain)
    except ValueError:
        amount = -1.0
    if amount <= 0 or amount != int(amount) or amount > 10**9:
        raise RowError(number, RowError.BAD_QUANTITY, f"quantity {value!r} is not a whole number of parts")
    return int(amount)


def _occurred_at(sheet: Sheet, cell, number: int, layout: SheetLayout) -> datetime:
    if "date" in sheet.fields:
        day, clock = cell("date"), cell("time")
        if not day:
            raise RowError(number, RowError.BAD_TIME, f"column '{sheet.header[sheet.fields['date']]}' is empty")
        moment = _datetime(f"{day} {clock}".strip(), layout.date_order)
    else:
        value = cell("time")
        if not value:
            raise RowError(number, RowError.BAD_TIME, f"column '{sheet.header[sheet.fields['time']]}' is empty")
        moment = _datetime(value, layout.date_order)
    if moment is None:
        shown = f"{cell('date')} {cell('time')}".strip() if "date" in sheet.fields else cell("time")
        raise RowError(number, RowError.BAD_TIME, f"time {shown!r} is not like {_example(layout.date_order)}")
    return moment


def _example(date_order: str) -> str:
    return {DAY_FIRST: "02.11.2026 14:30", MONTH_FIRST: "11/02/2026 2:30 PM"}.get(date_order, "2026-11-02 14:30")


def _datetime(value: str, date_order: str) -> datetime | None:
    """A date with a time of day; ISO 8601 always, otherwise in the depot's date order."""
    value = " ".join(value.split())
    if re.search(r"\d{4}-\d{2}-\d{2}[T ]\d", value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    day_text, _space, clock_text = value.partition(" ")
    day = _date(day_text, date_order)
    clock = _clock(clock_text) if clock_text else None
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock)


def _date(value: str, date_order: str) -> date | None:
    for date_format in (*ISO_DATE_FORMATS, *DATE_FORMATS.get(date_order, ())):
        try:
            return datetime.strptime(value, date_format).date()
        except ValueError:
            continue
    return None


def _clock(value: str) -> time | None:
    # "14h30" (French), "14.30 Uhr" (German), "14:30 h": all 14:30.
    value = re.sub(r"\s*(uhr|h)$", "", value.strip(), flags=re.IGNORECASE)
    value = re.sub(r"^(\d{1,2})[h.](\d{2})", r"\1:\2", value, flags=re.IGNORECASE)
    for clock_format in CLOCK_FORMATS:
        try:
            return datetime.strptime(value.upper(), clock_format).time()
        except ValueError:
            continue
    return None
