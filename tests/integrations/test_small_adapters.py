"""The canonical JSON, depot CSV and scanner JSON adapters against recorded fixtures."""

import contextlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.adapters import LineSelector, ParseError, canonical_json, csv_depot, mqtt_scan

FIXTURES = Path(__file__).parent / "fixtures"


def _read(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_canonical_order_upsert():
    parsed = canonical_json.parse(_read("canonical/order_upsert.json"))

    assert (parsed.message_id, parsed.sequence, parsed.statuses) == ("CRM-2026-11-02-000417", 417, ())
    [order] = parsed.orders
    assert (order.number, order.account_number, order.region_code, order.ship_policy) == (
        "SO-2000417",
        "C-10452",
        "emea",
        "BK",
    )
    assert (order.requested_date, order.promised_date) == (date(2026, 11, 3), date(2026, 11, 4))
    first, second = order.lines
    assert (first.part_number, first.criticality, first.quantity, first.site_code) == (
        "7X-2731",
        "A",
        2,
        "dc-rotterdam",
    )
    assert first.eta == datetime(2026, 11, 4, 11, 0, tzinfo=UTC)
    assert ("sap_delivery_item", "0080012345/000010") in first.references
    assert (second.criticality, second.site_code, second.eta) == ("", "", None)


def test_canonical_status_updates_by_number_and_by_reference():
    statuses = canonical_json.parse(_read("canonical/status_updates.json")).statuses

    assert [status.line for status in statuses] == [
        LineSelector(order_number="SO-2000417", line_number="10"),
        LineSelector(reference_kind="bill_of_lading", reference_value="BOL-4471190"),
        LineSelector(order_number="SO-2000417", line_number="20"),
    ]
    assert statuses[0].occurred_at.utcoffset() == timedelta(hours=1)
    assert (statuses[1].quantity, statuses[1].carrier, statuses[1].tracking_number) == (2, "UPSN", "1Z999AA10123456784")
    assert statuses[2].occurred_at.tzinfo is None  # the source's time zone applies later
    assert (statuses[2].code, statuses[2].reason_code) == ("exception", "A9")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_read("canonical/truncated.json"), "not JSON"),
        ('{"message_id": "x"}', "(top level)"),
        ('{"statuses": [{"order": "SO-1", "status": "shipped", "occurred_at": "2026-11-02T10:00:00Z"}]}', "statuses/0"),
        (
            '{"statuses": [{"order": "SO-1", "line": "1", "status": "shipped", "occurred_at": "yesterday"}]}',
            "statuses/0/occurred_at",
        ),
        (
            '{"orders": [{"number": "SO-1", "account": {"number": "C"}, "lines": [{"number": "1", "part": {"number": "P"}, "quantity": 0}]}]}',
            "orders/0/lines/0/quantity",
        ),
        (
            '{"statuses": [{"order": "SO-\\u0000", "line": "1", "status": "x", "occurred_at": "2026-11-02T10:00:00Z"}]}',
            "statuses/0/order",
        ),
    ],
)
def test_canonical_errors_name_the_place(raw, message):
    with pytest.raises(ParseError) as error:
        canonical_json.parse(raw)

    assert message in str(error.value)


def test_depot_sheet_rows_become_statuses_with_the_clerk():
    statuses = csv_depot.parse(_read("depot/lyon_sheet.csv")).statuses

    assert [(s.line.order_number, s.line.line_number, s.code) for s in statuses] == [
        ("SO-2000417", "10", "PICKED"),
        ("SO-2000417", "20", "PACKED"),
    ]
    assert statuses[1].occurred_at == datetime(2026, 11, 2, 9, 30)
    assert statuses[1].text == "two boxes clerk: M. Durand"


def test_depot_sheet_splits_into_one_text_per_row_with_line_numbers():
    rows = csv_depot.rows(_read("depot/lyon_sheet.csv"))

    assert [number for number, _text in rows] == [2, 3]
    assert all(text.startswith("order,line,status,time,site,clerk,note\n") for _number, text in rows)


@pytest.mark.parametrize(
    ("fixture", "message"),
    [("depot/missing_time.csv", "row 2: column 'time' is empty"), ("depot/wrong_columns.csv", "missing column(s)")],
)
def test_depot_sheet_errors(fixture, message):
    with pytest.raises(ParseError) as error:
        csv_depot.parse(_read(fixture))

    assert message in str(error.value)


def test_scanner_scan_by_order_line_and_by_reference():
    picked = mqtt_scan.parse(_read("scanner/picked.json"))
    loaded = mqtt_scan.parse(_read("scanner/by_reference.json"))

    assert (picked.message_id, picked.sequence) == ("RTM-7-000123", 123)
    [status] = picked.statuses
    assert (status.line, status.code, status.location) == (
        LineSelector(order_number="SO-2000417", line_number="10"),
        "PICKED",
        "depot-rtm",
    )
    assert status.occurred_at == datetime(2026, 11, 2, 14, 30, 5, tzinfo=timezone(timedelta(hours=1)))
    assert loaded.statuses[0].line == LineSelector(reference_kind="bill_of_lading", reference_value="BOL-4471190")


def test_scanner_barcode_that_names_no_line_is_refused():
    with pytest.raises(ParseError, match="barcode"):
        mqtt_scan.parse(_read("scanner/bad_barcode.json"))


@given(st.text(max_size=300))
def test_small_adapters_raise_only_parse_errors(raw):
    for adapter in (canonical_json, csv_depot, mqtt_scan):
        adapter.peek_message_id(raw)
        with contextlib.suppress(ParseError):
            adapter.parse(raw)
