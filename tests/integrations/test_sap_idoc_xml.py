"""The SAP DELVRY IDoc adapter, on recorded IDocs and on broken or hostile ones."""

import contextlib
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.adapters import sap_idoc_xml
from integrations.adapters.base import LineSelector, ParsedStatus, ParseError

FIXTURES = Path(__file__).parent / "fixtures" / "sap"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def _variant(name: str, old: str, new: str) -> str:
    """A recorded IDoc with one piece changed, to show one fault at a time."""
    raw = _fixture(name)
    assert old in raw, f"{old!r} is not in {name}"
    return raw.replace(old, new, 1)


def _item(delivery_item: str) -> LineSelector:
    return LineSelector(reference_kind="sap_delivery_item", reference_value=delivery_item)


def test_a_whscon_picking_confirmation_reports_each_item_picked_at_the_picking_time():
    # given EWM confirming picking of a two-item delivery (with a weight flag and a handling unit)
    raw = _fixture("whscon_pic_two_items.xml")

    # when it is parsed
    message = sap_idoc_xml.parse(raw)

    # then each item is picked at the actual picking time, zeros kept; GWT and the HU add nothing
    picked_at = datetime(2026, 11, 2, 9, 35, 12)
    assert message.message_id == "0000000004711001"
    assert message.sequence is None
    assert message.orders == ()
    assert message.statuses == (
        ParsedStatus(
            line=_item("0080012345/000010"),
            code="PIC",
            qualifier="WHSCON",
            occurred_at=picked_at,
            quantity=2,
            location="DE01",
            text="PS-200-SEAL",
            ship_from="DE01",
        ),
        ParsedStatus(
            line=_item("0080012345/000020"),
            code="PIC",
            qualifier="WHSCON",
            occurred_at=picked_at,
            quantity=1,
            location="DE01",
            text="HV-3310",
            ship_from="DE01",
        ),
    )


def test_a_shpcon_goods_issue_is_dated_by_the_actual_goods_issue_not_the_plan_or_picking():
    # given a goods issue with a planned and an actual goods-issue time and a picking time
    raw = _fixture("shpcon_pgi.xml")

    # when it is parsed
    message = sap_idoc_xml.parse(raw)

    # then the item is goods-issued at the actual time, with the bill of lading
    assert message.message_id == "0000000004711002"
    assert message.statuses == (
        ParsedStatus(
            line=_item("0080012346/000010"),
            code="PGI",
            qualifier="SHPCON",
            occurred_at=datetime(2026, 11, 2, 16, 15),
            quantity=2,
            location="NL01",
            text="CB-7740-A",
            bill_of_lading="BOL-4471190",
            ship_from="NL01",
        ),
    )


def test_a_partial_quantity_confirmation_carries_the_confirmed_quantity_at_the_idoc_time():
    # given a quantity confirmation of 3 of 5, without a picking deadline or a shipping point
    raw = _fixture("whscon_qua_partial.xml")

    # when it is parsed
    message = sap_idoc_xml.parse(raw)

    # then it reports 3, at the control record's creation time, at the item's plant
    assert message.statuses == (
        ParsedStatus(
            line=_item("0080012347/000020"),
            code="QUA",
            qualifier="WHSCON",
            occurred_at=datetime(2026, 11, 3, 7, 15, 30),
            quantity=3,
            location="DE10",
            text="FLT-0815-HP",
        ),
    )


def test_a_desadv_without_control_segment_is_coded_by_its_message_type_at_goods_issue():
    # given a shipping notification, which has no E1EDL18
    raw = _fixture("desadv_without_control_segment.xml")

    # when it is parsed
    message = sap_idoc_xml.parse(raw)

    # then the code is the message type, dated by the actual goods issue
    assert message.message_id == "0000000004711004"
    assert message.statuses == (
        ParsedStatus(
            line=_item("0080012348/000010"),
            code="DESADV",
            qualifier="DESADV",
            occurred_at=datetime(2026, 11, 4, 17, 45, 12),
            quantity=1,
            location="DE01",
            text="IMP-5520-STEEL",
            bill_of_lading="BOL-4471207",
            ship_from="DE01",
            eta=datetime(2026, 11, 6, 12, 0),  # the planned delivery date (E1EDT13 007)
        ),
    )


