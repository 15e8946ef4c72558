"""Discrepancies: a warehouse ahead of the ERP past the grace period opens one case with its
evidence; overdue cases escalate; a source contradicting a held override opens a case too."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from orders.services import Actor, Provenance, apply_status_update, line_status_override
from overrides.models import Discrepancy, DiscrepancyRule
from overrides.services.discrepancies import discrepancies_scan, discrepancy_resolve
from overrides.tasks import discrepancies_scan_task
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db

GRACE = timedelta(minutes=30)


@pytest.fixture(autouse=True)
def response_time(settings):
    settings.DISCREPANCY_RESPONSE_MINUTES = 60


@pytest.fixture
def rule(db):
    return DiscrepancyRule.objects.create(
        name="EWM ships before SAP posts goods issue",
        leading_source="EWM-RTM",
        ledger_source="SAP-ERP",
        status="shipped",
        grace=GRACE,
    )


@pytest.fixture
def report():
    """A status fact from a source system, as the integrations record it."""

    def report(line, status: str, *, source: str, at):
        return apply_status_update(
            line_id=line.pk,
            status=status,
            occurred_at=at,
            actor=Actor.integration(source),
            provenance=Provenance(source_system=source),
        ).event

    return report


@pytest.fixture
def warehouse_ahead(line, report, t0):
    """SAP released the line at t0; EWM reported it shipped at t0 + 10 minutes.
    Returns (SAP's event, EWM's event)."""
    released = report(line, "released", source="SAP-ERP", at=t0)
    shipped = report(line, "shipped", source="EWM-RTM", at=t0 + timedelta(minutes=10))
    return released, shipped


def test_a_warehouse_ahead_of_the_erp_past_the_grace_period_opens_one_case(line, rule, warehouse_ahead, t0):
    # given EWM said shipped at t0 + 10 minutes while SAP still says released
    released, shipped = warehouse_ahead
    now = t0 + timedelta(minutes=10) + GRACE

    # when the scan runs at the end of the grace period
    opened = discrepancies_scan(now=now)

    # then one case is open, with both sources' last word as evidence, due in an hour
    assert opened == 1
    case = Discrepancy.objects.get()
    assert (case.kind, case.line, case.rule, case.level) == ("sources", line, rule, 1)
    assert case.summary == "EWM-RTM says shipped; SAP-ERP still says released"
    assert set(case.evidence.all()) == {shipped, released}
    assert (case.opened_at, case.due_at, case.resolved_at) == (now, now + timedelta(minutes=60), None)


def test_within_the_grace_period_nothing_opens(line, rule, warehouse_ahead, t0):
    # given EWM said shipped at t0 + 10 minutes while SAP still says released
    # when the scan runs a second before the grace period ends
    opened = discrepancies_scan(now=t0 + timedelta(minutes=10) + GRACE - timedelta(seconds=1))

    # then nothing opens
    assert opened == 0
    assert not Discrepancy.objects.exists()


def test_scanning_again_opens_nothing_new(line, rule, warehouse_ahead, report, t0):
    # given a case opened for EWM's shipment
    now = t0 + timedelta(minutes=10) + GRACE
    discrepancies_scan(now=now)

    # when EWM adds that the part is in transit, and the scan runs again later
    report(line, "in_transit", source="EWM-RTM", at=t0 + timedelta(minutes=20))
    opened = [discrepancies_scan(now=now + timedelta(minutes=minutes)) for minutes in (5, 40)]

    # then still one case
    assert opened == [0, 0]
    assert Discrepancy.objects.count() == 1


def test_a_resolved_case_is_not_opened_again_for_the_same_report(line, rule, warehouse_ahead, t0, supervisor):
    # given a case opened for EWM's shipment and resolved by a supervisor
    now = t0 + timedelta(minutes=10) + GRACE
    discrepancies_scan(now=now)
    discrepancy_resolve(
        discrepancy_id=Discrepancy.objects.get().pk, user=supervisor, resolution="SAP posts goods issue tonight."
    )

    # when the scan runs again
    opened = discrepancies_scan(now=now + timedelta(minutes=5))

    # then nothing new opens
    assert opened == 0
    assert Discrepancy.objects.count() == 1


def test_no_case_when_the_erp_has_caught_up(line, rule, warehouse_ahead, report, t0):
    # given EWM said shipped, and SAP posted goods issue five minutes later
    report(line, "shipped", source="SAP-ERP", at=t0 + timedelta(minutes=15))

    # when the scan runs after the grace period
    opened = discrepancies_scan(now=t0 + timedelta(hours=2))

    # then the sources agree: nothing opens
    assert opened == 0
    assert not Discrepancy.objects.exists()


def test_no_case_when_the_erp_has_moved_beyond_the_status(line, rule, warehouse_ahead, report, t0):
    # given EWM said shipped, and SAP reports the part in transit (its goods issue lost)
    report(line, "in_transit", source="SAP-ERP", at=t0 + timedelta(minutes=15))

    # when the scan runs after the grace period, then nothing opens
    assert discrepancies_scan(now=t0 + timedelta(hours=2)) == 0


def test_an_erp_that_never_reported_the_line_is_named_as_silent(line, rule, report, t0):
    # given EWM said shipped, and SAP has said nothing about the line
    shipped = report(line, "shipped", source="EWM-RTM", at=t0)

    # when the scan runs after the grace period
    discrepancies_scan(now=t0 + GRACE)

    # then the case shows the warehouse's report alone
    case = Discrepancy.objects.get()
    assert case.summary == "EWM-RTM says shipped; SAP-ERP has reported nothing for this line"
    assert list(case.evidence.all()) == [shipped]


def test_a_rejected_report_of_the_warehouse_opens_nothing(line, rule, report, t0):
    # given a cancelled line, and EWM reporting it shipped afterwards (rejected: not a legal move)
    report(line, "cancelled", source="SAP-ERP", at=t0)
    shipped = report(line, "shipped", source="EWM-RTM", at=t0 + timedelta(minutes=1))
    assert shipped.outcome == "rejected"

    # when the scan runs after the grace period, then nothing opens
    assert discrepancies_scan(now=t0 + timedelta(hours=1)) == 0


def test_an_override_is_not_a_report_of_the_warehouse(line, rule, advance, supervisor, t0):
    # given a supervisor set a packed line to shipped, quoting the warehouse's name as reference
    advance(line, "packed")
    line_status_override(
        line_id=line.pk,
        status="shipped",
        actor=Actor.person(supervisor),
        reason_code="lost_message",
        reason_text="The carrier collected the part; the warehouse message was lost.",
        reference="EWM-RTM",
        occurred_at=t0 + timedelta(minutes=10),
    )

    # when the scan runs after the grace period, then nothing opens: no source said it
    assert discrepancies_scan(now=t0 + timedelta(hours=1)) == 0


def test_test_orders_open_no_case(rule, report, t0):
    # given a training order's line that EWM reported shipped, SAP released
    training = OrderLineFactory(order__is_test=True)
    report(training, "released", source="SAP-ERP", at=t0)
    report(training, "shipped", source="EWM-RTM", at=t0 + timedelta(minutes=1))

    # when the scan runs after the grace period, then nothing opens
    assert discrepancies_scan(now=t0 + timedelta(hours=1)) == 0


def test_an_inactive_rule_opens_nothing(line, rule, warehouse_ahead, t0):
    # given the rule is switched off
    DiscrepancyRule.objects.filter(pk=rule.pk).update(active=False)

    # when the scan runs after the grace period, then nothing opens
    assert discrepancies_scan(now=t0 + timedelta(hours=1)) == 0


def test_an_overdue_case_escalates_once_per_due_time(line, rule, warehouse_ahead, t0):
    # given a case opened at `opened`, due an hour later
    opened = t0 + timedelta(minutes=10) + GRACE
    discrepancies_scan(now=opened)
    first_due = opened + timedelta(minutes=60)

    def level_and_due_after_scan_at(now):
        discrepancies_scan(now=now)
        case = Discrepancy.objects.get()
        return case.level, case.due_at

    # when nobody resolves it, then it moves up a level each time it falls due, and not before
    assert level_and_due_after_scan_at(first_due - timedelta(seconds=1)) == (1, first_due)
    assert level_and_due_after_scan_at(first_due) == (2, first_due + timedelta(minutes=60))
    assert level_and_due_after_scan_at(first_due + timedelta(minutes=5)) == (2, first_due + timedelta(minutes=60))
    second_due = first_due + timedelta(minutes=60)
    assert level_and_due_after_scan_at(second_due) == (3, second_due + timedelta(minutes=60))


def test_a_resolved_case_does_not_escalate(line, rule, warehouse_ahead, t0, supervisor):
    # given a case resolved before it fell due
    opened = t0 + timedelta(minutes=10) + GRACE
    discrepancies_scan(now=opened)
    case = Discrepancy.objects.get()
    discrepancy_resolve(discrepancy_id=case.pk, user=supervisor, resolution="Goods issue posted by hand.")

    # when the scan runs long after its due time
    discrepancies_scan(now=opened + timedelta(days=1))

    # then it stays at level 1
    case.refresh_from_db()
    assert case.level == 1


def test_a_source_contradicting_a_held_override_opens_a_case(
    line, advance, supervisor, report, t0, django_capture_on_commit_callbacks
):
    # given a packed line a supervisor set to shipped, held until a source confirms
    advance(line, "packed")
    line_status_override(
        line_id=line.pk,
        status="shipped",
        actor=Actor.person(supervisor),
        reason_code="lost_message",
        reason_text="The carrier collected the part; the goods issue message was lost.",
        occurred_at=t0 + timedelta(minutes=30),
        hold_until_source_confirms=True,
    )

    # when SAP puts the line on hold afterwards, and the change is delivered to the back office
    with django_capture_on_commit_callbacks(execute=True):
        on_hold = report(line, "on_hold", source="SAP-ERP", at=t0 + timedelta(minutes=40))

    # then the line keeps the override, and a case shows SAP's report as evidence
    assert on_hold.outcome == "contested"
    line.refresh_from_db()
    assert (line.status, line.held_status) == ("shipped", "shipped")
    case = Discrepancy.objects.get()
    assert (case.kind, case.line) == ("contested", line)
    assert case.summary == "SAP-ERP reports On hold; an override holds Shipped"
    assert list(case.evidence.all()) == [on_hold]


def test_the_scan_runs_every_five_minutes(line, rule, report):
    # given EWM said shipped two hours ago by the clock of the scheduler; SAP said nothing
    report(line, "shipped", source="EWM-RTM", at=timezone.now() - timedelta(hours=2))

    # when the periodic task runs
    opened = discrepancies_scan_task.delay().get()

    # then it opened the case; and the scheduler runs it every five minutes
    assert opened == 1
    assert Discrepancy.objects.filter(line=line).exists()
    entry = next(e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == discrepancies_scan_task.name)
    assert entry["schedule"] == 300.0
