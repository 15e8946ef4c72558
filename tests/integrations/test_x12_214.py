"""The X12 214 carrier shipment status adapter, on recorded interchanges and broken or hostile ones."""

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from functools import cache, partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.adapters import x12_214
from integrations.adapters.base import LineSelector, ParsedStatus, ParseError

FIXTURES = Path(__file__).parent / "fixtures" / "x12"
GOOD_FIXTURES = ("single_shipment.edi", "multi_shipment.edi", "delay_weather_pipe.edi", "damaged_crlf.edi")
EASTERN = timezone(timedelta(hours=-5))
CENTRAL = timezone(timedelta(hours=-6))
PACIFIC = timezone(timedelta(hours=-8))


@cache
def _fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode()  # read_text would turn the recorded CR LF into LF


def _variant(old: str, new: str, name: str = "single_shipment.edi") -> str:
    """A recorded interchange with one piece changed, to show one fault at a time."""
    raw = _fixture(name)
    assert old in raw, f"{old!r} is not in {name}"
    return raw.replace(old, new, 1)


def _bill_of_lading(value: str) -> LineSelector:
    return LineSelector(reference_kind="bill_of_lading", reference_value=value)


def _purchase_order(value: str) -> LineSelector:
    return LineSelector(reference_kind="purchase_order", reference_value=value)


def test_a_single_shipment_reports_pick_up_departure_and_en_route_in_order():
    # given Old Dominion's statuses for one shipment, times in Central time
    raw = _fixture("single_shipment.edi")

    # when it is parsed
    message = x12_214.parse(raw)

    # then each AT7 is one status on the bill of lading, with the PRO (B10-01) as tracking number
    assert message.message_id == "ODFL:000000905"
    assert message.sequence == 905
    assert message.orders == ()
    odfl = partial(
        ParsedStatus,
        line=_bill_of_lading("BOL4471190"),
        qualifier="NS",
        reason_code="NS",
        tracking_number="72931004",
        carrier="ODFL",
        bill_of_lading="BOL4471190",
        pro_number="72931004",
    )
    assert message.statuses == (
        odfl(code="X3", occurred_at=datetime(2026, 11, 2, 8, 15, tzinfo=CENTRAL), location="MEMPHIS, TN, US"),
        odfl(code="AF", occurred_at=datetime(2026, 11, 2, 9, 40, tzinfo=CENTRAL), location="MEMPHIS, TN, US"),
        odfl(code="X6", occurred_at=datetime(2026, 11, 2, 14, 12, tzinfo=CENTRAL), location="JACKSON, TN, US"),
    )


def test_peek_message_id_is_the_sender_and_the_interchange_control_number():
    assert x12_214.peek_message_id(_fixture("single_shipment.edi")) == "ODFL:000000905"
    # a truncated interchange claims no id (the inbox names it by its content hash), so that its
    # complete resend with the same control number is not taken for its duplicate
    assert x12_214.peek_message_id(_fixture("truncated_no_iea.edi")) is None
    assert x12_214.peek_message_id(_fixture("garbage.edi")) is None
    assert x12_214.peek_message_id("") is None


def test_a_multi_shipment_interchange_reports_every_shipment_and_skips_appointments():
    # given Estes reporting two shipments in one 005010 interchange, one segment per line:
    # the first delivered with a signature, the second with two purchase orders, a delivery
    # appointment, and a last stop that names its own bill of lading
    raw = _fixture("multi_shipment.edi")

    # when it is parsed
    message = x12_214.parse(raw)

    # then the first goes by bill of lading, the second once per purchase order, the last stop by
    # its own bill of lading; the appointment (AT703) is not a status; the PRO comes from L11 CN
    assert message.message_id == "EXLA:000031877"
    assert message.sequence == 31877
    first = partial(
        ParsedStatus,
        qualifier="NS",
        reason_code="NS",
        tracking_number="0418822751",
        carrier="EXLA",
        bill_of_lading="BOL5580021",
        pro_number="0418822751",
    )
    # the delivery appointment (AT703 AB) is the second shipment's ETA
    second = partial(
        ParsedStatus,
        qualifier="NS",
        reason_code="NS",
        tracking_number="0418822769",
        carrier="EXLA",
        pro_number="0418822769",
        eta=datetime(2026, 11, 4, 10, 0, tzinfo=EASTERN),
    )
    en_route_at = datetime(2026, 11, 3, 22, 10, tzinfo=EASTERN)
    assert message.statuses == (
        first(
            line=_bill_of_lading("BOL5580021"),
            code="X1",
            occurred_at=datetime(2026, 11, 3, 7, 5, tzinfo=EASTERN),
            location="CHARLOTTE, NC, US",
        ),
        first(
            line=_bill_of_lading("BOL5580021"),
            code="D1",
            occurred_at=datetime(2026, 11, 3, 9, 15, 22, tzinfo=EASTERN),
            location="CHARLOTTE, NC, US",
            text="POD SIGNED BY R MARTINEZ",
        ),
        second(line=_purchase_order("4500012401"), code="X6", occurred_at=en_route_at, location="GREENSBORO, NC, US"),
        second(line=_purchase_order("4500012402"), code="X6", occurred_at=en_route_at, location="GREENSBORO, NC, US"),
        second(
            line=_bill_of_lading("BOL5580090"),
            bill_of_lading="BOL5580090",
            code="X1",
            occurred_at=datetime(2026, 11, 4, 6, 50, tzinfo=EASTERN),
            location="RICHMOND, VA, US",
        ),
    )