def test_a_file_of_two_idocs_gives_the_statuses_of_both_and_is_named_by_both_numbers():
    # given two IDocs in one file: picking and goods issue together, then a goods issue alone
    raw = _fixture("shpcon_two_idocs.xml")

    # when it is parsed
    message = sap_idoc_xml.parse(raw)

    # then every confirmation of every item is reported, each at its own time
    assert message.message_id == "0000000004711010+0000000004711011"
    assert sap_idoc_xml.peek_message_id(raw) == message.message_id
    assert [(str(s.line), s.code, s.occurred_at, s.quantity, s.location) for s in message.statuses] == [
        ("sap_delivery_item=0080012350/000010", "PIC", datetime(2026, 11, 5, 13, 40), 4, "NL01"),
        ("sap_delivery_item=0080012350/000010", "PGI", datetime(2026, 11, 5, 15, 20), 4, "NL01"),
        ("sap_delivery_item=0080012351/000010", "PGI", datetime(2026, 11, 5, 20, 0, 1), 10, "NL10"),
    ]


@pytest.mark.parametrize(
    ("name", "message_id"),
    [
        ("whscon_pic_two_items.xml", "0000000004711001"),
        ("shpcon_pgi.xml", "0000000004711002"),
        ("whscon_qua_partial.xml", "0000000004711003"),
        ("desadv_without_control_segment.xml", "0000000004711004"),
        ("missing_vbeln.xml", "0000000004711005"),  # well-formed: its number is its own
        ("malformed.xml", None),
        ("truncated.xml", None),  # a truncated copy must not claim the number of the complete resend
        ("billion_laughs.xml", None),
    ],
)
def test_peek_finds_the_idoc_number_of_well_formed_files_only(name, message_id):
    assert sap_idoc_xml.peek_message_id(_fixture(name)) == message_id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("malformed.xml", "not well-formed XML: mismatched tag: line 25"),
        ("truncated.xml", "not well-formed XML"),
        ("missing_vbeln.xml", "IDOC 0000000004711005: E1EDL20/VBELN (delivery number) missing"),
        ("billion_laughs.xml", "refused XML: DTDs and entity declarations are not accepted"),
        ("wrong_basic_type_orders05.xml", "IDOC 0000000004711020: EDI_DC40/IDOCTYP 'ORDERS05' is not a delivery"),
    ],
)
def test_a_bad_file_is_refused_saying_where(name, expected):
    with pytest.raises(ParseError) as refused:
        sap_idoc_xml.parse(_fixture(name))
    assert expected in str(refused.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("<POSNR>000010</POSNR>", "", "IDOC 0000000004711002 delivery 0080012346: E1EDL24/POSNR (item number) missing"),
        ("<LFIMG>2.000</LFIMG>", "<LFIMG>two</LFIMG>", "item 000010: E1EDL24/LFIMG: not a whole, non-negative"),
        ("<LFIMG>2.000</LFIMG>", "<LFIMG>2.500</LFIMG>", "E1EDL24/LFIMG: not a whole, non-negative quantity: '2.500'"),
        ("<LFIMG>2.000</LFIMG>", "<LFIMG>-2</LFIMG>", "E1EDL24/LFIMG: not a whole"),
        ("<ISDD>20261102</ISDD>\n        <ISDZ>1615", "<ISDD>20261131</ISDD>\n        <ISDZ>1615", "no such date"),
        ("<ISDZ>161500</ISDZ>", "<ISDZ>16:15</ISDZ>", "E1EDT13[QUALF=006]/ISDD,ISDZ: not YYYYMMDD and HHMMSS"),
        ("<CREDAT>20261102</CREDAT>", "<CREDAT>2026-11-02</CREDAT>", "EDI_DC40/CREDAT,CRETIM: not YYYYMMDD"),
        ("<CREDAT>20261102</CREDAT>", "", "EDI_DC40/CREDAT missing"),
        ("<MESTYP>SHPCON</MESTYP>", "<MESTYP>SHPORD</MESTYP>", "MESTYP 'SHPORD' is not one of SHPCON, WHSCON, DESADV"),
        ("<IDOCTYP>DELVRY03</IDOCTYP>", "", "EDI_DC40/IDOCTYP '' is not a delivery IDoc"),
    ],
)
def test_a_bad_field_is_refused_naming_segment_and_field(old, new, expected):
    with pytest.raises(ParseError) as refused:
        sap_idoc_xml.parse(_variant("shpcon_pgi.xml", old, new))
    assert expected in str(refused.value)


