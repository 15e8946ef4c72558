"""What every format adapter returns: normalized facts, no database access.

An adapter is a module with `parse(raw: str) -> ParsedMessage` and
`peek_message_id(raw: str) -> str | None` (best effort, never raises).
"""

from dataclasses import dataclass, field
from datetime import datetime

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
