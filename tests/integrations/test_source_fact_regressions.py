"""Regressions of the truth engine, as sources send their messages (canonical JSON): a source's
clock tolerance, a line-level reference that matches several lines, and a line split between
finding it and locking it."""

import json
from datetime import timedelta

import pytest

from integrations.models import InboundMessage, MessageFormat, MessageState, SourceKind, Transport
from integrations.services.inbox import inbound_message_receive
from integrations.services.processing import inbound_message_process
from orders.models import EventOutcome, OrderLine, StatusEvent
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(make_source):
    RegionFactory(code="emea")
    return make_source("sap-erp", MessageFormat.CANONICAL_JSON, kind=SourceKind.ERP)


@pytest.fixture
def ewm(make_source):
    """The warehouse, whose clock runs up to ten minutes off the ERP's."""
    return make_source(
        "ewm-rtm", MessageFormat.CANONICAL_JSON, kind=SourceKind.WMS, clock_tolerance=timedelta(minutes=10)
    )


def _send(source, document: dict) -> InboundMessage:
    message, _created = inbound_message_receive(source=source, raw=json.dumps(document), transport=Transport.WEBHOOK)
    inbound_message_process(message_id=message.pk)
    message.refresh_from_db()
    return message


def _order(number: str, *lines: tuple[str, int, list[dict]], policy: str = "BK") -> dict:
    return {
        "message_id": f"ORDERS-{number}",
        "orders": [
            {
                "number": number,
                "account": {"number": "C-4711", "name": "Lindqvist Paper Mill", "region": "emea"},
                "ship_policy": policy,
                "created_at": "2026-11-02T06:00:00Z",
                "lines": [
                    {"number": line, "part": {"number": "PN-1"}, "quantity": quantity, "references": references}
                    for line, quantity, references in lines
                ],
            }
        ],
    }


def _status(message_id: str, *statuses: dict) -> dict:
    return {"message_id": message_id, "statuses": list(statuses)}


def test_a_step_back_within_the_senders_clock_tolerance_is_late_news_beyond_it_applies(erp, ewm):
    # given two lines the ERP allocated at 10:00
    for number in ("SO-1", "SO-2"):
        _send(erp, _order(number, ("10", 1, [])))
        allocated = {"order": number, "line": "10", "status": "allocated", "occurred_at": "2026-11-02T10:00:00Z"}
        assert _send(erp, _status(f"ALLOC-{number}", allocated)).state == MessageState.PROCESSED

    # when the warehouse (clock up to 10 minutes off) reports a short pick, backordering each
    # line: 5 minutes after the allocation on its clock for one, 15 minutes for the other
    short_pick = {"line": "10", "status": "awaiting_part", "reason_code": "short_pick"}
    _send(ewm, _status("PICK-1", {**short_pick, "order": "SO-1", "occurred_at": "2026-11-02T10:05:00Z"}))
    _send(ewm, _status("PICK-2", {**short_pick, "order": "SO-2", "occurred_at": "2026-11-02T10:15:00Z"}))

    # then within the tolerance the allocation stands (the short pick may well have come first),
    # beyond it the line is backordered
    within = OrderLine.objects.get(order__number="SO-1")
    beyond = OrderLine.objects.get(order__number="SO-2")
    assert (within.status, beyond.status) == ("allocated", "awaiting_part")
    assert StatusEvent.objects.get(line=within, to_status="awaiting_part").outcome == EventOutcome.STALE


def test_a_delivery_item_that_matches_two_lines_of_one_account_is_quarantined_with_both(erp, ewm):
    # given an order whose two lines both carry delivery item 80012345/10 (a mistake in the ERP)
    item = [{"kind": "sap_delivery_item", "value": "80012345/10"}]
    assert _send(erp, _order("SO-3", ("10", 2, item), ("20", 3, item))).state == MessageState.PROCESSED

    # when the warehouse picks "that" delivery item
    picked = {
        "reference": {"kind": "sap_delivery_item", "value": "80012345/10"},
        "status": "picking",
        "occurred_at": "2026-11-02T11:00:00Z",
    }
    message = _send(ewm, _status("PICK-3", picked))

    # then nothing moves: a person chooses, with both candidates named
    assert message.state == MessageState.QUARANTINED
    assert "it names one line and matches several" in message.last_error
    assert message.parsed["ambiguous"]["candidates"] == [
        "SO-3/10 (account C-4711 from sap-erp)",
        "SO-3/20 (account C-4711 from sap-erp)",
    ]
    assert set(OrderLine.objects.values_list("status", flat=True)) == {"received"}


def test_a_line_split_after_it_was_found_is_found_again_and_the_message_applies(erp, ewm):
    # given a line of 10, ship partial with backorder
    _send(erp, _order("SO-4", ("10", 10, [])))

    # when one warehouse message says 6 of them left on bill of lading BOL-1 at 14:00 and, in
    # the same message, that the line was picked up by the carrier at 15:00: the pickup was
    # matched to line 10 before the goods issue split it
    goods_issue = {"order": "SO-4", "line": "10", "status": "shipped", "occurred_at": "2026-11-02T14:00:00Z"}
    pickup = {"order": "SO-4", "line": "10", "status": "in_transit", "occurred_at": "2026-11-02T15:00:00Z"}
    message = _send(ewm, _status("GI-4", {**goods_issue, "quantity": 6, "bill_of_lading": "BOL-1"}, pickup))

    # then the message is applied at its first attempt, not retried nor dead: the pickup reached
    # the part that shipped, the backordered rest waits
    assert (message.state, message.attempts) == (MessageState.PROCESSED, 1)
    shipped, rest = OrderLine.objects.filter(parent__number="10", parent__order__number="SO-4").order_by("number")
    assert (shipped.quantity, shipped.status) == (6, "in_transit")
    assert (rest.quantity, rest.status) == (4, "awaiting_part")
