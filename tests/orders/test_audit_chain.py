"""The audit hash chain over status events: append-only rows, tampering found, the check command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from orders.models import StatusEvent
from orders.models.events import AppendOnlyError
from orders.services import Actor, SplitPart, apply_status_update, line_status_override, split_line
from orders.services.audit import audit_chain_verify
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def line_with_history(line, sap, t0, supervisor):
    """A line with five events: allocated, a stale release (its duplicate not recorded), held,
    overridden to picking, shipped."""
    apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0, actor=sap)
    apply_status_update(line_id=line.pk, status="allocated", occurred_at=t0, actor=sap)
    apply_status_update(line_id=line.pk, status="released", occurred_at=t0 - timedelta(hours=1), actor=sap)
    apply_status_update(line_id=line.pk, status="on_hold", occurred_at=t0 + timedelta(hours=1), actor=sap)
    line_status_override(
        line_id=line.pk,
        status="picking",
        actor=Actor.person(supervisor),
        reason_code="release_hold",
        reason_text="Credit cleared by phone.",
    )
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0 + timedelta(hours=3), actor=sap)
    line.refresh_from_db()
    assert line.audit_sequence == StatusEvent.objects.filter(line=line).count() == 6  # its start, then five facts
    return line


def _event(line, sequence: int) -> StatusEvent:
    return StatusEvent.objects.get(line=line, sequence=sequence)


def _raw_sql(sql: str, params: list) -> None:
    table = connection.ops.quote_name(StatusEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), params)


def _problems_of(line) -> list[tuple[int, str]]:
    return [(problem.sequence, problem.problem) for problem in audit_chain_verify() if problem.line_id == line.pk]


def test_an_untouched_chain_verifies_clean(line_with_history, sap):
    # given lines with applied, stale, held, overridden, split and rolled-up events
    other = OrderLineFactory(quantity=3)
    children = split_line(line_id=other.pk, parts=[SplitPart(quantity=1)], actor=Actor.system("test"))
    apply_status_update(
        line_id=children[0].pk, status="on_hold", occurred_at=line_with_history.status_occurred_at, actor=sap
    )

    # when the chain is verified
    # then nothing is reported
    assert audit_chain_verify() == []


def test_a_saved_event_cannot_be_changed_or_deleted_through_the_model(line_with_history):
    # given a recorded event
    event = _event(line_with_history, 2)

    # when someone edits and saves it, or deletes it
    event.reason_text = "nothing to see here"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()

    # then the row is as it was
    assert _event(line_with_history, 2).reason_text == ""


def test_an_event_edited_in_the_database_is_reported(line_with_history):
    # given an event changed behind the application's back
    event = _event(line_with_history, 3)
    _raw_sql("UPDATE {table} SET reason_code = %s WHERE id = %s", ["customer_request", event.pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then exactly that event is reported as altered
    assert problems == [(3, "content altered (hash mismatch)")]


def test_an_event_deleted_from_the_middle_is_reported(line_with_history):
    # given the third of five events deleted in the database
    _raw_sql("DELETE FROM {table} WHERE id = %s", [_event(line_with_history, 3).pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the gap is reported where it is
    assert (3, "missing (next row found is #4)") in problems
    assert (4, "does not link to the event before it") in problems


def test_the_last_event_deleted_is_reported(line_with_history):
    # given the last event deleted in the database, leaving a chain that is whole but short
    _raw_sql("DELETE FROM {table} WHERE id = %s", [_event(line_with_history, 6).pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the line's own count of events gives it away
    assert problems == [(6, "missing (the line has recorded 6 events)")]


def test_only_the_tampered_line_is_reported(line_with_history, sap):
    # given a second, untouched line and an altered event on the first
    other = OrderLineFactory()
    apply_status_update(line_id=other.pk, status="packed", occurred_at=line_with_history.status_occurred_at, actor=sap)
    _raw_sql("UPDATE {table} SET to_status = %s WHERE id = %s", ["delivered", _event(line_with_history, 5).pk])

    # when the chain is verified
    problems = audit_chain_verify()

    # then only the first line is named
    assert {problem.line_id for problem in problems} == {line_with_history.pk}


def test_the_command_exits_cleanly_on_an_untouched_chain(line_with_history):
    # given an untouched chain
    out = StringIO()

    # when the command runs
    call_command("verify_audit_chain", stdout=out)

    # then it says so
    assert "Audit chain intact" in out.getvalue()


def test_the_command_prints_every_problem_and_fails(line_with_history):
    # given an altered event and a deleted last event
    _raw_sql("UPDATE {table} SET reason_text = %s WHERE id = %s", ["edited", _event(line_with_history, 2).pk])
    _raw_sql("DELETE FROM {table} WHERE id = %s", [_event(line_with_history, 6).pk])
    out = StringIO()

    # when the command runs
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit_chain", stdout=out)

    # then it prints both problems and exits with an error
    printed = out.getvalue()
    assert f"line {line_with_history.pk} event #2: content altered (hash mismatch)" in printed
    assert f"line {line_with_history.pk} event #6: missing (the line has recorded 6 events)" in printed
    assert "2 problems" in str(raised.value)


def test_the_command_checks_only_the_lines_given(line_with_history, sap):
    # given a tampered line and two untouched ones
    untouched = [OrderLineFactory(), OrderLineFactory()]
    for other in untouched:
        apply_status_update(
            line_id=other.pk, status="released", occurred_at=line_with_history.status_occurred_at, actor=sap
        )
    _raw_sql("UPDATE {table} SET reason_text = %s WHERE id = %s", ["edited", _event(line_with_history, 1).pk])
    out = StringIO()

    # when the command checks the untouched lines only
    call_command("verify_audit_chain", "--line", str(untouched[0].pk), "--line", str(untouched[1].pk), stdout=out)

    # then it passes, having checked both
    assert "intact for 2 lines" in out.getvalue()

    # when it checks the tampered line
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", "--line", str(line_with_history.pk), stdout=StringIO())


def test_the_command_refuses_an_unknown_line(line_with_history):
    # given no line 987654321
    # when the command is asked to check it
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit_chain", "--line", "987654321", stdout=StringIO())

    # then it says so rather than reporting a clean chain
    assert "987654321" in str(raised.value)
