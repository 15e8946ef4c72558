"""Stale-status alerts: opened once per breach, escalated up the ladder on time, stopped by an
acknowledgement, resolved when the line moves on."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from guardian.shortcuts import assign_perm

from orders.models import OutboxEvent
from orders.publication import Topic
from orders.services import Actor, SplitPart, split_line
from overrides.models import EscalationStep, StaleAlert, StaleStatusRule
from overrides.services.alerts import stale_alert_acknowledge, stale_alerts_scan
from overrides.tasks import stale_alerts_scan_task
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db

THRESHOLD = timedelta(hours=2)


@pytest.fixture
def ladder(db):
    """Planners answer within 30 minutes, then supervisors within an hour, then admins."""
    return [
        EscalationStep.objects.create(
            level=level, assignee_group=Group.objects.get(name=role), response_time=timedelta(minutes=minutes)
        )
        for level, role, minutes in ((1, "planner", 30), (2, "supervisor", 60), (3, "admin", 120))
    ]


@pytest.fixture
def rule(db):
    """Any line allocated for more than two hours, whatever its part and region."""
    return StaleStatusRule.objects.create(status="allocated", threshold=THRESHOLD)


@pytest.fixture
def nordics(db):
    return RegionFactory(code="nordics", name="Nordics")


@pytest.fixture
def planner(db, line):
    """A planner working on the orders of the region of `line`."""
    user = UserFactory(username="planner")
    user.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_in_region", user, line.order.region)
    return user


@pytest.fixture
def nordics_planner(db, nordics):
    """A planner working on the Nordics only."""
    user = UserFactory(username="nordics-planner")
    user.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_in_region", user, nordics)
    return user


@pytest.fixture
def allocated(line, advance):
    """`line`, allocated; the breach of the two-hour rule starts at `since + THRESHOLD`."""
    advance(line, "allocated")
    return line


def _outbox(topic: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic=topic).order_by("pk"))


def test_a_line_past_the_threshold_gets_one_alert_however_often_the_scan_runs(allocated, rule, ladder):
    # given a line allocated for exactly two hours
    breach = allocated.status_occurred_at + THRESHOLD

    # when the scan runs twice
    first = stale_alerts_scan(now=breach)
    second = stale_alerts_scan(now=breach + timedelta(minutes=1))

    # then one alert is open, at level 1 for the planners, due in 30 minutes
    assert (first.opened, second.opened) == (1, 0)
    alert = StaleAlert.objects.get()
    assert (alert.line, alert.rule, alert.status, alert.status_since) == (
        allocated,
        rule,
        "allocated",
        allocated.status_occurred_at,
    )
    assert (alert.level, alert.assignee_group.name, alert.due_at) == (1, "planner", breach + timedelta(minutes=30))
    assert (alert.opened_at, alert.acknowledged_at, alert.resolved_at) == (breach, None, None)
    # and it is published once, for notifications to act on
    [published] = _outbox(Topic.ALERT_OPENED)
    assert published.order == allocated.order
    assert published.payload["alert_id"] == alert.pk
    assert (published.payload["line_id"], published.payload["level"]) == (allocated.pk, 1)


def test_a_line_not_yet_past_the_threshold_has_no_alert(allocated, rule, ladder):
    # given a line allocated for a second less than two hours
    now = allocated.status_occurred_at + THRESHOLD - timedelta(seconds=1)

    # when the scan runs
    result = stale_alerts_scan(now=now)

    # then nothing opens
    assert result.opened == 0
    assert not StaleAlert.objects.exists()
    assert not _outbox(Topic.ALERT_OPENED)


def test_without_an_escalation_ladder_the_alert_opens_unassigned(allocated, rule):
    # given no escalation steps
    # when the line breaches the rule
    stale_alerts_scan(now=allocated.status_occurred_at + THRESHOLD)

    # then the alert is open at level 1 with no one assigned and nothing due
    alert = StaleAlert.objects.get()
    assert (alert.level, alert.assignee_group, alert.due_at) == (1, None, None)


def test_a_rule_for_a_criticality_ignores_parts_of_another(rule, advance):
    # given a rule for A parts, and an allocated A part and B part
    StaleStatusRule.objects.filter(pk=rule.pk).update(criticality="A")
    a_part = OrderLineFactory(part__criticality="A")
    b_part = OrderLineFactory(part__criticality="B")
    advance(a_part, "allocated")
    advance(b_part, "allocated")

    # when both have been allocated long enough
    stale_alerts_scan(now=b_part.status_occurred_at + THRESHOLD)

    # then only the A part has an alert
    assert [alert.line for alert in StaleAlert.objects.all()] == [a_part]


def test_a_rule_for_a_region_ignores_orders_of_another(rule, advance, nordics):
    # given a rule for the Nordics, and allocated lines in the Nordics and in EMEA
    StaleStatusRule.objects.filter(pk=rule.pk).update(region=nordics)
    nordic = OrderLineFactory(order__region=nordics)
    emea = OrderLineFactory()
    advance(nordic, "allocated")
    advance(emea, "allocated")

    # when both have been allocated long enough
    stale_alerts_scan(now=emea.status_occurred_at + THRESHOLD)

    # then only the Nordic line has an alert
    assert [alert.line for alert in StaleAlert.objects.all()] == [nordic]


def test_test_orders_never_alert(rule, advance):
    # given an allocated line on a training order
    training = OrderLineFactory(order__is_test=True)
    advance(training, "allocated")

    # when it has been allocated long enough
    result = stale_alerts_scan(now=training.status_occurred_at + THRESHOLD)

    # then no alert opens
    assert result.opened == 0
    assert not StaleAlert.objects.exists()


def test_a_split_line_alerts_through_its_children_only(rule, advance):
    # given a line of 3 split 1 + 2, both children allocated (so the parent shows allocated too)
    parent = OrderLineFactory(quantity=3)
    first, rest = split_line(line_id=parent.pk, parts=[SplitPart(quantity=1)], actor=Actor.system("test"))
    advance(first, "allocated")
    advance(rest, "allocated")
    parent.refresh_from_db()
    assert parent.status == "allocated"

    # when they have been allocated long enough
    stale_alerts_scan(now=rest.status_occurred_at + THRESHOLD)

    # then the children have alerts, the parent none
    assert {alert.line for alert in StaleAlert.objects.all()} == {first, rest}


def test_an_alert_climbs_the_ladder_on_time_and_stays_at_the_top(allocated, rule, ladder):
    # given an alert opened at level 1, due in 30 minutes
    opened = allocated.status_occurred_at + THRESHOLD
    stale_alerts_scan(now=opened)

    def level_after_scan_at(now):
        stale_alerts_scan(now=now)
        alert = StaleAlert.objects.select_related("assignee_group").get()
        return alert.level, alert.assignee_group.name, alert.due_at

    # when nobody acknowledges it, then it moves up exactly when each response time runs out
    level_2_at = opened + timedelta(minutes=30)
    level_3_at = level_2_at + timedelta(minutes=60)
    assert level_after_scan_at(level_2_at - timedelta(seconds=1)) == (1, "planner", level_2_at)
    assert level_after_scan_at(level_2_at) == (2, "supervisor", level_3_at)
    assert level_after_scan_at(level_3_at - timedelta(seconds=1)) == (2, "supervisor", level_3_at)
    assert level_after_scan_at(level_3_at) == (3, "admin", level_3_at + timedelta(minutes=120))
    # and at the top it stays, published no more
    assert level_after_scan_at(level_3_at + timedelta(days=1)) == (3, "admin", level_3_at + timedelta(minutes=120))
    assert [event.payload["level"] for event in _outbox(Topic.ALERT_ESCALATED)] == [2, 3]
    assert [event.payload["assignee_group_id"] for event in _outbox(Topic.ALERT_ESCALATED)] == [
        ladder[1].assignee_group_id,
        ladder[2].assignee_group_id,
    ]


def test_an_acknowledged_alert_escalates_no_further(allocated, rule, ladder, planner):
    # given an open alert at level 1
    opened = allocated.status_occurred_at + THRESHOLD
    stale_alerts_scan(now=opened)
    alert = StaleAlert.objects.get()

    # when a planner of the line's region acknowledges it, and its response time runs out
    stale_alert_acknowledge(alert_id=alert.pk, user=planner, now=opened + timedelta(minutes=5))
    result = stale_alerts_scan(now=opened + timedelta(hours=5))

    # then it stays at level 1 with the planner named, and nothing is published
    alert.refresh_from_db()
    assert result.escalated == 0
    assert (alert.level, alert.acknowledged_by, alert.acknowledged_at) == (1, planner, opened + timedelta(minutes=5))
    assert not _outbox(Topic.ALERT_ESCALATED)


def test_acknowledging_twice_keeps_the_first_acknowledgement(allocated, rule, planner):
    # given an alert acknowledged by a planner
    opened = allocated.status_occurred_at + THRESHOLD
    stale_alerts_scan(now=opened)
    alert = StaleAlert.objects.get()
    stale_alert_acknowledge(alert_id=alert.pk, user=planner, now=opened + timedelta(minutes=5))

    # when it is acknowledged again
    stale_alert_acknowledge(alert_id=alert.pk, user=planner, now=opened + timedelta(minutes=9))

    # then the first time counts
    alert.refresh_from_db()
    assert alert.acknowledged_at == opened + timedelta(minutes=5)


def test_an_alert_on_a_line_out_of_scope_does_not_exist_for_the_user(allocated, rule, nordics_planner):
    # given an alert on an EMEA line, and a planner working on the Nordics only
    stale_alerts_scan(now=allocated.status_occurred_at + THRESHOLD)
    alert = StaleAlert.objects.get()

    # when the Nordic planner acknowledges it, then it does not exist for them
    with pytest.raises(StaleAlert.DoesNotExist):
        stale_alert_acknowledge(alert_id=alert.pk, user=nordics_planner)

    # and it is still unacknowledged
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledging_needs_the_permission(allocated, rule, outsider):
    # given an open alert, and a person without the right to change alerts
    stale_alerts_scan(now=allocated.status_occurred_at + THRESHOLD)
    alert = StaleAlert.objects.get()

    # when that person acknowledges it, then it is refused
    with pytest.raises(PermissionDenied):
        stale_alert_acknowledge(alert_id=alert.pk, user=outsider)


def test_an_alert_resolves_when_the_line_moves_on(allocated, rule, ladder, advance):
    # given an open alert on an allocated line
    opened = allocated.status_occurred_at + THRESHOLD
    stale_alerts_scan(now=opened)

    # when the warehouse starts picking
    before = timezone.now()
    advance(allocated, "picking")

    # then the alert is resolved with that change (not at the next scan), and escalates no more
    alert = StaleAlert.objects.get()
    allocated.refresh_from_db()
    assert alert.resolved_at == allocated.status_changed_at >= before
    assert stale_alerts_scan(now=opened + timedelta(minutes=10)).resolved == 0
    stale_alerts_scan(now=opened + timedelta(hours=5))
    alert.refresh_from_db()
    assert alert.level == 1
    assert not _outbox(Topic.ALERT_ESCALATED)


def test_moving_back_into_the_status_is_a_new_breach_with_a_new_alert(allocated, rule, ladder, advance):
    # given an alert on an allocated line, resolved when the line was put on hold
    first_since = allocated.status_occurred_at
    stale_alerts_scan(now=first_since + THRESHOLD)
    advance(allocated, "on_hold")
    stale_alerts_scan(now=first_since + THRESHOLD + timedelta(minutes=1))

    # when the hold is lifted (allocated again) and the line stays there too long once more
    advance(allocated, "allocated")
    second_since = allocated.status_occurred_at
    result = stale_alerts_scan(now=second_since + THRESHOLD)

    # then a second alert opens for the new stay in the status
    assert result.opened == 1
    first, second = StaleAlert.objects.order_by("opened_at")
    assert (first.status_since, first.resolved_at is not None) == (first_since, True)
    assert (second.status_since, second.resolved_at, second.level) == (second_since, None, 1)
    assert len(_outbox(Topic.ALERT_OPENED)) == 2


def test_a_line_that_left_and_came_back_between_two_scans_is_a_new_breach(allocated, rule, advance):
    # given an open alert on an allocated line
    first_since = allocated.status_occurred_at
    opened = first_since + THRESHOLD
    stale_alerts_scan(now=opened)

    # when the line is put on hold and allocated again before the next scan (moments later)
    advance(allocated, "on_hold", "allocated")
    second_since = allocated.status_occurred_at
    result = stale_alerts_scan(now=second_since + THRESHOLD)

    # then the alert of the first stay was resolved by the hold, and the second stay has its own
    assert (result.resolved, result.opened) == (0, 1)
    first, second = StaleAlert.objects.order_by("status_since")
    assert first.status_since == first_since and first.resolved_at is not None
    assert (second.status_since, second.resolved_at) == (second_since, None)


def test_a_scan_over_many_alerted_lines_reads_them_in_a_few_queries(
    rule, ladder, advance, django_assert_max_num_queries
):
    # given 30 allocated lines that already have their alerts
    lines = [OrderLineFactory() for _ in range(30)]
    for line in lines:
        advance(line, "allocated")
    now = lines[-1].status_occurred_at + THRESHOLD
    assert stale_alerts_scan(now=now).opened == 30

    # when the scan runs again, then its number of queries does not grow with the lines
    with django_assert_max_num_queries(8):
        result = stale_alerts_scan(now=now + timedelta(minutes=1))
    assert result.opened == 0


def test_the_scan_runs_every_minute(allocated, rule):
    # given a line past a rule's threshold by the clock of the scheduler
    StaleStatusRule.objects.filter(pk=rule.pk).update(threshold=timedelta(0))

    # when the periodic task runs
    result = stale_alerts_scan_task.delay().get()

    # then it opened the alert; and the scheduler runs it every minute
    assert result == {"opened": 1, "escalated": 0, "resolved": 0}
    assert StaleAlert.objects.filter(line=allocated).exists()
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == stale_alerts_scan_task.name)
    assert entry["schedule"] == 60.0