def test_a_delivery_without_items_is_refused_rather_than_silently_dropped():
    # given a goods issue for a whole delivery, which names no item and so no line
    recorded = _fixture("shpcon_pgi.xml")
    start, end = recorded.index("<E1EDL24"), recorded.index("</E1EDL24>") + len("</E1EDL24>")
    raw = recorded[:start] + recorded[end:]

    with pytest.raises(ParseError, match="delivery 0080012346: no E1EDL24 item"):
        sap_idoc_xml.parse(raw)


def test_not_xml_at_all_is_refused():
    with pytest.raises(ParseError, match="not well-formed XML"):
        sap_idoc_xml.parse('{"DOCNUM": "0000000004711002"}')
    with pytest.raises(ParseError, match="no IDOC element under <html>"):
        sap_idoc_xml.parse("<html><body>502 Bad Gateway</body></html>")


def test_a_namespace_added_by_middleware_does_not_matter():
    # given the IDoc wrapped by SAP PI in its namespace
    raw = _variant("shpcon_pgi.xml", "<DELVRY03>", '<ns0:DELVRY03 xmlns:ns0="urn:sap-com:document:sap:idoc:messages">')
    raw = raw.replace("</DELVRY03>", "</ns0:DELVRY03>")

    # when it is parsed, then it reads as without
    assert sap_idoc_xml.parse(raw) == sap_idoc_xml.parse(_fixture("shpcon_pgi.xml"))


def test_a_quantity_confirmed_on_the_item_is_reported_as_qua():
    # given a picking confirmation whose item also carries SAP's item-level QUA (adopt quantity)
    raw = _variant(
        "whscon_pic_two_items.xml", "<QUALF>GWT</QUALF>\n        </E1EDL19>", "<QUALF>QUA</QUALF>\n        </E1EDL19>"
    )

    # when it is parsed
    statuses = sap_idoc_xml.parse(raw).statuses

    # then that item reports both the picking and the quantity; the other only the picking
    assert [(s.line.reference_value, s.code) for s in statuses] == [
        ("0080012345/000010", "PIC"),
        ("0080012345/000010", "QUA"),
        ("0080012345/000020", "PIC"),
    ]


def test_an_initial_sap_date_counts_as_no_date():
    # given a picking deadline whose actual date is SAP's initial 00000000 and no nominal one
    raw = _variant(
        "shpcon_two_idocs.xml",
        "<ISDD>20261105</ISDD>\n        <ISDZ>134000",
        "<ISDD>00000000</ISDD>\n        <ISDZ>000000",
    )

    # when it is parsed, then picking falls back to the control record's creation time
    assert sap_idoc_xml.parse(raw).statuses[0].occurred_at == datetime(2026, 11, 5, 20, 0)


def test_an_idoc_without_docnum_leaves_the_message_id_to_the_inbox():
    raw = _variant("shpcon_pgi.xml", "<DOCNUM>0000000004711002</DOCNUM>", "")

    assert sap_idoc_xml.parse(raw).message_id is None
    assert sap_idoc_xml.peek_message_id(raw) is None


@settings(database=None)
@given(st.text())
def test_any_text_is_parsed_or_refused_with_a_parse_error(raw):
    sap_idoc_xml.peek_message_id(raw)
    with contextlib.suppress(ParseError):
        sap_idoc_xml.parse(raw)


@settings(database=None)
@given(
    name=st.sampled_from(["whscon_pic_two_items.xml", "shpcon_pgi.xml", "shpcon_two_idocs.xml"]),
    at=st.floats(min_value=0, max_value=1),
    cut=st.integers(min_value=0, max_value=40),
    insert=st.text(alphabet=st.sampled_from("<>/&;\"'=0123456789.-: ABCQUALFPOSNRLFIMGE1EDL24"), max_size=12),
)
def test_a_damaged_idoc_is_parsed_or_refused_with_a_parse_error(name, at, cut, insert):
    # given a recorded IDoc with a few characters replaced somewhere, as a damaged transfer would
    raw = _fixture(name)
    position = int(at * len(raw))
    damaged = raw[:position] + insert + raw[position + cut :]

    sap_idoc_xml.peek_message_id(damaged)
    with contextlib.suppress(ParseError):
        sap_idoc_xml.parse(damaged)
