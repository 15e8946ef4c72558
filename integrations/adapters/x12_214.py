"""ANSI X12 214 carrier shipment status (004010/005010): one status per AT7 line and shipment
reference (bill of lading, else purchase order, else the carrier's PRO number).

Every status carries the shipment's identifiers: the carrier's SCAC (B1003), its PRO (L11 CN,
else B1001), the bill of lading (L11 BM), the MS1 location, the lading quantity of AT8 (AT804,
handling units, so kept as packages, never as a part quantity) and an ETA: the date of a
delivery appointment (AT703 AB) or of an estimate (AT701 AG estimated delivery, X2 estimated
arrival at the consignee), the latest the transaction set gives.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from integrations.adapters.base import LineSelector, ParsedMessage, ParsedStatus, ParseError

# ISA is the one fixed-width segment (the tag, then ISA01..ISA16), so separators sit at known places.
ISA_WIDTHS = (3, 2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
ISA_LENGTH = 106  # 89 characters of data, 16 element separators, the segment terminator

# Element 623 Time Code, in hours from UTC. Numeric codes are ISO offsets (01 = +01, 13 = -12,
# 24 = -01). LT (local time) is absent on purpose: it stays naive and the source's zone applies.
UTC_OFFSETS: dict[str, float] = {
    **{f"{n:02d}": n for n in range(1, 13)},
    **{f"{n:02d}": n - 25 for n in range(13, 25)},
    **{"UT": 0, "GM": 0, "ES": -5, "ED": -4, "CS": -6, "CD": -5},
    **{"MS": -7, "MD": -6, "PS": -8, "PD": -7, "AS": -9, "AD": -8},
    **{"HS": -10, "HD": -9, "NS": -3.5, "ND": -2.5},
}
# The "T" codes mean the wall clock of the zone: standard or daylight time, by the date.
WALL_CLOCKS: dict[str, str] = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "AT": "America/Anchorage",
    "HT": "Pacific/Honolulu",
    "NT": "America/St_Johns",
}
LOCAL_TIME = "LT"

# L11 qualifiers that name the line, strongest first; the carrier's PRO (CN, else B10-01) is last.
REFERENCE_KINDS = (("BM", "bill_of_lading"), ("PO", "purchase_order"))
DELIVERY_APPOINTMENT = "AB"  # AT703, element 1652
ESTIMATES = frozenset({"AG", "X2"})  # AT701: estimated delivery, estimated arrival at consignee


@dataclass
class _Loop:
    """One LX loop: its AT7 lines (with the MS1 that follows each), references and remarks."""

    events: list[tuple[int, list[str], list[str]]] = field(default_factory=list)  # (segment no., AT7, MS1)
    references: dict[str, list[str]] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)
    packages: int | None = None  # AT804 lading quantity


TEST_INDICATOR = "T"  # ISA15: T test data, P production data


def peek_message_id(raw: str) -> str | None:
    # Only a complete interchange may claim its control number: a truncated copy that did would
    # make the complete resend look like its duplicate. Anything else falls back to a content hash.
    try:
        return parse(raw).message_id
    except (ParseError, ValueError, IndexError):
        return None


def parse(raw: str) -> ParsedMessage:
    isa, element, terminator, body = _interchange_header(raw)
    # Strip around each segment: senders often put a newline (or CR LF) after the terminator.
    segments = [[value.strip() for value in text.strip().split(element)] for text in body.split(terminator)]
    segments = [segment for segment in segments if segment != [""]]
    statuses: list[ParsedStatus] = []
    group: list[str] | None = None  # the open GS
    transaction: list[list[str]] = []  # the open ST..SE
    transaction_start = sets = groups = 0
    for number, segment in enumerate(segments, start=2):  # the ISA is segment 1
        tag = segment[0]
        if transaction:
            if tag in ("ST", "GE", "IEA"):
                raise ParseError(
                    f"SE: missing for transaction set {_element(transaction[0], 2)!r} "
                    f"(ST at segment {transaction_start}); segment {number} is {tag}"
                )
            transaction.append(segment)
            if tag == "SE":
                statuses += _transaction(transaction, transaction_start)
                transaction = []
        elif tag == "GS":
            if group is not None:
                raise ParseError(f"GE: missing before the GS at segment {number}")
            group, sets = segment, 0
        elif tag == "ST":
            if group is None:
                raise ParseError(f"ST: segment {number} is outside a GS/GE functional group")
            if _element(segment, 1) != "214":
                raise ParseError(
                    f"ST01: transaction set {_element(segment, 2)!r} at segment {number} is a "
                    f"{_element(segment, 1)!r}, not a 214 carrier shipment status"
                )
            transaction, transaction_start, sets = [segment], number, sets + 1
        elif tag == "GE":
            if group is None:
                raise ParseError(f"GE: segment {number} closes no GS functional group")
            _expect_count(segment, 1, sets, "transaction sets in the functional group")
            _expect_control(segment, 2, _element(group, 6), "GS06")
            group, groups = None, groups + 1
        elif tag == "IEA":
            if group is not None:
                raise ParseError(f"GE: missing for functional group {_element(group, 6)!r} before IEA")
            _expect_count(segment, 1, groups, "functional groups in the interchange")
            _expect_control(segment, 2, isa[13], "ISA13")
            if number - 1 < len(segments):
                raise ParseError(f"IEA: segment {number + 1} ({segments[number - 1][0]}) follows the interchange end")
            return ParsedMessage(
                message_id=_message_id(isa),
                sequence=int(isa[13]),
                statuses=tuple(statuses),
                is_test=isa[15] == TEST_INDICATOR,
            )
        else:
            raise ParseError(f"{tag or 'segment'}: segment {number} is outside a transaction set")
    last = f"the interchange ends at segment {len(segments) + 1} ({segments[-1][0] if segments else 'ISA'})"
    if transaction:
        raise ParseError(f"SE: missing for transaction set {_element(transaction[0], 2)!r}; {last}, truncated")
    if group is not None:
        raise ParseError(f"GE: missing for functional group {_element(group, 6)!r}; {last}, truncated")
    raise ParseError(f"IEA: missing; {last}, truncated")


def _interchange_header(raw: str) -> tuple[list[str], str, str, str]:
    """The ISA elements (stripped), the element separator, the segment terminator and the rest."""
    text = raw.lstrip("\ufeff \t\r\n")  # a byte-order mark or blank lines before ISA are harmless
    if not text.startswith("ISA"):
        raise ParseError(f"ISA: the interchange must start with ISA, not {text[:10]!r}")
    if len(text) < ISA_LENGTH:
        raise ParseError(f"ISA: the header is {len(text)} characters, the standard fixes it at {ISA_LENGTH}")
    element, terminator = text[3], text[ISA_LENGTH - 1]
    if element.isalnum() or element.isspace():
        raise ParseError(f"ISA: {element!r} after 'ISA' cannot be an element separator")
    values = text[: ISA_LENGTH - 1].split(element)
    for index, (value, width) in enumerate(zip(values, ISA_WIDTHS, strict=False)):
        if len(value) != width:
            raise ParseError(f"ISA{index:02d}: {value!r} is {len(value)} characters, the standard fixes {width}")
    if len(values) != len(ISA_WIDTHS):
        raise ParseError(f"ISA: {len(values) - 1} elements before the terminator, the standard has 16")
    if terminator.isalnum() or terminator in (element, values[16]):
        raise ParseError(f"ISA: {terminator!r} after ISA16 cannot be a segment terminator")
    isa = [value.strip() for value in values]
    if not (isa[13].isascii() and isa[13].isdigit()):
        raise ParseError(f"ISA13: interchange control number {isa[13]!r} is not 9 digits")
    return isa, element, terminator, text[ISA_LENGTH:]


def _message_id(isa: list[str]) -> str:
    return f"{isa[6]}:{isa[13]}"


def _transaction(segments: list[list[str]], start: int) -> list[ParsedStatus]:
    st, se = segments[0], segments[-1]
    control = _element(st, 2)
    where = f"transaction set {control!r}"
    _expect_count(se, 1, len(segments), f"segments from ST to SE in {where}")
    if _element(se, 2) != control:
        raise ParseError(f"SE02: control number {_element(se, 2)!r} does not match ST02 {control!r}")
    b10 = next((segment for segment in segments if segment[0] == "B10"), None)
    if b10 is None:
        raise ParseError(f"B10: missing in {where}")
    if not _element(b10, 3):
        raise ParseError(f"B1003: SCAC missing in {where}")
    header: dict[str, list[str]] = {}
    if _element(b10, 5) and _element(b10, 6):  # B10 may carry one reference of its own
        header[_element(b10, 5)] = [_element(b10, 6)]
    loops: list[_Loop] = []
    header_packages: int | None = None
    for number, segment in enumerate(segments[1:-1], start=start + 1):
        tag = segment[0]
        if tag == "LX":
            loops.append(_Loop())
        elif tag == "AT7":
            if not loops:  # tolerate an AT7 without LX: it opens its own loop
                loops.append(_Loop())
            loops[-1].events.append((number, segment, []))
        elif tag == "MS1" and loops and loops[-1].events:
            event_number, at7, _ = loops[-1].events[-1]
            loops[-1].events[-1] = (event_number, at7, segment)
        elif tag == "L11" and _element(segment, 1) and _element(segment, 2):
            references = loops[-1].references if loops else header
            references.setdefault(_element(segment, 2), []).append(_element(segment, 1))
        elif tag == "K1" and loops:  # loop remarks, such as who signed the proof of delivery
            loops[-1].remarks.append(" ".join(value for value in segment[1:3] if value))
        elif tag == "AT8" and _element(segment, 4).isdigit():
            if loops:
                loops[-1].packages = loops[-1].packages or int(_element(segment, 4))
            else:
                header_packages = header_packages or int(_element(segment, 4))
    eta = _eta(loops, where)
    statuses = []
    for loop in loops:
        # A loop's own L11 (a stop's bill of lading, say) wins over the shipment's for that qualifier.
        references = {**header, **loop.references}
        pro_number = _first(references, "CN") or _element(b10, 1)
        reference_kind, values = _line_references(references, pro_number, where)
        for number, at7, ms1 in loop.events:
            code = _element(at7, 1)
            if not code:
                if _element(at7, 3):  # an appointment (AT703), not something that happened
                    continue
                raise ParseError(f"AT701: shipment status code missing in {where}, segment {number}")
            occurred_at = _occurred_at(at7, f"{where}, segment {number}")
            for value in values:
                statuses.append(
                    ParsedStatus(
                        line=LineSelector(reference_kind=reference_kind, reference_value=value),
                        code=code,
                        qualifier=_element(at7, 2),
                        reason_code=_element(at7, 2),
                        occurred_at=occurred_at,
                        location=", ".join(part for part in ms1[1:4] if part),  # city, state, country
                        text=" ".join(loop.remarks),
                        tracking_number=pro_number or _element(b10, 2),
                        carrier=_element(b10, 3),
                        bill_of_lading=_first(references, "BM"),
                        pro_number=pro_number,
                        eta=eta,
                        packages=loop.packages or header_packages,
                    )
                )
    return statuses


def _eta(loops: list[_Loop], where: str) -> datetime | None:
    estimates = [
        _occurred_at(at7, f"{where}, segment {number}")
        for loop in loops
        for number, at7, _ms1 in loop.events
        if _element(at7, 3) == DELIVERY_APPOINTMENT or _element(at7, 1) in ESTIMATES
    ]
    # Naive (local time) and zoned estimates do not compare: the last one given wins then.
    try:
        return max(estimates) if estimates else None
    except TypeError:
        return estimates[-1]


def _line_references(references: dict[str, list[str]], pro_number: str, where: str) -> tuple[str, list[str]]:
    for qualifier, kind in REFERENCE_KINDS:
        if references.get(qualifier):
            return kind, list(dict.fromkeys(references[qualifier]))  # one status per distinct reference
    if pro_number:
        return "pro_number", [pro_number]
    raise ParseError(f"L11: {where} names no bill of lading (BM), purchase order (PO) or PRO (CN, B1001)")


def _occurred_at(at7: list[str], where: str) -> datetime:
    day, time, time_code = _element(at7, 5), _element(at7, 6), _element(at7, 7)
    if not (len(day) == 8 and day.isascii() and day.isdigit()):
        raise ParseError(f"AT705: date {day!r} is not CCYYMMDD in {where}")
    if not (len(time) in (4, 6, 7, 8) and time.isascii() and time.isdigit()):
        raise ParseError(f"AT706: time {time!r} is not HHMM or HHMMSS in {where}")
    if time_code and time_code != LOCAL_TIME and time_code not in UTC_OFFSETS and time_code not in WALL_CLOCKS:
        raise ParseError(f"AT707: unknown time code {time_code!r} in {where}")
    if time_code in WALL_CLOCKS:
        zone = ZoneInfo(WALL_CLOCKS[time_code])
    else:
        zone = timezone(timedelta(hours=UTC_OFFSETS[time_code])) if time_code in UTC_OFFSETS else None
    fraction = time[6:]  # HHMMSSD or HHMMSSDD: tenths or hundredths of a second
    try:
        return datetime(
            int(day[:4]),
            int(day[4:6]),
            int(day[6:]),
            int(time[:2]),
            int(time[2:4]),
            int(time[4:6] or 0),
            int(fraction) * 10 ** (6 - len(fraction)) if fraction else 0,
            tzinfo=zone,
        )
    except ValueError as error:
        raise ParseError(f"AT705/AT706: {day} {time} is not a date and time in {where}: {error}") from error


def _expect_count(segment: list[str], index: int, actual: int, what: str) -> None:
    declared = _element(segment, index)
    if _number(declared) != actual:
        raise ParseError(f"{segment[0]}{index:02d}: declares {declared!r} but there are {actual} {what}")


def _expect_control(segment: list[str], index: int, expected: str, name: str) -> None:
    value = _element(segment, index)
    if value != expected and (_number(value) is None or _number(value) != _number(expected)):
        raise ParseError(f"{segment[0]}{index:02d}: control number {value!r} does not match {name} {expected!r}")


def _number(value: str) -> int | None:
    # Control numbers are N0: "905" and "000000905" are the same number.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _element(segment: list[str], index: int) -> str:
    return segment[index] if index < len(segment) else ""


def _first(references: dict[str, list[str]], qualifier: str) -> str:
    return next(iter(references.get(qualifier, ())), "")
