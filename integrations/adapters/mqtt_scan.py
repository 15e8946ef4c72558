"""Depot scanner JSON published over MQTT: one scan of an order-line label at a site.

{"scan_id": "RTM-7-000123", "seq": 123, "barcode": "SO-1000123/10", "event": "PICKED",
 "time": "2026-11-02T14:30:05+01:00", "site": "depot-rtm"}
A barcode is "<order>/<line>" or "REF:<reference kind>:<value>" (a bill of lading, say).
"""

from datetime import datetime

from integrations.adapters.base import LineSelector, ParsedMessage, ParsedStatus, ParseError, json_loads_bounded

REQUIRED = ("scan_id", "barcode", "event", "time")


def peek_message_id(raw: str) -> str | None:
    try:
        scan_id = json_loads_bounded(raw).get("scan_id")
    except (ParseError, AttributeError):
        return None
    return str(scan_id) if scan_id else None


def parse(raw: str) -> ParsedMessage:
    scan = json_loads_bounded(raw)
    if not isinstance(scan, dict):
        raise ParseError("a scan is a JSON object")
    missing = [key for key in REQUIRED if not scan.get(key)]
    if missing:
        raise ParseError(f"missing field(s): {', '.join(missing)}")
    try:
        occurred_at = datetime.fromisoformat(str(scan["time"]).replace("Z", "+00:00"))
    except ValueError as error:
        raise ParseError(f"time: not an ISO 8601 date-time: {scan['time']!r}") from error
    sequence = scan.get("seq")
    if sequence is not None and (not isinstance(sequence, int) or isinstance(sequence, bool)):
        raise ParseError("seq: must be an integer")
    return ParsedMessage(
        message_id=str(scan["scan_id"]),
        sequence=sequence,
        statuses=(
            ParsedStatus(
                line=_selector(str(scan["barcode"])),
                code=str(scan["event"]).upper(),
                occurred_at=occurred_at,
                location=str(scan.get("site", "")),
            ),
        ),
    )


def _selector(barcode: str) -> LineSelector:
    if barcode.upper().startswith("REF:"):
        parts = barcode.split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise ParseError(f"barcode: {barcode!r} is not REF:<kind>:<value>")
        return LineSelector(reference_kind=parts[1].lower(), reference_value=parts[2])
    order_number, separator, line_number = barcode.rpartition("/")
    if not separator or not order_number or not line_number:
        raise ParseError(f"barcode: {barcode!r} is not <order>/<line>")
    return LineSelector(order_number=order_number, line_number=line_number)
