"""apply_status_update: skipped steps, duplicates, late facts, validation, event rows and history."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from orders.models import StatusEvent
from orders.services import Actor, LineIsSplit, Provenance, SplitPart, apply_status_update, split_line

pytestmark = pytest.mark.django_db


def test_a_line_can_skip_steps_of_the_path(line, sap, t0):
    # given a line just received
    # when the ERP's first message about it is the goods issue
    result = apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap)

    # then the line is shipped, straight from received
    assert result.outcome == "applied"
    assert (result.event.from_status, result.event.to_status) == ("received", "shipped")
    line.refresh_from_db()
    assert line.status == "shipped"
    assert line.status_occurred_at == t0


def test_the_same_fact_twice_is_recorded_once(line, sap, t0):
    # given a fact that has been applied
    first = apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0, actor=sap, fact_id="DLV-1")

    # when the source sends it again
    second = apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0, actor=sap, fact_id="DLV-1")

    # then it is recognised as a duplicate of the first event and nothing new is written
    assert second.outcome == "duplicate"
    assert not second.changed
    assert second.event.pk == first.event.pk
    assert StatusEvent.objects.filter(line=line).exclude(kind="start").count() == 1
    line.refresh_from_db()
    assert line.audit_sequence == 2  # its start, then the fact


def test_the_same_status_from_another_source_is_a_new_fact(line, sap, t0):
    # given a line allocated according to the ERP
    apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0, actor=sap)

    # when the warehouse system reports the same status at the same time
    result = apply_status_update(
        line_id=line.pk,
        status="allocated",
        occurred_at=t0,
        actor=Actor.integration("WMS"),
        provenance=Provenance(source_system="WMS"),
    )

    # then it is recorded as a confirmation, not swallowed as a duplicate
    assert result.outcome == "unchanged"
    assert StatusEvent.objects.filter(line=line).exclude(kind="start").count() == 2


def test_a_hold_older_than_the_current_status_is_recorded_as_stale(line, sap, t0):
    # given a line allocated at 10:00
    apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap)

    # when a hold that happened at 09:00 arrives late
    result = apply_status_update(line_id=line.pk, status="on_hold", occurred_at=t0 + timedelta(hours=1), actor=sap)

    # then it is kept for analytics but the line stays allocated
    assert result.outcome == "stale"
    assert result.event.applied_at is None
    line.refresh_from_db()
    assert line.status == "allocated"
    assert line.status_occurred_at == t0 + timedelta(hours=2)


def test_a_hold_newer_than_the_current_status_applies(line, sap, t0):
    # given a line allocated at 10:00
    apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap)

    # when a hold placed at 11:00 arrives
    result = apply_status_update(line_id=line.pk, status="on_hold", occurred_at=t0 + timedelta(hours=3), actor=sap)

    # then the line is on hold, remembering where it was held
    assert result.outcome == "applied"
    line.refresh_from_db()
    assert line.status == "on_hold"
    assert line.status_before_interruption == "allocated"


def test_a_backward_move_along_the_path_is_stale_however_recent(line, sap, t0):
    # given a shipped line
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap)

    # when a newer message says the part is being picked
    result = apply_status_update(line_id=line.pk, status="picking", occurred_at=t0 + timedelta(hours=5), actor=sap)

    # then the message is recorded as late and the line stays shipped
    assert result.outcome == "stale"
    line.refresh_from_db()
    assert line.status == "shipped"


def test_a_forward_fact_with_an_older_timestamp_still_applies(line, sap, t0):
    # given a line allocated at 10:00 by the ERP's clock
    apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap)

    # when the carrier reports it in transit at 09:00 by its own clock
    result = apply_status_update(
        line_id=line.pk, status="in_transit", occurred_at=t0 + timedelta(hours=1), actor=Actor.integration("DHL")
    )

    # then it applies: whatever two systems' clocks say, the part got at least that far
    assert result.outcome == "applied"
    line.refresh_from_db()
    assert line.status == "in_transit"
    # and its status time is the source time of the fact behind the status: the carrier's
    assert line.status_occurred_at == t0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "occurred_at", "field"),
    [
        ("allocated", datetime(2026, 11, 2, 8, 0), "occurred_at"),
        ("teleported", None, "status"),
        ("received", None, "status"),
    ],
    ids=["naive-datetime", "unknown-status", "received"],
)
def test_an_invalid_fact_is_refused_naming_the_field(line, sap, t0, status, occurred_at, field):
    # given a line
    # when a fact with a naive time, an unknown status or the status "received" arrives
    with pytest.raises(ValidationError) as raised:
        apply_status_update(line_id=line.pk, status=status, occurred_at=occurred_at or t0, actor=sap)

    # then the error names the field at fault and nothing is recorded
    assert list(raised.value.message_dict) == [field]
    assert not StatusEvent.objects.filter(line=line).exclude(kind="start").exists()


def test_a_split_line_refuses_status_facts(line, sap, t0):
    # given a line split into two children
    split_line(line_id=line.pk, parts=[SplitPart(quantity=4)], actor=Actor.system("test"))
    events_before = StatusEvent.objects.filter(line=line).exclude(kind="start").count()

    # when a fact about the parent arrives
    with pytest.raises(LineIsSplit) as raised:
        apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap)

    # then it is refused: facts belong to the children
    assert "split" in str(raised.value)
    assert StatusEvent.objects.filter(line=line).exclude(kind="start").count() == events_before
    line.refresh_from_db()
    assert line.status == "received"


def test_an_applied_event_records_who_where_why_and_when(line, t0):
    # given a fact from an inbound ERP message with a reason
    received_at = t0 + timedelta(minutes=7)

    # when it is applied
    result = apply_status_update(
        line_id=line.pk,
        status="on_hold",
        occurred_at=t0,
        received_at=received_at,
        actor=Actor.integration("SAP-ERP"),
        provenance=Provenance(
            source_system="SAP-ERP", inbound_message_id=4711, reason_code="credit", reason_text="Credit limit"
        ),
    )

    # then the event row carries all of it
    event = StatusEvent.objects.get(pk=result.event.pk)
    assert event.line_id == line.pk
    assert event.order_id == line.order_id
    assert (event.from_status, event.to_status, event.outcome) == ("received", "on_hold", "applied")
    assert (event.actor_kind, event.actor_label, event.actor_user) == ("integration", "SAP-ERP", None)
    assert event.source_system == "SAP-ERP"
    assert event.inbound_message_id == 4711
    assert (event.reason_code, event.reason_text) == ("credit", "Credit limit")
    assert event.occurred_at == t0
    assert event.received_at == received_at
    assert event.applied_at is not None
    assert event.applied_at >= received_at


def test_an_event_from_a_person_records_the_user(line, supervisor, t0):
    # given a technician's confirmation on site, entered by a signed-in person
    # when it is applied
    result = apply_status_update(line_id=line.pk, status="verified", occurred_at=t0, actor=Actor.person(supervisor))

    # then the event names the person
    event = StatusEvent.objects.get(pk=result.event.pk)
    assert (event.actor_kind, event.actor_label, event.actor_user) == ("user", "supervisor", supervisor)


def test_history_gets_a_row_for_a_change_and_none_for_a_stale_fact(line, sap, t0):
    # given a line with its creation in history
    assert line.history.count() == 1

    # when a fact moves it on
    apply_status_update(line_id=line.pk, status="packed", occurred_at=t0, actor=sap)

    # then history records the new status
    assert line.history.count() == 2
    assert line.history.first().status == "packed"

    # when a late fact about an earlier step arrives
    result = apply_status_update(line_id=line.pk, status="picking", occurred_at=t0 - timedelta(hours=1), actor=sap)

    # then it is an event but not a change worth a history row
    assert result.outcome == "stale"
    assert line.history.count() == 2
