"""The canonical format's examples (docs/schemas/examples/, also the schema's `examples`) are
valid, read by the real adapter as documented, and do what they say when sent in order: an ERP's
order upsert, a warehouse's partial goods issue, a carrier's status on that shipment."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from integrations.adapters import canonical_json
from integrations.models import MessageFormat, MessageState, SourceKind
from integrations.services.inbox import inbound_message_receive
from integrations.services.processing import inbound_message_process
from orders.models import LineReference, Order, Shipment
from tests.factories import RegionFactory, SiteFactory

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
NAMES = ("order-upsert", "goods-issue-partial", "carrier-status")


def _example(name: str) -> str:
    return (SCHEMAS / "examples" / f"{name}.json").read_text()


def _schema() -> dict:
    return json.loads((SCHEMAS / "canonical-message.schema.json").read_text())


def test_every_example_is_valid_and_the_schema_lists_them_all():
    schema = _schema()
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    files = [json.loads(_example(name)) for name in NAMES]

    assert [list(validator.iter_errors(example)) for example in files] == [[], [], []]
    assert schema["examples"] == files
    assert sorted(path.stem for path in (SCHEMAS / "examples").glob("*.json")) == sorted(NAMES)


def test_the_adapter_reads_each_example_as_documented():
    upsert, goods_issue, carrier = (canonical_json.parse(_example(name)) for name in NAMES)

    order = upsert.orders[0]
    assert order.created_at == datetime(2026, 11, 2, 6, 55, tzinfo=UTC)
    assert order.lines[0].references == (
        ("purchase_order", "PO-88231", "C-100234"),
        ("sap_sales_order_item", "4500012345/10"),
    )
    issued = goods_issue.statuses[0]
    assert (issued.quantity, issued.bill_of_lading, issued.pro_number, issued.tracking_number) == (
        6,
        "BOL-778812",
        "PRO-5521907",
        "JJD000390007788812",
    )
    assert (issued.carrier, issued.ship_from) == ("DHLF", "DC-RTM")
    status = carrier.statuses[0]
    assert (status.line.reference_kind, status.line.reference_value, status.line.reference_issuer) == (
        "bill_of_lading",
        "BOL-778812",
        "DHLF",
    )


@pytest.mark.django_db
def test_the_examples_sent_in_order_ship_six_of_ten_and_move_only_the_shipped_part(make_source):
    # given the ERP, the warehouse and the carrier as sources, and the network the order names
    SiteFactory(code="DC-RTM", region=RegionFactory(code="emea"))
    erp = make_source("sap-erp", MessageFormat.CANONICAL_JSON, kind=SourceKind.ERP)
    warehouse = make_source("ewm-rtm", MessageFormat.CANONICAL_JSON, kind=SourceKind.WMS)
    carrier = make_source("dhl-freight", MessageFormat.CANONICAL_JSON, kind=SourceKind.CARRIER)

    # when each example arrives from its source and is processed
    for source, name in ((erp, "order-upsert"), (warehouse, "goods-issue-partial"), (carrier, "carrier-status")):
        message, _new = inbound_message_receive(source=source, raw=_example(name), transport="webhook")
        assert inbound_message_process(message_id=message.pk) == MessageState.PROCESSED, name

    # then the order is the ERP's and the PO number is the account's
    order = Order.objects.get(number="4500012345")
    assert order.issuer == "sap-erp"
    line = order.lines.get(number="10", parent=None)
    assert LineReference.objects.get(line=line, kind="purchase_order").issuer == "C-100234"
    # the goods issue split the line: 6 left on the shipment, 4 backordered without its numbers
    shipped, rest = sorted(line.children.all(), key=lambda child: -child.quantity)
    assert (shipped.quantity, rest.quantity) == (6, 4)
    shipment = Shipment.objects.get(bill_of_lading="BOL-778812")
    assert (shipment.carrier, shipment.pro_number) == ("DHLF", "PRO-5521907")
    assert list(shipment.lines.values_list("line_id", "quantity")) == [(shipped.pk, 6)]
    # and the carrier's status moved the shipped part only
    assert shipped.status == "in_transit"
    assert rest.status != "in_transit"
    assert rest.status_occurred_at < datetime(2026, 11, 3, tzinfo=UTC)
