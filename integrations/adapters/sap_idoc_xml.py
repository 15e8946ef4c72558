"""SAP delivery IDocs in XML (basic type DELVRY01-07) from EWM or ERP: picking and goods-issue
confirmations (SHPCON, WHSCON) and shipping notifications (DESADV), one status per delivery item.

A delivery item is named by the reference kind "sap_delivery_item" with "<VBELN>/<POSNR>" kept
exactly as the IDoc writes them, leading zeros included ("0080012345/000010"), because SAP's
own screens, reports and the line references we store all use the zero-padded form.
The status code is each E1EDL18 qualifier (PIC picking, PGI goods issue, QUA quantity, ...), or
the message type when there is none; the qualifier is always the message type. Times are naive:
SAP writes local time without a zone. Handling units (E1EDL37) are ignored.

Shipment identifiers: the bill of lading is E1EDL20/BOLNR, the ship-from is the shipping point
E1EDL20/VSTEL, the carrier the forwarding agent (partner function SP in E1ADRM1, else a TDLNR
where the IDoc carries one), as SAP numbers it; the ETA the planned delivery date (E1EDT13
qualifier 007). The item's LFIMG is the quantity this confirmation covers.
"""

import re
from datetime import datetime
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLSyntaxError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from integrations.adapters.base import LineSelector, ParsedMessage, ParsedStatus, ParseError

REFERENCE_KIND = "sap_delivery_item"
BASIC_TYPE = re.compile(r"DELVRY0[1-9]")
MESSAGE_TYPES = ("SHPCON", "WHSCON", "DESADV")
GOODS_ISSUE, DELIVERY, PICKING = "006", "007", "010"  # E1EDT13 deadline qualifiers
FORWARDING_AGENT = "SP"  # E1ADRM1 partner function of the carrier
# E1EDL18 qualifiers that only tell SAP which weights or volume to adopt: no step of the delivery.
NOT_EVENTS = frozenset({"NWT", "GWT", "VOL"})
# SAP documents a quantity confirmation without flow records on the item (E1EDL19), not the header.
ITEM_EVENTS = ("QUA",)
DATE, TIME = re.compile(r"\d{8}"), re.compile(r"\d{6}")
QUANTITY = re.compile(r"(\d{1,13})(?:\.(\d{1,3}))?")  # LFIMG is QUAN 13,3


def peek_message_id(raw: str) -> str | None:
    # Only a well-formed file may claim its IDoc number: a truncated copy that did would make the
    # complete resend look like its duplicate. Garbage falls back to the inbox's content hash.
    try:
        return _message_id(_idocs(_root(raw)))
    except ParseError:
        return None


def parse(raw: str) -> ParsedMessage:
    idocs = _idocs(_root(raw))
    statuses: list[ParsedStatus] = []
    for index, idoc in enumerate(idocs, start=1):
        statuses.extend(_idoc_statuses(idoc, index))
    return ParsedMessage(message_id=_message_id(idocs), statuses=tuple(statuses))


def _root(raw: str) -> Element:
    try:
        # SAP never sends a DTD, so refusing every DTD also refuses entity bombs and external entities.
        root = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as error:
        raise ParseError(f"refused XML: DTDs and entity declarations are not accepted ({error!r})") from error
    except (XMLSyntaxError, ValueError) as error:
        raise ParseError(f"not well-formed XML: {error}") from error
    # Middleware (SAP PI/CPI) often adds a namespace; the segment names are what matter.
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def _idocs(root: Element) -> list[Element]:
    idocs = list(root.iter("IDOC"))
    if not idocs:
        raise ParseError(f"no IDOC element under <{root.tag}>: not an IDoc in XML")
    return idocs


def _message_id(idocs: list[Element]) -> str | None:
    # A file of several IDocs is one message: it is named by all its IDoc numbers, so that a resent
    # file is a duplicate but a file that shares only its first IDoc is not.
    numbers = [_text(idoc.find("EDI_DC40"), "DOCNUM") for idoc in idocs]
    return "+".join(numbers) if all(numbers) else None


def _idoc_statuses(idoc: Element, index: int) -> list[ParsedStatus]:
    control = idoc.find("EDI_DC40")
    if control is None:
        raise ParseError(f"IDOC #{index}: EDI_DC40 control record missing")
    number = _text(control, "DOCNUM")
    where = f"IDOC {number}" if number else f"IDOC #{index}"
    basic_type = _text(control, "IDOCTYP")
    if not BASIC_TYPE.fullmatch(basic_type):
        raise ParseError(f"{where}: EDI_DC40/IDOCTYP {basic_type!r} is not a delivery IDoc (DELVRY01-07)")
    message_type = _text(control, "MESTYP")
    if message_type not in MESSAGE_TYPES:
        raise ParseError(f"{where}: EDI_DC40/MESTYP {message_type!r} is not one of {', '.join(MESSAGE_TYPES)}")
    created_at = _datetime(control, "CREDAT", "CRETIM", f"{where}: EDI_DC40")
    if created_at is None:
        raise ParseError(f"{where}: EDI_DC40/CREDAT missing")
    deliveries = idoc.findall("E1EDL20")
    if not deliveries:
        raise ParseError(f"{where}: E1EDL20 delivery header missing")
    statuses = []
    for delivery in deliveries:
        statuses.extend(_delivery_statuses(delivery, message_type, created_at, where))
    return statuses


