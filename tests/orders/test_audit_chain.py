"""The audit chain over status events: append-only rows (in Python and, on PostgreSQL, in the
database), keyed hashes, tampering found, line status and suppressions checked, the command."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from orders.models import AuditAnchor, EventSuppression, StatusEvent
from orders.models.events import AppendOnlyError
from orders.services import Actor, SplitPart, apply_status_update, line_status_override, split_line
from orders.services.audit import audit_chain_anchor, audit_chain_check, audit_chain_verify
from tests.factories import OrderLineFactory
from tests.orders.audit_attacker import TABLES, chain_forge, tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def line_with_history(line, sap, t0, supervisor):
    """A line with five events: allocated, a stale release (its duplicate not recorded), held,
    overridden to picking (now), shipped (recorded late: its source time is before the override)."""
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
    tamper("UPDATE {events} SET reason_code = %s WHERE id = %s", ["customer_request", event.pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then exactly that event is reported as altered
    assert problems == [(3, "content altered (hash mismatch)")]


def test_an_event_deleted_from_the_middle_is_reported(line_with_history):
    # given the third of five events deleted in the database
    tamper("DELETE FROM {events} WHERE id = %s", [_event(line_with_history, 3).pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the gap is reported where it is
    assert (3, "missing (next row found is #4)") in problems
    assert (4, "does not link to the event before it") in problems


def test_the_last_event_deleted_is_reported(line_with_history):
    # given the last event deleted in the database, leaving a chain that is whole but short
    tamper("DELETE FROM {events} WHERE id = %s", [_event(line_with_history, 6).pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the line's own count of events gives it away
    assert problems == [(6, "missing (the line has recorded 6 events)")]


def test_only_the_tampered_line_is_reported(line_with_history, sap):
    # given a second, untouched line and an altered event on the first
    other = OrderLineFactory()
    apply_status_update(line_id=other.pk, status="packed", occurred_at=line_with_history.status_occurred_at, actor=sap)
    tamper("UPDATE {events} SET to_status = %s WHERE id = %s", ["delivered", _event(line_with_history, 5).pk])

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
    tamper("UPDATE {events} SET reason_text = %s WHERE id = %s", ["edited", _event(line_with_history, 2).pk])
    tamper("DELETE FROM {events} WHERE id = %s", [_event(line_with_history, 6).pk])
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
    tamper("UPDATE {events} SET reason_text = %s WHERE id = %s", ["edited", _event(line_with_history, 1).pk])
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


def test_events_are_chained_with_the_configured_key(line_with_history, settings):
    # given events written under the current audit key
    assert set(StatusEvent.objects.filter(line=line_with_history).values_list("key_id", flat=True)) == {
        settings.AUDIT_CHAIN_KEY_ID
    }

    # when the verifier holds a different secret under that key's id
    settings.AUDIT_CHAIN_KEYS = {settings.AUDIT_CHAIN_KEY_ID: b"not the key the events were signed with"}

    # then every event fails its HMAC: the hash depends on the secret, not only on the row
    assert [sequence for sequence, problem in _problems_of(line_with_history) if "altered" in problem] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_an_event_rewritten_with_its_chain_recomputed_is_reported(line_with_history, settings):
    # given an attacker who rewrites event #3 and recomputes the chain after it, with the key
    # id the rows name but without the secret
    def edit(event):
        if event.sequence == 3:
            event.reason_text = "nothing happened here"

    chain_forge(line_with_history, edit=edit, from_sequence=3, key_id=settings.AUDIT_CHAIN_KEY_ID)

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then every forged event is reported, from the rewritten one on
    assert problems == [(sequence, "content altered (hash mismatch)") for sequence in (3, 4, 5, 6)]


def test_an_event_rewritten_with_the_old_unkeyed_hash_is_reported(line_with_history):
    # given an attacker who rewrites event #3 and recomputes the chain from there with the
    # unkeyed SHA-256 older rows carry (they need no secret for it)
    def edit(event):
        if event.sequence == 3:
            event.to_status = "delivered"

    chain_forge(line_with_history, edit=edit, from_sequence=3)

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the downgrade is reported: unkeyed rows cannot follow keyed ones
    assert problems == [
        (sequence, "unkeyed hash after keyed events (the chain was rewritten)") for sequence in (3, 4, 5, 6)
    ]


def test_a_status_changed_without_an_event_is_reported(line_with_history):
    # given a line whose status is set in the database, no event written (the chain is whole)
    tamper("UPDATE {lines} SET status = %s WHERE id = %s", ["delivered", line_with_history.pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the line's status is reported against the one its last applied event gives
    assert problems == [(5, "the line's status “delivered” is not the “picking” its last applied event gives")]


def test_a_late_event_does_not_count_as_the_status(line, sap, t0):
    # given a line shipped, then a late fact recorded but not applied
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap)
    late = apply_status_update(line_id=line.pk, status="picking", occurred_at=t0 - timedelta(hours=1), actor=sap)
    assert late.outcome == "stale"

    # when the chain is verified
    # then the line's status is the applied one's and nothing is reported
    assert _problems_of(line) == []


def test_the_model_refuses_set_based_updates_and_deletes(line_with_history):
    # given recorded events
    events = StatusEvent.objects.filter(line=line_with_history)

    # when someone updates or deletes them through a queryset or the manager
    # then each is refused before it reaches the database
    with pytest.raises(AppendOnlyError):
        events.update(reason_text="nothing to see here")
    with pytest.raises(AppendOnlyError):
        StatusEvent.objects.update(reason_text="nothing to see here")
    with pytest.raises(AppendOnlyError):
        events.delete()
    event = events.get(sequence=2)
    event.reason_text = "nothing to see here"
    with pytest.raises(AppendOnlyError):
        StatusEvent.objects.bulk_update([event], ["reason_text"])
    assert events.count() == 6
    assert _event(line_with_history, 2).reason_text == ""


def test_suppressions_and_anchors_are_append_only_too(line_with_history, supervisor):
    # given an anchor and a suppression
    audit_chain_anchor(report=audit_chain_check())
    anchor = AuditAnchor.objects.get(line=line_with_history)
    suppression = EventSuppression.objects.create(
        event=_event(line_with_history, 3), suppressed_by=supervisor, reason_code="duplicate_event", reason_text="x"
    )

    # when either is changed or deleted through the model
    # then it is refused
    for row, queryset in (
        (suppression, EventSuppression.objects.all()),
        (anchor, AuditAnchor.objects.all()),
    ):
        with pytest.raises(AppendOnlyError):
            row.save()
        with pytest.raises(AppendOnlyError):
            row.delete()
        with pytest.raises(AppendOnlyError):
            queryset.update(pk=row.pk)
        with pytest.raises(AppendOnlyError):
            queryset.delete()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only triggers exist on PostgreSQL")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {events} SET reason_text = 'edited' WHERE line_id = %s",
        "DELETE FROM {events} WHERE line_id = %s AND sequence = 6",
        "UPDATE {suppressions} SET reason_text = 'edited' WHERE event_id IN (SELECT id FROM {events} WHERE line_id = %s)",
        "DELETE FROM {suppressions} WHERE event_id IN (SELECT id FROM {events} WHERE line_id = %s)",
        "UPDATE {anchors} SET head = '' WHERE line_id = %s",
        "DELETE FROM {anchors} WHERE line_id = %s",
    ],
)
def test_postgresql_refuses_updates_and_deletes_of_the_audit_tables(line_with_history, supervisor, statement):
    # given an event log with an anchor and a suppression
    audit_chain_anchor(report=audit_chain_check())
    EventSuppression.objects.create(
        event=_event(line_with_history, 3), suppressed_by=supervisor, reason_code="duplicate_event", reason_text="x"
    )
    quoted = {name: connection.ops.quote_name(table) for name, table in TABLES.items()}

    # when plain SQL, the way a person at a database console would, changes or deletes rows
    # then the database refuses it, whoever the user is
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(**quoted), [line_with_history.pk])
    assert StatusEvent.objects.filter(line=line_with_history).count() == 6
    assert not StatusEvent.objects.filter(line=line_with_history, reason_text="edited").exists()
    assert AuditAnchor.objects.filter(line=line_with_history).exclude(head="").count() == 1
    assert EventSuppression.objects.filter(event__line=line_with_history).exclude(reason_text="edited").count() == 1
