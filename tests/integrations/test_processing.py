"""Processing inbound messages: upserts, mapping, quarantine and replay, retries, partials, dry run."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import InboundMessage, MessageState, StatusMapping, Transport
from integrations.services.inbox import inbound_message_receive, inbound_messages_replay
from integrations.services.processing import inbound_dry_run, inbound_message_process
from integrations.tasks import inbound_sweep
from orders.models import EventOutcome, Order, OrderLine, ShipPolicy, StatusEvent
from tests.factories import RegionFactory, SiteFactory

pytestmark = pytest.mark.django_db


def _receive(source, document: dict | str, *, message_id=None) -> InboundMessage:
    raw = document if isinstance(document, str) else json.dumps(document)
    message, _created = inbound_message_receive(
        source=source, raw=raw, transport=Transport.WEBHOOK, message_id=message_id
    )
    return message


def _process(message: InboundMessage, now=None) -> InboundMessage:
    inbound_message_process(message_id=message.pk, now=now)
    message.refresh_from_db()
    return message


def test_order_upsert_then_status_by_reference(canonical_source):
    RegionFactory(code="emea")
    SiteFactory(code="dc-rtm")
    upsert = {
        "message_id": "o-1",
        "orders": [
            {
                "number": "SO-2000001",
                "account": {"number": "C-77", "name": "Nordic Mining AB", "region": "emea"},
                "priority": "P1",
                "ship_policy": "BK",
                "lines": [
                    {
                        "number": "10",
                        "part": {"number": "HV-3000-SEAL", "description": "Seal kit", "criticality": "A"},
                        "quantity": 2,
                        "site": "dc-rtm",
                        "references": [{"kind": "bill_of_lading", "value": "BOL-99"}],
                    }
                ],
            }
        ],
    }
    status = {
        "message_id": "s-1",
        "statuses": [
            {
                "reference": {"kind": "bill_of_lading", "value": "BOL-99"},
                "status": "in_transit",
                "occurred_at": "2026-11-02T09:00:00",
            }
        ],
    }

    assert _process(_receive(canonical_source, upsert)).state == MessageState.PROCESSED
    assert _process(_receive(canonical_source, status)).state == MessageState.PROCESSED

    order = Order.objects.get(number="SO-2000001")
    line = order.lines.get()
    assert (order.priority, order.account.name, line.part.criticality) == ("P1", "Nordic Mining AB", "A")
    assert line.status == "in_transit"
    # the first event is the line's creation, from the same source
    assert list(line.events.values_list("to_status", "source_system")) == [
        ("received", "crm-json"),
        ("in_transit", "crm-json"),
    ]


def test_naive_source_times_are_read_in_the_source_time_zone(canonical_source, order_line):
    canonical_source.time_zone = "America/Chicago"
    canonical_source.save()
    document = {
        "statuses": [{"order": "SO-1000001", "line": "10", "status": "packed", "occurred_at": "2026-11-02T09:00:00"}]
    }

    _process(_receive(canonical_source, document))

    event = StatusEvent.objects.get(line=order_line, to_status="packed")
    assert event.occurred_at.isoformat() == "2026-11-02T15:00:00+00:00"


def test_unknown_code_quarantines_the_whole_message_until_a_mapping_and_replay(depot_source, order_line):
    sheet = (
        "order,line,status,time,site,clerk\n"
        "SO-1000001,10,PICKED,2026-11-02 08:00,lyon,ana\n"
        "SO-1000001,10,KITTED,2026-11-02 09:00,lyon,ana\n"
    )

    message = _process(_receive(depot_source, sheet))

    assert message.state == MessageState.QUARANTINED
    assert "unknown status code 'KITTED'" in message.last_error
    assert message.parsed["unknown_code"] == {"code": "KITTED", "qualifier": ""}
    assert OrderLine.objects.get(pk=order_line.pk).status == "received"  # nothing half-applied

    StatusMapping.objects.create(source=depot_source, external_code="KITTED", status="awaiting_kitting")
    assert inbound_messages_replay(message_ids=[message.pk]) == 1
    message = _process(message)

    assert message.state == MessageState.PROCESSED
    assert OrderLine.objects.get(pk=order_line.pk).status == "awaiting_kitting"


def test_mapping_versions_apply_by_the_time_of_the_fact(depot_source, order_line):
    cutover = timezone.now() - timedelta(days=1)
    StatusMapping.objects.filter(source=depot_source, external_code="PACKED").update(valid_until=cutover)
    StatusMapping.objects.create(
        source=depot_source, external_code="PACKED", status="shipped", version=2, valid_from=cutover
    )
    before = (cutover - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    after = (cutover + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")

    _process(_receive(depot_source, f"order,line,status,time,site,clerk\nSO-1000001,10,PACKED,{before},x,y\n"))
    assert OrderLine.objects.get(pk=order_line.pk).status == "packed"
    _process(_receive(depot_source, f"order,line,status,time,site,clerk\nSO-1000001,10,PACKED,{after},x,y\n"))
    assert OrderLine.objects.get(pk=order_line.pk).status == "shipped"


def test_status_for_a_line_not_yet_known_is_retried_then_dead(canonical_source, settings):
    settings.INBOUND_MAX_ATTEMPTS = 2
    document = {
        "statuses": [{"order": "SO-404", "line": "10", "status": "shipped", "occurred_at": "2026-11-02T09:00:00Z"}]
    }
    message = _process(_receive(canonical_source, document))

    assert message.state == MessageState.RETRYING
    assert message.next_attempt_at > timezone.now()
    assert "no line matches SO-404/10" in message.last_error
    assert _process(message).attempts == 1  # not before its time

    message = _process(message, now=message.next_attempt_at)
    assert message.state == MessageState.DEAD
    assert message.last_error.startswith("gave up after 2 attempts")


def test_sweep_takes_over_messages_whose_task_was_lost(canonical_source, order_line, settings):
    # given a message stored while no worker ever got its task
    settings.INBOUND_SWEEP_AFTER_SECONDS = 0
    document = {
        "statuses": [
            {"order": "SO-1000001", "line": "10", "status": "allocated", "occurred_at": "2026-11-02T09:00:00Z"}
        ]
    }
    message = _receive(canonical_source, document)
    assert message.state == MessageState.RECEIVED

    # when the periodic sweep runs
    assert inbound_sweep() == 1

    # then it is processed, once
    message.refresh_from_db()
    assert message.state == MessageState.PROCESSED
    assert inbound_sweep() == 0
    assert StatusEvent.objects.filter(line=order_line, to_status="allocated").count() == 1


def test_processing_a_processed_message_again_changes_nothing(canonical_source, order_line):
    document = {
        "statuses": [{"order": "SO-1000001", "line": "10", "status": "packed", "occurred_at": "2026-11-02T09:00:00Z"}]
    }
    message = _process(_receive(canonical_source, document))
    events = StatusEvent.objects.count()

    assert inbound_message_process(message_id=message.pk) is None
    assert StatusEvent.objects.count() == events


def test_same_fact_from_two_different_messages_is_one_event(canonical_source, order_line):
    fact = {"order": "SO-1000001", "line": "10", "status": "picking", "occurred_at": "2026-11-02T09:00:00Z"}

    _process(_receive(canonical_source, {"message_id": "a", "statuses": [fact]}))
    _process(_receive(canonical_source, {"message_id": "b", "statuses": [fact]}))

    assert StatusEvent.objects.filter(line=order_line, to_status="picking").count() == 1


@pytest.mark.parametrize(
    ("policy", "rest_status"),
    [(ShipPolicy.PARTIAL_BACKORDER, "awaiting_part"), (ShipPolicy.PARTIAL_CANCEL, "cancelled")],
)
def test_partial_confirmation_splits_the_line_by_ship_policy(canonical_source, order_line, policy, rest_status):
    Order.objects.filter(pk=order_line.order_id).update(ship_policy=policy)
    document = {
        "statuses": [
            {
                "order": "SO-1000001",
                "line": "10",
                "status": "shipped",
                "quantity": 3,
                "occurred_at": "2026-11-02T09:00:00Z",
            }
        ]
    }

    _process(_receive(canonical_source, document))

    children = {child.number: (child.quantity, child.status) for child in OrderLine.objects.filter(parent=order_line)}
    assert children == {"10.1": (3, "shipped"), "10.2": (2, rest_status)}


def test_partial_confirmation_on_a_ship_complete_order_moves_the_whole_line(canonical_source, order_line):
    Order.objects.filter(pk=order_line.order_id).update(ship_policy=ShipPolicy.SHIP_COMPLETE)
    document = {
        "statuses": [
            {
                "order": "SO-1000001",
                "line": "10",
                "status": "picking",
                "quantity": 3,
                "occurred_at": "2026-11-02T09:00:00Z",
            }
        ]
    }

    _process(_receive(canonical_source, document))

    line = OrderLine.objects.get(pk=order_line.pk)
    assert (line.is_split, line.status) == (False, "picking")


def test_invalid_upsert_is_dead_with_the_field_named(canonical_source):
    document = {
        "orders": [
            {
                "number": "SO-9",
                "account": {"number": "NEW"},
                "lines": [{"number": "10", "part": {"number": "P"}, "quantity": 1}],
            }
        ]
    }

    message = _process(_receive(canonical_source, document))

    assert message.state == MessageState.DEAD
    assert message.last_error.startswith("account: Account NEW is new")


def test_dry_run_shows_outcomes_and_changes_nothing(canonical_source, order_line):
    document = json.dumps(
        {
            "statuses": [
                {"order": "SO-1000001", "line": "10", "status": "shipped", "occurred_at": "2026-11-02T09:00:00Z"}
            ]
        }
    )

    outcomes, error = inbound_dry_run(source=canonical_source, raw=document)

    assert error == ""
    assert [(o.line, o.from_status, o.status, o.outcome) for o in outcomes] == [
        (str(order_line), "received", "shipped", EventOutcome.APPLIED)
    ]
    assert OrderLine.objects.get(pk=order_line.pk).status == "received"
    assert not InboundMessage.objects.exists()
    assert not StatusEvent.objects.filter(line=order_line).exclude(kind="start").exists()


def test_dry_run_reports_why_a_message_would_fail(depot_source):
    outcomes, error = inbound_dry_run(source=depot_source, raw="order,line\n1,2\n")

    assert outcomes == []
    assert "missing column(s): status, time;" in error


def test_replay_command_queues_dead_letters_of_a_source(
    canonical_source, order_line, capsys, django_capture_on_commit_callbacks
):
    message = _process(_receive(canonical_source, "not json"))
    assert message.state == MessageState.DEAD

    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay", "--dead", "--source", "crm-json")

    message.refresh_from_db()
    assert message.state == MessageState.DEAD  # processed again at once (eager) and still broken
    assert message.attempts == 1
    assert "Queued 1 message(s) again." in capsys.readouterr().out


def test_create_source_command_creates_and_rotates_the_secret(capsys):
    from integrations.models import SourceSystem

    call_command("create_source", "sap-emea", "--format", "sap_idoc_xml", "--secret", "first-secret-0123456789")
    call_command("create_source", "sap-emea", "--format", "sap_idoc_xml", "--secret", "second-secret-012345678")

    source = SourceSystem.objects.get(code="sap-emea")
    assert source.valid_secrets() == ["second-secret-012345678", "first-secret-0123456789"]
    assert "Webhook: POST /api/v1/inbound/sap-emea/" in capsys.readouterr().out


def test_a_batch_applies_plain_messages_together_and_the_rest_one_by_one(depot_source, canonical_source):
    from integrations.services.processing import inbound_batch_process
    from tests.factories import OrderLineFactory

    lines = [OrderLineFactory(order__number=f"SO-30000{i}", number="10", quantity=2) for i in range(4)]
    plain = [
        _receive(depot_source, f"order,line,status,time,site,clerk\nSO-30000{i},10,PACKED,2026-11-02 08:0{i},x,y\n")
        for i in range(3)
    ]
    unknown_code = _receive(depot_source, "order,line,status,time,site,clerk\nSO-300003,10,LOST,2026-11-02 08:00,x,y\n")
    unknown_line = _receive(depot_source, "order,line,status,time,site,clerk\nSO-999,10,PACKED,2026-11-02 08:00,x,y\n")
    partial = _receive(
        canonical_source,
        {
            "statuses": [
                {
                    "order": "SO-300003",
                    "line": "10",
                    "status": "shipped",
                    "quantity": 1,
                    "occurred_at": "2026-11-02T09:00:00Z",
                }
            ]
        },
    )

    processed = inbound_batch_process(limit=10)

    states = {message.pk: message.state for message in processed}
    assert [states[m.pk] for m in plain] == ["processed"] * 3
    assert (states[unknown_code.pk], states[unknown_line.pk], states[partial.pk]) == (
        "quarantined",
        "retrying",
        "processed",
    )
    assert [OrderLine.objects.get(pk=line.pk).status for line in lines[:3]] == ["packed"] * 3
    assert StatusEvent.objects.get(line=lines[0], to_status="packed").inbound_message_id == plain[0].pk
    assert sorted(OrderLine.objects.filter(parent=lines[3]).values_list("quantity", "status")) == [
        (1, "awaiting_part"),
        (1, "shipped"),
    ]
    assert all(InboundMessage.objects.get(pk=m.pk).attempts == 1 for m in [*plain, unknown_code, unknown_line, partial])
