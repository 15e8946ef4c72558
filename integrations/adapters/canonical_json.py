"""The project's own JSON format (docs/schemas/canonical-message.schema.json): order upserts
and status updates, by order and line number or by an external reference."""

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator

from integrations.adapters.base import (
    LineSelector,
    ParsedLine,
    ParsedMessage,
    ParsedOrder,
    ParsedStatus,
    ParseError,
    json_loads_bounded,
)
from orders.services.contacts import ContactData, contact_checked

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "canonical-message.schema.json"


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def peek_message_id(raw: str) -> str | None:
    try:
        message_id = json_loads_bounded(raw).get("message_id")
    except (ParseError, AttributeError):
        return None
    return message_id if isinstance(message_id, str) and message_id else None


def parse(raw: str) -> ParsedMessage:
    document = json_loads_bounded(raw)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(part) for part in first.absolute_path) or "(top level)"
        raise ParseError(f"{where}: {first.message}")
    return ParsedMessage(
        message_id=document.get("message_id"),
        sequence=document.get("sequence"),
        orders=tuple(_order(order, f"orders/{i}") for i, order in enumerate(document.get("orders", []))),
        statuses=tuple(_status(status, f"statuses/{i}") for i, status in enumerate(document.get("statuses", []))),
    )


def _order(order: dict, where: str) -> ParsedOrder:
    account = order["account"]
    return ParsedOrder(
        number=order["number"],
        account_number=account["number"],
        account_name=account.get("name", ""),
        region_code=account.get("region", ""),
        priority=order.get("priority", ""),
        ship_policy=order.get("ship_policy", ""),
        customer_reference=order.get("customer_reference", ""),
        requested_date=_date(order.get("requested_date"), f"{where}/requested_date"),
        promised_date=_date(order.get("promised_date"), f"{where}/promised_date"),
        asset_serial_number=order.get("asset_serial_number", ""),
        is_test=order.get("is_test", False),
        created_at=_datetime(order["created_at"], f"{where}/created_at") if "created_at" in order else None,
        lines=tuple(_line(line, f"{where}/lines/{i}") for i, line in enumerate(order["lines"])),
        contacts=tuple(
            _contact(contact, f"{where}/contacts/{i}") for i, contact in enumerate(order.get("contacts", []))
        ),
    )


def _contact(contact: dict, where: str) -> ContactData:
    """A contact in stored form; a bad email, phone, language or time zone is a parse error
    naming its place (orders/0/contacts/0/phone: ...)."""
    data = ContactData(
        role=contact.get("role", "requester"),
        name=contact["name"],
        email=contact.get("email", ""),
        phone=contact.get("phone", ""),
        language=contact.get("language", ""),
        time_zone=contact.get("time_zone", ""),
    )
    try:
        return contact_checked(data, where=where)
    except ValidationError as error:
        raise ParseError(
            "; ".join(
                f"{field.replace('.', '/')}: {' '.join(messages)}" for field, messages in error.message_dict.items()
            )
        ) from error


def _line(line: dict, where: str) -> ParsedLine:
    part = line["part"]
    return ParsedLine(
        number=line["number"],
        part_number=part["number"],
        part_description=part.get("description", ""),
        criticality=part.get("criticality", ""),
        quantity=line["quantity"],
        site_code=line.get("site", ""),
        eta=_datetime(line["eta"], f"{where}/eta") if "eta" in line else None,
        references=tuple(
            (ref["kind"], ref["value"], ref["issuer"]) if "issuer" in ref else (ref["kind"], ref["value"])
            for ref in line.get("references", [])
        ),
    )


def _status(status: dict, where: str) -> ParsedStatus:
    if "reference" in status:
        reference = status["reference"]
        selector = LineSelector(
            reference_kind=reference["kind"],
            reference_value=reference["value"],
            reference_issuer=reference.get("issuer", ""),
        )
    else:
        selector = LineSelector(order_number=status["order"], line_number=status["line"])
    return ParsedStatus(
        line=selector,
        code=status["status"],
        qualifier=status.get("qualifier", ""),
        occurred_at=_datetime(status["occurred_at"], f"{where}/occurred_at"),
        quantity=status.get("quantity"),
        location=status.get("location", ""),
        reason_code=status.get("reason_code", ""),
        text=status.get("text", ""),
        tracking_number=status.get("tracking_number", ""),
        carrier=status.get("carrier", ""),
        bill_of_lading=status.get("bill_of_lading", ""),
        pro_number=status.get("pro_number", ""),
        ship_from=status.get("ship_from", ""),
        eta=_datetime(status["eta"], f"{where}/eta") if "eta" in status else None,
    )


def _datetime(value: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ParseError(f"{where}: not an ISO 8601 date-time: {value!r}") from error


def _date(value: str | None, where: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ParseError(f"{where}: not an ISO 8601 date: {value!r}") from error