def _delivery_statuses(delivery: Element, message_type: str, created_at: datetime, where: str) -> list[ParsedStatus]:
    delivery_number = _text(delivery, "VBELN")
    if not delivery_number:
        raise ParseError(f"{where}: E1EDL20/VBELN (delivery number) missing")
    where = f"{where} delivery {delivery_number}"
    header_codes = _qualifiers(delivery, "E1EDL18", exclude=NOT_EVENTS)
    deadlines = {_text(segment, "QUALF"): _deadline(segment, where) for segment in delivery.findall("E1EDT13")}
    # Only direct E1EDL24 children: the handling units (E1EDL37/E1EDL44) name the same items again.
    items = delivery.findall("E1EDL24")
    if not items:
        raise ParseError(f"{where}: no E1EDL24 item, so no line to report on")
    carrier = _carrier(delivery)
    eta = deadlines.get(DELIVERY)
    statuses = []
    for item in items:
        item_number = _text(item, "POSNR")
        if not item_number:
            raise ParseError(f"{where}: E1EDL24/POSNR (item number) missing")
        quantity = _quantity(_text(item, "LFIMG"), f"{where} item {item_number}: E1EDL24/LFIMG")
        item_codes = [code for code in _qualifiers(item, "E1EDL19") if code in ITEM_EVENTS]
        codes = list(dict.fromkeys([*header_codes, *item_codes])) or [message_type]
        for code in codes:
            statuses.append(
                ParsedStatus(
                    line=LineSelector(
                        reference_kind=REFERENCE_KIND, reference_value=f"{delivery_number}/{item_number}"
                    ),
                    code=code,
                    qualifier=message_type,
                    occurred_at=_occurred_at(code, deadlines, created_at),
                    quantity=quantity,
                    location=_text(delivery, "VSTEL") or _text(item, "WERKS"),
                    text=_text(item, "MATNR"),
                    bill_of_lading=_text(delivery, "BOLNR"),
                    carrier=carrier,
                    ship_from=_text(delivery, "VSTEL"),
                    eta=eta,
                )
            )
    return statuses


def _carrier(delivery: Element) -> str:
    for partner in delivery.findall("E1ADRM1"):
        if _text(partner, "PARTNER_Q") == FORWARDING_AGENT and _text(partner, "PARTNER_ID"):
            return _text(partner, "PARTNER_ID")
    agent = next((element for element in delivery.iter("TDLNR") if (element.text or "").strip()), None)
    return agent.text.strip() if agent is not None else ""


def _qualifiers(segment: Element, child: str, exclude: frozenset[str] = frozenset()) -> list[str]:
    found = (_text(control, "QUALF") for control in segment.findall(child))
    return list(dict.fromkeys(code for code in found if code and code not in exclude))


def _occurred_at(code: str, deadlines: dict[str, datetime | None], created_at: datetime) -> datetime:
    # A shipping notification is sent at goods issue; every other confirmation is about picking.
    # Without that deadline, the IDoc's creation is the closest time SAP gives (just after the fact).
    wanted = GOODS_ISSUE if code in ("PGI", "DESADV") else PICKING
    return deadlines.get(wanted) or created_at


def _deadline(segment: Element, where: str) -> datetime | None:
    where = f"{where}: E1EDT13[QUALF={_text(segment, 'QUALF')}]"
    # The actual time (ISDD/ISDZ) when there is one; some warehouses confirm in the nominal fields.
    return _datetime(segment, "ISDD", "ISDZ", where) or _datetime(segment, "NTANF", "NTANZ", where)


def _datetime(segment: Element, date_field: str, time_field: str, where: str) -> datetime | None:
    date, time = _text(segment, date_field), _text(segment, time_field) or "000000"
    if date in ("", "00000000"):  # SAP's initial date: not set
        return None
    if not DATE.fullmatch(date) or not TIME.fullmatch(time):
        raise ParseError(f"{where}/{date_field},{time_field}: not YYYYMMDD and HHMMSS: {date!r} {time!r}")
    try:
        return datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(time[:2]), int(time[2:4]), int(time[4:]))
    except ValueError as error:
        raise ParseError(f"{where}/{date_field},{time_field}: no such date or time: {date} {time}") from error


def _quantity(value: str, where: str) -> int | None:
    if not value:
        return None
    match = QUANTITY.fullmatch(value)
    if match is None or (match[2] or "0").strip("0"):
        raise ParseError(f"{where}: not a whole, non-negative quantity: {value!r}")
    return int(match[1])


def _text(segment: Element | None, field: str) -> str:
    return "" if segment is None else (segment.findtext(field) or "").strip()
