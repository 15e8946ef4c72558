"""What every format adapter returns: normalized facts, no database access.

An adapter is a module with `parse(raw: str) -> ParsedMessage` and
`peek_message_id(raw: str) -> str | None` (best effort, never raises).
"""

import json
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, datetime

from orders.services.upsert import LineData, OrderData


class AdapterError(Exception):
    """The raw message cannot be turned into facts. Permanent: retrying will not help."""

    permanent = True


class ParseError(AdapterError):
    """Malformed or truncated input; the message says where."""


@dataclass(frozen=True)
class LineSelector:
    """How a message names its line: by order and line number, or by an external reference."""

    order_number: str = ""
    line_number: str = ""
    reference_kind: str = ""  # an orders.LineReference.Kind value
    reference_value: str = ""
    # Who issued the reference, when the message says: the account number for a purchase order,
    # a source code or a carrier's SCAC otherwise. Blank: the message's source decides the scope.
    reference_issuer: str = ""

    def __str__(self) -> str:
        if self.reference_kind:
            issuer = f"@{self.reference_issuer}" if self.reference_issuer else ""
            return f"{self.reference_kind}={self.reference_value}{issuer}"
        return f"{self.order_number}/{self.line_number}" if self.line_number else self.order_number


@dataclass(frozen=True)
class ParsedStatus:
    """One status fact in the source's own words; mapping turns `code` into a canonical status."""

    line: LineSelector
    code: str
    occurred_at: datetime  # naive when the source gives no zone: the source's time zone applies
    qualifier: str = ""
    quantity: int | None = None  # a confirmed quantity smaller than the line's is a partial
    location: str = ""
    reason_code: str = ""
    text: str = ""
    tracking_number: str = ""
    carrier: str = ""  # SCAC
    # Shipment identifiers a goods issue, a partial confirmation or a carrier names.
    bill_of_lading: str = ""
    pro_number: str = ""
    ship_from: str = ""  # the shipping point or site code the goods left from
    eta: datetime | None = None  # the carrier's or the source's estimated arrival
    packages: int | None = None  # handling units (X12 lading quantity), never part quantities

    @property
    def names_a_shipment(self) -> bool:
        return bool(self.tracking_number or self.bill_of_lading or self.pro_number or self.carrier)


# Order upserts are handed to orders.services.order_upsert as they are.
ParsedLine = LineData
ParsedOrder = OrderData


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None = None
    sequence: int | None = None
    orders: tuple[ParsedOrder, ...] = ()
    statuses: tuple[ParsedStatus, ...] = field(default_factory=tuple)
    # The sender marked it as a test (X12 ISA15 = T): it may reach test orders only.
    is_test: bool = False


# Bounds every adapter's output is held to, so that hostile input is a parse error (a dead letter
# with its reason), never a value the database refuses half-way through a batch.
MAX_JSON_DEPTH = 32
MAX_STATUSES = 1000
MAX_SEQUENCE = 2**63 - 1  # a PostgreSQL bigint
MAX_QUANTITY = 2**31 - 1  # a PostgreSQL integer
YEARS = range(1970, 2200)  # source clocks outside these are wrong, not early or late
REPLACEMENT = "\ufffd"
_BRACKETS_OUTSIDE_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|([\[\]{}])', re.DOTALL)
_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")


def json_loads_bounded(raw: str) -> object:
    """json.loads, refusing documents nested deeper than MAX_JSON_DEPTH (which would otherwise
    exhaust the interpreter's recursion limit) with a ParseError."""
    depth = deepest = 0
    for match in _BRACKETS_OUTSIDE_STRINGS.finditer(raw):
        bracket = match.group(1)
        if bracket in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                raise ParseError(f"not accepted: JSON nested deeper than {MAX_JSON_DEPTH} levels")
        elif bracket:
            depth -= 1
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ParseError(f"not JSON: {error}") from error


def storable_text(value: str) -> str:
    """The text with what PostgreSQL cannot store (NUL, lone UTF-16 surrogates) replaced by U+FFFD."""
    return _NOT_STORABLE.sub(REPLACEMENT, value) if _NOT_STORABLE.search(value) else value


def parsed_checked(parsed: ParsedMessage) -> ParsedMessage:
    """The adapter's result with every text made storable, and numbers and times checked against
    what the database and the core can hold: out of range is bad data (a ParseError)."""
    if parsed.sequence is not None and not 0 <= parsed.sequence <= MAX_SEQUENCE:
        raise ParseError(f"sequence: {_short(parsed.sequence)} is outside 0..{MAX_SEQUENCE}")
    if len(parsed.statuses) > MAX_STATUSES:
        raise ParseError(f"statuses: {len(parsed.statuses)} in one message, at most {MAX_STATUSES} are accepted")
    for index, status in enumerate(parsed.statuses):
        where = f"status {index + 1}"
        for name in ("quantity", "packages"):
            value = getattr(status, name)
            if value is not None and not 0 <= value <= MAX_QUANTITY:
                raise ParseError(f"{where}: {name} {_short(value)} is outside 0..{MAX_QUANTITY}")
        for name in ("occurred_at", "eta"):
            _check_moment(getattr(status, name), f"{where}: {name}")
    for order in parsed.orders:
        for name in ("created_at", "requested_date", "promised_date"):
            _check_moment(getattr(order, name), f"order {storable_text(order.number)}: {name}")
        where = f"order {storable_text(order.number)}"
        for line in order.lines:
            if not 0 < line.quantity <= MAX_QUANTITY:
                raise ParseError(f"{where} line: quantity {_short(line.quantity)} is outside 1..{MAX_QUANTITY}")
            _check_moment(line.eta, f"{where} line: eta")
    return _storable(parsed)


def _check_moment(moment: datetime | date | None, where: str) -> None:
    if moment is None:
        return
    if moment.year not in YEARS:
        raise ParseError(f"{where}: year {moment.year} is outside {YEARS.start}-{YEARS.stop - 1}")


def _storable(value):
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, tuple):
        return tuple(_storable(item) for item in value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _storable(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)
    return value


def _short(number: int) -> str:
    text = str(number)
    return text if len(text) <= 30 else f"{text[:12]}…({len(text)} digits)"