def test_a_weather_delay_in_a_pipe_separated_file_keeps_its_reason_and_falls_back_to_the_pro_number():
    # given Saia's delay notice with "|" between elements, a newline after each segment, no L11 at all
    raw = _fixture("delay_weather_pipe.edi")

    # when it is parsed
    message = x12_214.parse(raw)

    # then the status names the shipment by the carrier's PRO and keeps the reason and the remarks
    assert message.message_id == "SAIA:000004417"
    assert message.statuses == (
        ParsedStatus(
            line=LineSelector(reference_kind="pro_number", reference_value="1048837729"),
            code="SD",
            qualifier="AO",
            reason_code="AO",
            occurred_at=datetime(2026, 11, 4, 5, 45, tzinfo=PACIFIC),
            location="YREKA, CA, US",
            text="I-5 CLOSED SISKIYOU SUMMIT CHAIN CONTROL",
            tracking_number="1048837729",
            carrier="SAIA",
            pro_number="1048837729",
        ),
    )


def test_a_damaged_shipment_in_local_time_gives_a_naive_time():
    # given R+L reporting damage in local time, with CR LF after each "~"
    raw = _fixture("damaged_crlf.edi")
    assert "~\r\n" in raw

    # when it is parsed
    message = x12_214.parse(raw)

    # then the time stays naive: the source's time zone is applied later
    assert message.statuses == (
        ParsedStatus(
            line=_bill_of_lading("BOL6610042"),
            code="A9",
            qualifier="AK",
            reason_code="AK",
            occurred_at=datetime(2026, 11, 5, 11, 20),
            location="WILMINGTON, OH, US",
            text="1 CTN CRUSHED REWRAPPED IN HUB",
            tracking_number="I384427",
            carrier="RLCA",
            bill_of_lading="BOL6610042",
            pro_number="I384427",
        ),
    )


def test_without_a_bill_of_lading_the_purchase_order_names_the_line():
    raw = _variant("L11*BOL4471190*BM~", "").replace("SE*23*", "SE*22*")

    statuses = x12_214.parse(raw).statuses

    assert {status.line for status in statuses} == {_purchase_order("4500012345")}


@pytest.mark.parametrize(
    ("time_code", "zone"),
    [
        ("UT", UTC),
        ("GM", UTC),
        ("ET", EASTERN),
        ("ED", timezone(timedelta(hours=-4))),
        ("PT", PACIFIC),
        ("NT", timezone(timedelta(hours=-3.5))),
        ("02", timezone(timedelta(hours=2))),
        ("20", EASTERN),
        ("LT", None),
    ],
)
def test_time_codes_give_the_offset_of_that_day_except_local_time(time_code, zone):
    raw = _variant("*0815*CT~", f"*0815*{time_code}~")

    occurred_at = x12_214.parse(raw).statuses[0].occurred_at

    assert occurred_at == datetime(2026, 11, 2, 8, 15, tzinfo=zone)
    assert (occurred_at.utcoffset(), occurred_at.tzinfo is None) == (
        datetime(2026, 11, 2, 8, 15, tzinfo=zone).utcoffset(),
        zone is None,
    )


def test_wall_clock_time_codes_follow_daylight_saving_time():
    # ET on a July date is Eastern Daylight Time (UTC-4), not the standard offset.
    raw = _variant("*0815*CT~", "*0815*ET~").replace("20261102", "20260702")

    occurred_at = x12_214.parse(raw).statuses[0].occurred_at

    assert occurred_at.utcoffset() == timedelta(hours=-4)


