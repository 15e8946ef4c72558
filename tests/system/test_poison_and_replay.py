"""Poison messages with the real worker: unknown codes are quarantined, malformed messages are dead
letters with their error; after the missing mapping is added, a replay applies the quarantined
ones exactly once, and a second replay changes nothing."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from integrations.models import InboundMessage, MessageState, StatusMapping
from integrations.services.inbox import inbound_messages_replay
from orders.models import OrderLine, StatusEvent
from orders.services.audit import audit_chain_verify

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

FIXTURES = Path(__file__).resolve().parents[1] / "integrations" / "fixtures"
# Recorded payloads that cannot be parsed, and what their dead letter must say.
MALFORMED = {
    "sys-sap": [
        ((FIXTURES / "sap" / "malformed.xml").read_text(), "not well-formed XML: mismatched tag"),
        ((FIXTURES / "sap" / "truncated.xml").read_text(), "not well-formed XML: no element found"),
    ],
    "sys-x12": [
        ((FIXTURES / "x12" / "garbage.edi").read_text(), "ISA: the interchange must start with ISA"),
        ((FIXTURES / "x12" / "truncated_no_iea.edi").read_text(), "IEA: missing"),
    ],
    "sys-json": [('{"message_id": "broken", "statuses": [', "not JSON")],
    "sys-scan": [('{"scan_id": "S-1", "barcode": "SYS-000000/10"}', "missing field(s): event, time")],
}


def _depot_row(line, code: str, when: datetime) -> str:
    return (
        f"order,line,status,time,site,clerk\n{line.order_number},{line.number},{code},{when:%Y-%m-%d %H:%M},lyon,ana\n"
    )


def _scan(line, code: str, when: datetime) -> str:
    barcode = f"{line.order_number}/{line.number}"
    return json.dumps({"scan_id": f"{barcode}-{code}", "barcode": barcode, "event": code, "time": when.isoformat()})


def _settled(ids: list[int]) -> bool:
    waiting = [MessageState.RECEIVED, MessageState.RETRYING]
    return not InboundMessage.objects.filter(pk__in=ids, state__in=waiting).exists()


def _events() -> int:
    return StatusEvent.objects.count()


def test_quarantined_messages_are_applied_once_after_the_mapping_and_a_replay(stack, network, receive, t0):
    # given lines already picking, then messages with codes their sources have no mapping for
    # (KITTED from the depot sheet, STAGED from a scanner) and messages that cannot be parsed
    sources = network.sources()
    lines = network.lines(8)
    for line in lines:
        receive(sources["sys-depot"], _depot_row(line, "PICKED", t0 + timedelta(minutes=10)))
    unknown = [
        receive(sources["sys-depot"], _depot_row(line, "KITTED", t0 + timedelta(minutes=20))) for line in lines[:4]
    ]
    unknown += [receive(sources["sys-scan"], _scan(line, "STAGED", t0 + timedelta(minutes=30))) for line in lines[4:]]
    malformed = {
        receive(sources[code], raw).pk: error for code, payloads in MALFORMED.items() for raw, error in payloads
    }
    stack.start_worker()
    everything = list(InboundMessage.objects.values_list("pk", flat=True))
    stack.wait_until(lambda: _settled(everything), timeout=60, what="the first pass over the inbox")

    # then the unknown codes are quarantined with the code named and nothing half-applied,
    quarantined = InboundMessage.objects.filter(pk__in=[m.pk for m in unknown])
    assert set(quarantined.values_list("state", flat=True)) == {MessageState.QUARANTINED}
    assert {m.parsed["unknown_code"]["code"] for m in quarantined} == {"KITTED", "STAGED"}
    assert set(OrderLine.objects.filter(pk__in=[line.pk for line in lines]).values_list("status", flat=True)) == {
        "picking"
    }
    # and the malformed ones are dead letters that say what is wrong
    for message in InboundMessage.objects.filter(pk__in=malformed):
        assert message.state == MessageState.DEAD
        assert malformed[message.pk] in message.last_error
    events_before = _events()

    # when the missing mappings are added and the quarantined messages replayed
    StatusMapping.objects.create(source=sources["sys-depot"], external_code="KITTED", status="awaiting_kitting")
    StatusMapping.objects.create(source=sources["sys-scan"], external_code="STAGED", status="packed")
    call_command("replay", "--quarantined")
    stack.wait_until(lambda: _settled(everything), timeout=60, what="the replayed messages")

    # then each is applied, exactly once
    assert set(quarantined.values_list("state", flat=True)) == {MessageState.PROCESSED}
    assert _events() == events_before + len(unknown)
    for message in quarantined:
        assert StatusEvent.objects.filter(inbound_message_id=message.pk, outcome="applied").count() == 1
    statuses = dict(OrderLine.objects.filter(pk__in=[line.pk for line in lines]).values_list("pk", "status"))
    assert [statuses[line.pk] for line in lines] == ["awaiting_kitting"] * 4 + ["packed"] * 4

    # and replaying again changes nothing: processed messages are not queued, dead ones die again
    assert inbound_messages_replay(message_ids=[m.pk for m in unknown]) == 0
    call_command("replay", "--quarantined")
    call_command("replay", "--dead")
    stack.wait_until(lambda: _settled(everything), timeout=60, what="the second replay")
    assert _events() == events_before + len(unknown)
    assert set(quarantined.values_list("state", flat=True)) == {MessageState.PROCESSED}
    dead = InboundMessage.objects.filter(pk__in=malformed)
    assert set(dead.values_list("state", "attempts")) == {(MessageState.DEAD, 1)}
    assert audit_chain_verify() == []
