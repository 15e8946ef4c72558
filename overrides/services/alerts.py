"""Stale-status alerts: opened once per breach of a rule, escalated up the ladder until someone
acknowledges them, resolved when the line leaves the status (in the transaction of the change
that ends it, through the core's status-change hook; the scan catches anything else)."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import OrderLine
from orders.publication import Topic
from orders.scoping import lines_visible_to
from orders.services.locking import order_lock_for_line
from orders.services.outbox import outbox_publish
from overrides.live import backoffice_nudge
from overrides.models import EscalationStep, StaleAlert, StaleStatusRule

# Lines read per query when opening alerts: a rule may match tens of thousands of lines.
CHUNK_SIZE = 500


@dataclass(frozen=True)
class ScanResult:
    opened: int = 0
    escalated: int = 0
    resolved: int = 0


def stale_alerts_scan(*, now: datetime | None = None) -> ScanResult:
    """Resolve alerts whose line moved on, escalate overdue ones, open one per new breach.

    Safe to run concurrently and as often as wanted: an alert is opened once per breach (the
    unique constraint one_alert_per_breach), and an escalation once per due time.
    """
    now = now or timezone.now()
    steps = list(EscalationStep.objects.select_related("assignee_group").order_by("level"))
    resolved = _alerts_resolve_moved_on(now=now)
    escalated = _alerts_escalate_overdue(steps=steps, now=now)
    first_step = next((step for step in steps if step.level == 1), None)
    opened = sum(
        _alerts_open_for_rule(rule=rule, first_step=first_step, now=now)
        for rule in StaleStatusRule.objects.filter(active=True).order_by("pk")
    )
    return ScanResult(opened=opened, escalated=escalated, resolved=resolved)


def stale_alert_acknowledge(*, alert_id: int, user, now: datetime | None = None) -> StaleAlert:
    """Someone has taken the alert: it escalates no further. An alert on a line out of the
    user's scope does not exist for them. Acknowledging twice keeps the first acknowledgement."""
    if not user.has_perm("overrides.change_stalealert"):
        raise PermissionDenied(_("You do not have the right to do this."))
    now = now or timezone.now()
    with transaction.atomic():
        alert = StaleAlert.objects.select_for_update().filter(line__in=lines_visible_to(user)).get(pk=alert_id)
        if alert.acknowledged_at is None:
            alert.acknowledged_by = user
            alert.acknowledged_at = now
            alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
            backoffice_nudge(line_ids=[alert.line_id])
        return alert


def _breaching_lines(*, rule: StaleStatusRule, now: datetime) -> QuerySet[OrderLine]:
    """Leaf lines of real orders that have been in the rule's status too long and have no alert
    for this stay in it yet."""
    # How long the part has been in the status by the source's clock (the time a source said
    # so, not when we heard it: a history imported late is still stale).
    lines = OrderLine.objects.filter(
        is_split=False,
        status=rule.status,
        status_occurred_at__lte=now - rule.threshold,
        order__is_test=False,
    )
    if rule.criticality:
        lines = lines.filter(part__criticality=rule.criticality)
    if rule.region_id is not None:
        lines = lines.filter(order__region_id=rule.region_id)
    already_alerted = StaleAlert.objects.filter(
        line=OuterRef("pk"), rule=rule, status_since=OuterRef("status_occurred_at")
    )
    return lines.exclude(Exists(already_alerted))


def _alerts_open_for_rule(*, rule: StaleStatusRule, first_step: EscalationStep | None, now: datetime) -> int:
    breaching = _breaching_lines(rule=rule, now=now)
    line_ids = list(breaching.order_by("pk").values_list("pk", flat=True))
    opened = 0
    for start in range(0, len(line_ids), CHUNK_SIZE):
        # The breach condition is applied again: a line may have moved on since the ids were read.
        chunk = breaching.filter(pk__in=line_ids[start : start + CHUNK_SIZE]).select_related("order", "part")
        for line in chunk.order_by("pk"):
            opened += _alert_open(rule=rule, line=line, first_step=first_step, now=now)
    return opened


def _alert_open(*, rule: StaleStatusRule, line: OrderLine, first_step: EscalationStep | None, now: datetime) -> bool:
    try:
        with transaction.atomic():
            # The core's lock order (the order, then its lines), then the breach judged again on
            # the locked line: a change committed since the scan read it has resolved nothing yet
            # (no alert existed), so opening one now would leave it open on a line that moved on.
            try:
                current = order_lock_for_line(line_id=line.pk).lines[line.pk]
            except OrderLine.DoesNotExist:
                return False
            if not _still_breaching(current, rule=rule, now=now):
                return False
            alert = StaleAlert.objects.create(
                line=line,
                rule=rule,
                status=current.status,
                status_since=current.status_occurred_at,
                opened_at=now,
                level=1,
                assignee_group=first_step.assignee_group if first_step else None,
                due_at=now + first_step.response_time if first_step else None,
            )
            outbox_publish(topic=Topic.ALERT_OPENED, order=line.order, payload=_alert_payload(alert, line))
    except IntegrityError:
        return False  # a concurrent scan opened the alert for this breach first
    return True