def test_without_a_time_code_the_time_is_naive_and_seconds_and_hundredths_are_kept():
    raw = _variant("*0815*CT~", "*08153045~")

    assert x12_214.parse(raw).statuses[0].occurred_at == datetime(2026, 11, 2, 8, 15, 30, 450000)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("truncated_no_iea.edi", r"^IEA: missing; the interchange ends at segment 26 \(GE\), truncated$"),
        ("wrong_se_count.edi", r"^SE01: declares '12' but there are 23 segments from ST to SE"),
        ("not_214_asn_856.edi", r"^ST01: transaction set '0001' at segment 3 is a '856', not a 214"),
        ("garbage.edi", r"^ISA: the interchange must start with ISA, not '<html>"),
    ],
)
def test_a_broken_recorded_file_is_refused_saying_where(name, error):
    with pytest.raises(ParseError, match=error):
        x12_214.parse(_fixture(name))


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("AT7*X3*NS***", "AT7*****", r"^AT701: shipment status code missing in transaction set '0001', segment 14"),
        ("*20261102*0815*", "*261102*0815*", r"^AT705: date '261102' is not CCYYMMDD"),
        ("*20261102*0815*", "*20261302*0815*", r"^AT705/AT706: 20261302 0815 is not a date and time"),
        ("*0815*CT~", "*08:15*CT~", r"^AT706: time '08:15' is not HHMM or HHMMSS"),
        ("*0815*CT~", "*2515*CT~", r"^AT705/AT706: 20261102 2515 is not a date and time"),
        ("*0815*CT~", "*0815*XX~", r"^AT707: unknown time code 'XX'"),
        ("SE*23*0001~", "SE*23*0002~", r"^SE02: control number '0002' does not match ST02 '0001'"),
        ("SE*23*0001~", "", r"^SE: missing for transaction set '0001' \(ST at segment 3\); segment 25 is GE"),
        ("GE*1*905~", "GE*2*905~", r"^GE01: declares '2' but there are 1 transaction sets"),
        ("GE*1*905~", "GE*1*904~", r"^GE02: control number '904' does not match GS06 '905'"),
        ("GE*1*905~", "", r"^GE: missing for functional group '905' before IEA"),
        ("IEA*1*000000905~", "IEA*1*000000906~", r"^IEA02: control number '000000906' does not match ISA13"),
        ("B10*72931004*SO1000123*ODFL~", "B10*72931004*SO1000123~", r"^B1003: SCAC missing in transaction set"),
        ("*02*ODFL           *", "*02*ODFL*", r"^ISA06: 'ODFL' is 4 characters, the standard fixes 15"),
        ("*000000905*0*P*", "*00000090X*0*P*", r"^ISA13: interchange control number '00000090X' is not 9 digits"),
        ("GS*SM*", "XX*SM*", r"^XX: segment 2 is outside a transaction set"),
    ],
)
def test_a_fault_is_refused_naming_the_segment_and_element(old, new, error):
    with pytest.raises(ParseError, match=error):
        x12_214.parse(_variant(old, new))


def test_a_shipment_with_nothing_to_match_it_by_is_refused():
    raw = (
        _variant("B10*72931004*", "B10**")
        .replace("L11*BOL4471190*BM~", "")
        .replace("L11*4500012345*PO~", "")
        .replace("SE*23*", "SE*21*")
    )

    with pytest.raises(ParseError, match=r"^L11: transaction set '0001' names no bill of lading \(BM\)"):
        x12_214.parse(raw)


def test_a_short_header_or_a_second_interchange_is_refused():
    raw = _fixture("single_shipment.edi")

    with pytest.raises(ParseError, match=r"^ISA: the header is 60 characters, the standard fixes it at 106"):
        x12_214.parse(raw[:60])
    with pytest.raises(ParseError, match=r"^IEA: segment 28 \(ISA\) follows the interchange end"):
        x12_214.parse(raw + raw)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_arbitrary_text_only_ever_raises_parse_error(raw):
    message_id = x12_214.peek_message_id(raw)
    assert message_id is None or isinstance(message_id, str)
    with contextlib.suppress(ParseError):
        x12_214.parse(raw)


@settings(max_examples=500, deadline=None, database=None)
@given(st.sampled_from(GOOD_FIXTURES), st.integers(min_value=0), st.integers(0, 40), st.text(max_size=20))
def test_a_mangled_interchange_only_ever_raises_parse_error(name, start, length, insert):
    raw = _fixture(name)
    start %= len(raw) + 1
    mangled = raw[:start] + insert + raw[start + length :]
    x12_214.peek_message_id(mangled)
    with contextlib.suppress(ParseError):
        x12_214.parse(mangled)
