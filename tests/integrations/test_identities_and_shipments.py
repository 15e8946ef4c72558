"""Identities have an issuer and carrier facts reach only their shipment: regression tests with
messages as the sources send them (canonical JSON, SAP DELVRY IDoc, X12 214)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from integrations.models import InboundMessage, MessageFormat, MessageState, SourceKind, StatusMapping, Transport
from integrations.services.inbox import inbound_message_receive
from integrations.services.processing import inbound_message_process
from orders.models import EventKind, Order, OrderLine, Shipment, StatusEvent
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def regions(db):
    return RegionFactory(code="amer", name="Americas"), RegionFactory(code="emea")


@pytest.fixture
def erp(make_source, regions):
    """The ERP that owns the orders, sending canonical JSON."""
    return make_source("sap-erp", MessageFormat.CANONICAL_JSON, kind=SourceKind.ERP)


@pytest.fixture
def ewm(make_source):
    """The warehouse, confirming goods issues in DELVRY IDocs."""
    source = make_source("sap-ewm", MessageFormat.SAP_IDOC_XML, kind=SourceKind.WMS, time_zone="Europe/Amsterdam")
    StatusMapping.objects.create(source=source, external_code="PGI", status="shipped")
    return source


@pytest.fixture
def odfl(make_source):
    """A carrier sending X12 214."""
    source = make_source("odfl-214", MessageFormat.X12_214, kind=SourceKind.CARRIER)
    StatusMapping.objects.create(source=source, external_code="X6", status="in_transit")
    StatusMapping.objects.create(source=source, external_code="D1", status="delivered")
    return source


def _process(source, name: str) -> InboundMessage:
    message, _created = inbound_message_receive(
        source=source, raw=(FIXTURES / name).read_text(), transport=Transport.WEBHOOK
    )
    inbound_message_process(message_id=message.pk)
    message.refresh_from_db()
    return message


def test_a_carrier_fact_on_a_purchase_order_two_accounts_use_is_quarantined_as_ambiguous(erp, odfl):
    # given two customers whose orders both carry PO 4500012345
    assert _process(erp, "canonical/two_accounts_same_purchase_order.json").state == MessageState.PROCESSED

    # when the carrier reports "en route" naming only that PO
    message = _process(odfl, "x12/en_route_on_purchase_order.edi")

    # then the message waits for a person, with both candidate lines named, and nothing moved
    assert message.state == MessageState.QUARANTINED
    assert message.last_error.startswith("ambiguous reference purchase_order=4500012345")
    assert message.parsed["ambiguous"]["candidates"] == [
        "SO-1000801/10 (account C-30801 from sap-erp)",
        "SO-1000802/10 (account C-30802 from sap-erp)",
    ]
    assert set(OrderLine.objects.values_list("status", flat=True)) == {"received"}
    assert not StatusEvent.objects.filter(to_status="in_transit").exists()


def test_a_purchase_order_named_with_its_account_reaches_that_account_only(erp):
    # given the same two customers' orders
    _process(erp, "canonical/two_accounts_same_purchase_order.json")

    # when a message names the PO with its issuer, the account
    message = _process(erp, "canonical/status_by_purchase_order_of_one_account.json")

    # then only that account's line is held
    assert message.state == MessageState.PROCESSED
    statuses = dict(OrderLine.objects.values_list("order__account__number", "status"))
    assert statuses == {"C-30801": "received", "C-30802": "on_hold"}


def test_a_partial_goods_issue_ships_one_child_and_the_carrier_delivers_only_that_child(erp, ewm, odfl, client, viewer):
    # given a ship-partial order line of 10
    _process(erp, "canonical/order_ship_partial_backorder.json")
    line = OrderLine.objects.get(order__number="SO-1000777", number="10")

    # when the warehouse posts goods issue for 6 of them on bill of lading BOL-7781 with ODFL
    assert _process(ewm, "sap/shpcon_pgi_partial_6_of_10.xml").state == MessageState.PROCESSED

    # then the 6 left on a shipment that carries the IDoc's identifiers; the other 4 wait, with none
    shipped, rest = OrderLine.objects.filter(parent=line).order_by("number")
    assert (shipped.quantity, shipped.status, rest.quantity, rest.status) == (6, "shipped", 4, "awaiting_part")
    shipment = Shipment.objects.get()
    assert (shipment.bill_of_lading, shipment.carrier, shipment.ship_from_code, shipment.source_system) == (
        "BOL-7781",
        "ODFL",
        "NL01",
        "sap-ewm",
    )
    assert list(shipment.lines.values_list("line__number", "quantity")) == [("10.1", 6)]
    assert list(shipped.references.values_list("issuer", "kind", "value")) == [
        ("sap-ewm", "bill_of_lading", "BOL-7781")
    ]
    assert not rest.references.exists()

    # when the carrier reports delivery (X12 214 D1) on that bill of lading
    assert _process(odfl, "x12/delivered_on_bill_of_lading.edi").state == MessageState.PROCESSED

    # then only the shipped child is delivered; the backordered rest still awaits its part
    shipped.refresh_from_db()
    rest.refresh_from_db()
    assert (shipped.status, rest.status) == ("delivered", "awaiting_part")
    shipment.refresh_from_db()
    assert (shipment.last_location, shipment.pro_number, shipment.packages) == ("NASHVILLE, TN, US", "72931777", 1)

    # and the order detail shows the shipment with its line
    client.force_login(viewer)
    order = Order.objects.get(number="SO-1000777")
    detail = client.get(f"/api/v1/orders/{order.public_id}/").json()
    assert [(s["bill_of_lading"], s["carrier"], s["last_location"]) for s in detail["shipments"]] == [
        ("BOL-7781", "ODFL", "NASHVILLE, TN, US")
    ]
    assert detail["shipments"][0]["lines"][0]["line"] == "10.1"
    assert detail["shipments"][0]["lines"][0]["quantity"] == 6


def test_a_carrier_fact_naming_a_split_line_goes_to_the_child_that_shipped(erp, ewm):
    # given the partial goods issue above
    _process(erp, "canonical/order_ship_partial_backorder.json")
    _process(ewm, "sap/shpcon_pgi_partial_6_of_10.xml")
    message, _created = inbound_message_receive(
        source=erp,
        raw=(
            '{"statuses": [{"order": "SO-1000777", "line": "10", "status": "in_transit",'
            ' "occurred_at": "2026-11-04T09:00:00Z"}]}'
        ),
        transport=Transport.WEBHOOK,
    )

    # when a fact after shipping names the original line
    inbound_message_process(message_id=message.pk)

    # then it reaches the shipped child only
    children = dict(OrderLine.objects.filter(parent__number="10").values_list("number", "status"))
    assert children == {"10.1": "in_transit", "10.2": "awaiting_part"}


def test_a_partial_confirmation_on_a_ship_complete_order_records_what_is_ready_and_waits(erp, client, viewer):
    # given a ship-complete order of 10
    _process(erp, "canonical/order_ship_complete.json")
    line = OrderLine.objects.get(order__number="SO-1000900")

    # when the warehouse confirms 6 shipped
    assert _process(erp, "canonical/ship_complete_first_6.json").state == MessageState.PROCESSED

    # then the line is not split and does not move: 6 of 10 are ready
    line.refresh_from_db()
    assert (line.is_split, line.status, line.quantity_ready) == (False, "received", 6)
    ready = StatusEvent.objects.get(line=line, kind=EventKind.READY)
    assert ready.reason_text.startswith("6 of 10 ready")
    assert not Shipment.objects.exists()

    # when the same confirmation comes again, then the rest
    message, _created = inbound_message_receive(
        source=erp,
        raw=(FIXTURES / "canonical/ship_complete_first_6.json").read_text().replace('90001"', '90001-resent"'),
        transport=Transport.WEBHOOK,
    )
    inbound_message_process(message_id=message.pk)
    line.refresh_from_db()
    assert line.quantity_ready == 6  # counted once
    assert _process(erp, "canonical/ship_complete_rest_4.json").state == MessageState.PROCESSED

    # then the whole line ships, on one shipment of 10
    line.refresh_from_db()
    assert (line.is_split, line.status, line.quantity_ready) == (False, "shipped", 10)
    shipment = Shipment.objects.get()
    assert (shipment.carrier, shipment.bill_of_lading) == ("DHLF", "BOL-90001")
    assert list(shipment.lines.values_list("line_id", "quantity")) == [(line.pk, 10)]


def test_a_new_line_starts_at_the_orders_source_creation_time(erp):
    # when an order arrives with its creation time on the ERP's clock
    _process(erp, "canonical/order_ship_partial_backorder.json")

    # then the line's status time is that time, not the moment we stored it
    line = OrderLine.objects.get(order__number="SO-1000777")
    created_at = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    assert (line.status, line.status_occurred_at, line.start_occurred_at) == ("received", created_at, created_at)
    start = line.events.get()
    assert start.occurred_at == created_at
    assert start.received_at > created_at  # our receipt time is kept apart


def test_a_new_line_without_a_source_creation_time_has_no_status_time(erp):
    # when an order arrives without a creation time
    _process(erp, "canonical/two_accounts_same_purchase_order.json")

    # then its lines have no status time until a source gives one
    assert set(OrderLine.objects.values_list("status_occurred_at", "start_occurred_at")) == {(None, None)}


def test_a_fact_dated_before_the_line_existed_here_applies(erp):
    # given an order the ERP created at 12:30 UTC, stored later
    _process(erp, "canonical/order_ship_partial_backorder.json")

    # when a hold dated after the source's creation (but before we stored it) arrives
    message, _created = inbound_message_receive(
        source=erp,
        raw=(
            '{"statuses": [{"order": "SO-1000777", "line": "10", "status": "on_hold",'
            ' "occurred_at": "2026-11-01T13:00:00Z"}]}'
        ),
        transport=Transport.WEBHOOK,
    )
    inbound_message_process(message_id=message.pk)

    # then it applies: it is not stale by our clock
    assert OrderLine.objects.get(order__number="SO-1000777").status == "on_hold"


def test_equal_order_numbers_under_two_issuers_stay_two_orders(make_source, regions):
    # given two ERPs that both number an order SO-1
    emea = make_source("erp-emea", MessageFormat.CANONICAL_JSON, kind=SourceKind.ERP)
    amer = make_source("erp-amer", MessageFormat.CANONICAL_JSON, kind=SourceKind.ERP)
    wms = make_source("wms-3pl", MessageFormat.CANONICAL_JSON)

    def upsert(source, account: str, region: str):
        raw = (
            f'{{"orders": [{{"number": "SO-1", "account": {{"number": "{account}", "name": "{account}",'
            f' "region": "{region}"}}, "lines": [{{"number": "10", "part": {{"number": "P-1"}}, "quantity": 1}}]}}]}}'
        )
        message, _created = inbound_message_receive(source=source, raw=raw, transport=Transport.WEBHOOK)
        inbound_message_process(message_id=message.pk)

    def status(source, status: str) -> InboundMessage:
        raw = f'{{"statuses": [{{"order": "SO-1", "line": "10", "status": "{status}", "occurred_at": "2026-11-02T08:00:00Z"}}]}}'
        message, _created = inbound_message_receive(source=source, raw=raw, transport=Transport.WEBHOOK)
        inbound_message_process(message_id=message.pk)
        message.refresh_from_db()
        return message

    # when both send their order, and the EMEA ERP a status of its own order
    upsert(emea, "C-EU-1", "emea")
    upsert(amer, "C-US-1", "amer")
    status(emea, "released")

    # then there are two orders, and only the EMEA one moved
    assert sorted(Order.objects.values_list("issuer", "number", "account__number")) == [
        ("erp-amer", "SO-1", "C-US-1"),
        ("erp-emea", "SO-1", "C-EU-1"),
    ]
    assert dict(OrderLine.objects.values_list("order__issuer", "status")) == {
        "erp-emea": "released",
        "erp-amer": "received",
    }

    # and a third source naming SO-1 cannot tell which: quarantined, nothing applied
    message = status(wms, "allocated")
    assert message.state == MessageState.QUARANTINED
    assert "order number issued by more than one source" in message.last_error
    assert not StatusEvent.objects.filter(to_status="allocated").exists()
