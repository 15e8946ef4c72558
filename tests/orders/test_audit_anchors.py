"""Tamper evidence beyond the event tables: anchors and the signed daily digest, suppressions
backed by approved requests, key rotation, unkeyed rows from before keying, scheduled alerts."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError

from config.celery import app as celery_app
from orders.models import AuditAnchor, EventSuppression, OutboxEvent, StatusEvent
from orders.publication import Topic
from orders.services import Actor, apply_status_update, line_status_override, status_event_suppress
from orders.services.audit import audit_chain_anchor, audit_chain_check, audit_chain_verify
from orders.tasks import audit_chain_verify_task
from overrides.models import OverrideRequest
from overrides.services.requests import (
    override_request_approve,
    override_request_reject,
    override_suppression_create,
)
from tests.factories import OrderLineFactory, UserFactory
from tests.orders.audit_attacker import chain_forge, chain_truncate, tamper

pytestmark = pytest.mark.django_db

DAY_ONE = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def line_with_history(line, sap, t0):
    """A line with six events: its start, allocated, picking, packed, shipped, then delivered."""
    for hours, status in enumerate(["allocated", "picking", "packed", "shipped", "delivered"]):
        apply_status_update(line_id=line.pk, status=status, occurred_at=t0 + timedelta(hours=hours), actor=sap)
    line.refresh_from_db()
    assert line.audit_sequence == 6 and line.status == "delivered"
    return line


def _anchor_all(now: datetime = DAY_ONE) -> int:
    return audit_chain_anchor(report=audit_chain_check(), now=now)


def _problems_of(line) -> list[tuple[int, str]]:
    return [(problem.sequence, problem.problem) for problem in audit_chain_verify() if problem.line_id == line.pk]


def _digest_files(directory) -> list[str]:
    return sorted(path.name for path in directory.glob("audit-digest-*.json"))


def test_a_clean_check_anchors_every_line_once_and_writes_the_days_digest(line_with_history, audit_anchor_dir):
    # given two lines with intact chains
    other = OrderLineFactory()

    # when the verifier anchors them, twice the same day
    first = _anchor_all()
    second = _anchor_all(DAY_ONE + timedelta(hours=1))

    # then each line's head is anchored once, and one signed digest names both heads
    assert (first, second) == (2, 0)
    assert set(AuditAnchor.objects.values_list("line_id", "sequence")) == {(line_with_history.pk, 6), (other.pk, 1)}
    assert _digest_files(audit_anchor_dir) == ["audit-digest-2026-11-03.json"]
    digest = json.loads((audit_anchor_dir / "audit-digest-2026-11-03.json").read_text())
    assert [line_with_history.pk, 6, line_with_history.audit_head] in digest["lines"]
    assert digest["signature"]
    assert audit_chain_verify() == []


def test_a_new_head_is_anchored_again(line_with_history, sap, t0):
    # given an anchored line that then moves on
    _anchor_all()
    apply_status_update(line_id=line_with_history.pk, status="verified", occurred_at=t0 + timedelta(hours=9), actor=sap)

    # when the verifier anchors again
    anchored = _anchor_all(DAY_ONE + timedelta(days=1))

    # then the new head has its anchor beside the old one
    assert anchored == 1
    assert list(AuditAnchor.objects.filter(line=line_with_history).values_list("sequence", flat=True)) == [6, 7]


def test_events_truncated_with_the_head_reset_are_reported_by_the_anchor(line_with_history):
    # given an anchored line whose last two events are deleted, with its head, count and status
    # reset to match: a whole, shorter, validly keyed chain
    _anchor_all()
    chain_truncate(line_with_history, keep=4)

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the anchor no longer reached gives it away, and so does the digest file
    assert problems == [
        (6, "the chain no longer reaches its anchor of 2026-11-03T02:00:00+00:00"),
        (6, "the chain no longer reaches the digest of 2026-11-03"),
    ]


def test_events_truncated_with_the_anchors_deleted_are_reported_by_the_digest(line_with_history, audit_anchor_dir):
    # given an anchored line truncated as above, its anchor rows deleted too
    _anchor_all()
    chain_truncate(line_with_history, keep=4)
    tamper("DELETE FROM {anchors} WHERE line_id = %s", [line_with_history.pk])

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then the digest file, outside the database, still knows how far the chain reached
    assert problems == [(6, "the chain no longer reaches the digest of 2026-11-03")]


def test_a_broken_line_keeps_its_digest_entry_on_the_next_run(line_with_history, audit_anchor_dir):
    # given the truncation and anchor deletion above, found by a run that anchors again the next day
    _anchor_all()
    chain_truncate(line_with_history, keep=4)
    tamper("DELETE FROM {anchors} WHERE line_id = %s", [line_with_history.pk])
    _anchor_all(DAY_ONE + timedelta(days=1))

    # when the chain is verified after that run
    problems = _problems_of(line_with_history)

    # then the newer digest carried the old entry over: the break is still reported
    assert _digest_files(audit_anchor_dir) == ["audit-digest-2026-11-03.json", "audit-digest-2026-11-04.json"]
    assert problems == [(6, "the chain no longer reaches the digest of 2026-11-04")]
    assert not AuditAnchor.objects.filter(line=line_with_history).exists()


def test_a_whole_chain_rewritten_unkeyed_after_anchoring_is_reported(line_with_history):
    # given an anchored line whose every event is rewritten and rechained with the unkeyed hash
    _anchor_all()

    def edit(event):
        if event.sequence == 3:
            event.reason_text = "never picked"

    chain_forge(line_with_history, edit=edit)

    # when the chain is verified
    problems = _problems_of(line_with_history)

    # then rows the anchor did not see unkeyed are refused, and the anchor is not reached
    assert (1, "unkeyed hash written after the chain was anchored") not in problems
    assert (6, "the chain no longer reaches its anchor of 2026-11-03T02:00:00+00:00") in problems


def test_a_forged_anchor_is_reported(line_with_history):
    # given an anchor row inserted by someone without the key
    AuditAnchor.objects.create(
        line=line_with_history,
        sequence=6,
        head=line_with_history.audit_head,
        anchored_at=DAY_ONE,
        key_id="k0",
        signature="0" * 64,
    )

    # when the chain is verified
    # then the anchor is reported as not signed
    assert _problems_of(line_with_history) == [(6, "its anchor is not signed with a configured audit key")]


def test_an_edited_digest_file_is_reported(line_with_history, audit_anchor_dir):
    # given a digest file edited after it was written
    _anchor_all()
    path = audit_anchor_dir / "audit-digest-2026-11-03.json"
    digest = json.loads(path.read_text())
    digest["lines"] = [entry for entry in digest["lines"] if entry[0] != line_with_history.pk]
    path.write_text(json.dumps(digest))

    # when the chain is verified
    problems = [str(problem) for problem in audit_chain_verify()]

    # then the file is reported, and no later run writes over it
    assert problems == ["digest file audit-digest-2026-11-03.json is not signed with a configured audit key"]
    _anchor_all(DAY_ONE + timedelta(hours=1))
    assert json.loads(path.read_text()) == digest


def _planner():
    user = UserFactory(username="planner")
    user.groups.add(Group.objects.get(name="planner"))
    user.user_permissions.add(Permission.objects.get(codename="work_in_region"))
    return user


def _approver():
    user = UserFactory(username="approver")
    user.groups.add(Group.objects.get(name="supervisor"))
    user.user_permissions.add(Permission.objects.get(codename="work_in_region"))
    return user


def test_a_suppression_with_its_approved_request_verifies_clean(line_with_history):
    # given an event hidden through an override request a second person approved
    event = StatusEvent.objects.get(line=line_with_history, sequence=5)
    request = override_suppression_create(
        user=_planner(), event_id=event.pk, reason_code="duplicate_event", justification="Wrong delivery."
    )
    override_request_approve(request_id=request.pk, user=_approver(), note="Checked.")
    assert EventSuppression.objects.filter(event=event).exists()

    # when the chain is verified
    # then nothing is reported
    assert audit_chain_verify() == []


def test_an_inserted_suppression_is_reported(line_with_history, supervisor):
    # given a suppression row inserted in the database, no request behind it
    event = StatusEvent.objects.get(line=line_with_history, sequence=5)
    tamper(
        "INSERT INTO {suppressions} (event_id, suppressed_by_id, reason_code, reason_text, created_at) "
        "VALUES (%s, %s, 'duplicate_event', 'Never happened.', %s)",
        [event.pk, supervisor.pk, DAY_ONE],
    )

    # when the chain is verified
    # then the hidden event is reported
    assert _problems_of(line_with_history) == [(5, "hidden from customers without an approved request")]


def test_a_suppression_the_request_does_not_name_is_reported(line_with_history, supervisor):
    # given an approved request to hide event #5, and a suppression of #4 made directly through
    # the core with the same people
    planner, approver = _planner(), _approver()
    request = override_suppression_create(
        user=planner,
        event_id=StatusEvent.objects.get(line=line_with_history, sequence=5).pk,
        reason_code="duplicate_event",
        justification="Wrong delivery.",
    )
    override_request_approve(request_id=request.pk, user=approver, note="Checked.")
    status_event_suppress(
        event_id=StatusEvent.objects.get(line=line_with_history, sequence=4).pk,
        user=planner,
        approved_by=approver,
        reason_code="duplicate_event",
        reason_text="Riding along.",
    )

    # when the chain is verified
    # then only the suppression without its own request is reported
    assert _problems_of(line_with_history) == [(4, "hidden from customers without an approved request")]


def test_a_rejected_request_does_not_back_a_suppression(line_with_history):
    # given a suppression whose request was rejected, the row then inserted anyway
    planner, approver = _planner(), _approver()
    event = StatusEvent.objects.get(line=line_with_history, sequence=5)
    request = override_suppression_create(
        user=planner, event_id=event.pk, reason_code="duplicate_event", justification="Wrong delivery."
    )
    override_request_reject(request_id=request.pk, user=approver, note="Not a duplicate.")
    assert OverrideRequest.objects.get(pk=request.pk).state == OverrideRequest.State.REJECTED
    EventSuppression.objects.create(
        event=event, suppressed_by=planner, approved_by=approver, reason_code="duplicate_event", reason_text="x"
    )

    # when the chain is verified
    # then the suppression is reported
    assert _problems_of(line_with_history) == [(5, "hidden from customers without an approved request")]


def test_a_rotated_key_keeps_verifying_what_the_retired_key_signed(line_with_history, sap, t0, settings):
    # given events signed with the first key, then the key rotated with the first one retired
    first_id = settings.AUDIT_CHAIN_KEY_ID
    settings.AUDIT_CHAIN_KEYS = {**settings.AUDIT_CHAIN_KEYS, "k-second": b"the second audit key, from the vault"}
    settings.AUDIT_CHAIN_KEY_ID = "k-second"

    # when the line moves on and the chain is verified
    apply_status_update(line_id=line_with_history.pk, status="verified", occurred_at=t0 + timedelta(hours=9), actor=sap)

    # then old events verify with the retired key and the new one is signed with the new key
    assert audit_chain_verify() == []
    assert StatusEvent.objects.get(line=line_with_history, sequence=7).key_id == "k-second"

    # when the retired key is dropped from the settings too soon
    settings.AUDIT_CHAIN_KEYS = {"k-second": settings.AUDIT_CHAIN_KEYS["k-second"]}

    # then the events it signed are reported, not silently accepted
    problems = _problems_of(line_with_history)
    assert problems == [
        (sequence, f"signed with the key “{first_id}”, which is not configured") for sequence in range(1, 7)
    ]


def test_rows_written_before_keying_verify_unkeyed_and_are_counted(line_with_history):
    # given a line whose rows carry the unkeyed SHA-256 chain of before keying
    chain_forge(line_with_history)
    out = StringIO()

    # when the command checks it
    call_command("verify_audit_chain", stdout=out)

    # then it passes and says how many rows verified with the old hash
    printed = out.getvalue()
    assert "6 events were written before the chain was keyed and verify with their unkeyed hash." in printed
    assert "Audit chain intact for 1 line." in printed


def test_an_unkeyed_row_appended_after_anchoring_is_reported(line_with_history, sap, t0):
    # given a line of unkeyed rows from before keying, anchored, then one more unkeyed row
    # appended by someone without the key
    chain_forge(line_with_history)
    _anchor_all()
    apply_status_update(line_id=line_with_history.pk, status="verified", occurred_at=t0 + timedelta(hours=9), actor=sap)
    chain_forge(line_with_history, from_sequence=7)

    # when the chain is verified
    # then that row is reported
    assert _problems_of(line_with_history) == [(7, "unkeyed hash written after the chain was anchored")]


def test_the_command_anchors_when_asked(line_with_history, audit_anchor_dir):
    # given an intact chain
    out = StringIO()

    # when the command runs with --anchor
    call_command("verify_audit_chain", "--anchor", stdout=out)

    # then the line is anchored and today's digest written
    assert "1 line anchored." in out.getvalue()
    assert AuditAnchor.objects.filter(line=line_with_history, sequence=6).exists()
    assert len(_digest_files(audit_anchor_dir)) == 1


def test_the_command_fails_on_a_truncated_anchored_chain(line_with_history):
    # given an anchored chain cut short with its head reset
    call_command("verify_audit_chain", "--anchor", stdout=StringIO())
    chain_truncate(line_with_history, keep=2)
    out = StringIO()

    # when the command runs
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", stdout=out)

    # then it names the line
    assert f"line {line_with_history.pk} event #6: the chain no longer reaches its anchor" in out.getvalue()


def test_the_scheduled_check_anchors_and_stays_quiet_on_an_intact_chain(line_with_history):
    # given an intact chain
    # when the scheduled task runs
    problems = audit_chain_verify_task()

    # then it anchors the line and publishes nothing
    assert problems == 0
    assert AuditAnchor.objects.filter(line=line_with_history).exists()
    assert not OutboxEvent.objects.filter(topic=Topic.AUDIT_CHAIN_BROKEN).exists()


def test_the_scheduled_check_publishes_a_break_once(line_with_history):
    # given an anchored line, then a status set without an event on it
    audit_chain_verify_task()
    tamper("UPDATE {lines} SET status = %s WHERE id = %s", ["cancelled", line_with_history.pk])

    # when the scheduled task runs twice
    first = audit_chain_verify_task()
    second = audit_chain_verify_task()

    # then one alert names the line and the problem; the unchanged break is not alerted again
    assert first == second == 1
    (alert,) = OutboxEvent.objects.filter(topic=Topic.AUDIT_CHAIN_BROKEN)
    assert alert.payload["line_ids"] == [line_with_history.pk]
    assert alert.payload["problem_count"] == 1
    assert "“cancelled”" in alert.payload["problems"][0]


def test_a_further_break_is_published_again(line_with_history):
    # given a break already alerted
    tamper("UPDATE {lines} SET status = %s WHERE id = %s", ["cancelled", line_with_history.pk])
    audit_chain_verify_task()

    # when another line breaks and the task runs
    other = OrderLineFactory()
    tamper("UPDATE {lines} SET status = %s WHERE id = %s", ["released", other.pk])
    audit_chain_verify_task()

    # then a second alert names both lines
    alerts = list(OutboxEvent.objects.filter(topic=Topic.AUDIT_CHAIN_BROKEN).order_by("pk"))
    assert len(alerts) == 2
    assert alerts[1].payload["line_ids"] == sorted([line_with_history.pk, other.pk])


def test_the_scheduler_runs_the_check(settings):
    # given the settings' schedule
    entry = settings.CELERY_BEAT_SCHEDULE["audit-chain-verify"]

    # then it names the registered task
    assert entry["task"] == "orders.tasks.audit_chain_verify_task"
    assert entry["task"] in celery_app.tasks


def test_an_event_signed_with_a_retired_key_after_a_newer_one_is_reported(line_with_history, sap, t0, settings):
    # given a rotated key, the line moved on under the new key
    old_id = settings.AUDIT_CHAIN_KEY_ID
    settings.AUDIT_CHAIN_KEYS = {**settings.AUDIT_CHAIN_KEYS, "k-second": b"the second audit key, from the vault"}
    settings.AUDIT_CHAIN_KEY_ID = "k-second"
    apply_status_update(line_id=line_with_history.pk, status="verified", occurred_at=t0 + timedelta(hours=9), actor=sap)

    # when someone holding the old (leaked) key appends an event signed with it
    settings.AUDIT_CHAIN_KEY_ID = old_id
    line_status_override(
        line_id=line_with_history.pk,
        status="returned",
        actor=Actor.person(UserFactory(is_superuser=True)),
        reason_code="customer_return",
        reason_text="Sent back.",
    )
    settings.AUDIT_CHAIN_KEY_ID = "k-second"

    # then the event is reported
    assert _problems_of(line_with_history) == [(8, "signed with a key retired before the one of an earlier event")]


def test_a_line_deleted_with_its_events_is_reported_by_the_digest(line_with_history):
    # given an anchored line deleted from the database with its events and anchors
    _anchor_all()
    tamper("DELETE FROM {anchors} WHERE line_id = %s", [line_with_history.pk])
    tamper("DELETE FROM {events} WHERE line_id = %s", [line_with_history.pk])
    tamper("DELETE FROM {lines} WHERE id = %s", [line_with_history.pk])

    # when the chain is verified
    # then the digest still names it
    assert _problems_of(line_with_history) == [
        (6, "the line is in the digest of 2026-11-03 but no longer in the database")
    ]