def _still_breaching(line: OrderLine, *, rule: StaleStatusRule, now: datetime) -> bool:
    return (
        not line.is_split
        and line.status == rule.status
        and line.status_occurred_at is not None
        and line.status_occurred_at <= now - rule.threshold
    )


def _alerts_escalate_overdue(*, steps: list[EscalationStep], now: datetime) -> int:
    """Move each open, unacknowledged, overdue alert one rung up. At the top rung it stays."""
    if not steps:
        return 0
    with transaction.atomic():
        # Locked rows are being escalated by a concurrent scan: skip them.
        overdue = list(
            StaleAlert.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                resolved_at__isnull=True,
                acknowledged_at__isnull=True,
                due_at__lte=now,
                level__lt=steps[-1].level,
            )
            .select_related("line__order", "line__part")
            .order_by("pk")
        )
        for alert in overdue:
            step = next(step for step in steps if step.level > alert.level)
            alert.level = step.level
            alert.assignee_group = step.assignee_group
            alert.due_at = now + step.response_time
        StaleAlert.objects.bulk_update(overdue, ["level", "assignee_group", "due_at"])
        for alert in overdue:
            payload = _alert_payload(alert, alert.line)
            outbox_publish(topic=Topic.ALERT_ESCALATED, order=alert.line.order, payload=payload)
    return len(overdue)


def stale_alerts_resolve_for_lines(lines: list[OrderLine], *, now: datetime | None = None) -> int:
    """Resolve the open alerts of `lines` whose line has left the alert's status (or was split):
    called by the core in the transaction that writes the change (orders.publication hook), so
    it runs on every status change: one plain statement per moment (usually one), built without
    the ORM's query compiler, which cost more than the rest of the change."""
    # Resolved at the time the change was written (the line's own clock of it): a split at the
    # split's save, a status change when the status changed.
    by_time: dict[datetime, list[int]] = {}
    for line in lines:
        moment = now or (line.updated_at if line.is_split else line.status_changed_at) or timezone.now()
        by_time.setdefault(moment, []).append(line.pk)
    resolved = 0
    with connection.cursor() as cursor:
        for moment, line_ids in by_time.items():
            cursor.execute(
                _RESOLVE_MOVED_ON_SQL.format(ids=", ".join(["%s"] * len(line_ids))),
                [connection.ops.adapt_datetimefield_value(moment), *line_ids],
            )
            resolved += cursor.rowcount
    return resolved


# The same condition as _MOVED_ON below, as one UPDATE for the lines of one change.
_RESOLVE_MOVED_ON_SQL = (
    "UPDATE overrides_stalealert SET resolved_at = %s "
    "WHERE resolved_at IS NULL AND line_id IN ({ids}) AND EXISTS ("
    "SELECT 1 FROM orders_orderline line WHERE line.id = overrides_stalealert.line_id AND ("
    "line.status <> overrides_stalealert.status "
    "OR line.status_occurred_at IS DISTINCT FROM overrides_stalealert.status_since "
    "OR line.is_split))"
)


# The line has left the status the alert was raised for (a later return to it is a new breach
# with a new alert), or was split (its status is its children's now).
_MOVED_ON = ~Q(line__status=F("status")) | ~Q(line__status_occurred_at=F("status_since")) | Q(line__is_split=True)


def _alerts_resolve_moved_on(*, now: datetime) -> int:
    return StaleAlert.objects.filter(resolved_at__isnull=True).filter(_MOVED_ON).update(resolved_at=now)


def _alert_payload(alert: StaleAlert, line: OrderLine) -> dict:
    return {
        "alert_id": alert.pk,
        "rule_id": alert.rule_id,
        "order_id": line.order_id,
        "order_number": line.order.number,
        "line_id": line.pk,
        "line_number": line.number,
        "criticality": line.part.criticality,
        "status": alert.status,
        "status_since": alert.status_since.isoformat(),
        "level": alert.level,
        "assignee_group_id": alert.assignee_group_id,
        "due_at": alert.due_at.isoformat() if alert.due_at else None,
        "is_test": line.order.is_test,
    }
