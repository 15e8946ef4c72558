"""Discrepancy cases: opened once per disagreement, owned, escalated, resolved."""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from orders.models import ActorKind, EventOutcome, OrderLine, StatusEvent
from orders.publication import Topic
from orders.scoping import lines_visible_to
from orders.services.outbox import outbox_publish
from orders.status import PATH, RANK, LineStatus
from overrides.live import backoffice_nudge
from overrides.models import Discrepancy, DiscrepancyRule
from overrides.texts import coded, discrepancy_summary_text


def discrepancy_open(
    *,
    kind: str,
    line: OrderLine,
    summary: str | dict,
    evidence: list[StatusEvent],
    fingerprint: str,
    rule=None,
    now=None,
) -> Discrepancy | None:
    """Open a case unless one with the same fingerprint exists (then None). `summary` is a coded
    text (overrides.texts.coded: shown in the reader's language) or, from a person, plain text."""
    now = now or timezone.now()
    code, params = (summary["code"], summary["params"]) if isinstance(summary, dict) else ("", {})
    if code:
        with translation.override(settings.LANGUAGE_CODE):
            summary = discrepancy_summary_text(code, params, "")
    try:
        with transaction.atomic():
            discrepancy = Discrepancy.objects.create(
                kind=kind,
                line=line,
                rule=rule,
                summary=summary[:300],
                summary_code=code,
                summary_params=params,
                opened_at=now,
                due_at=now + timedelta(minutes=settings.DISCREPANCY_RESPONSE_MINUTES),
                fingerprint=_digest(fingerprint),
            )
            discrepancy.evidence.set(evidence)
            outbox_publish(
                topic=Topic.DISCREPANCY_OPENED,
                order=line.order,
                payload={
                    "discrepancy_id": discrepancy.pk,
                    "kind": kind,
                    "order_id": line.order_id,
                    "line_id": line.pk,
                    "summary": discrepancy.summary,
                    "summary_code": discrepancy.summary_code,
                    "summary_params": discrepancy.summary_params,
                },
            )
    except IntegrityError:
        return None
    return discrepancy


def discrepancy_open_for_contested_override(*, line_id: int, event_id: int, held_status: str) -> Discrepancy | None:
    event = StatusEvent.objects.select_related("line__order").get(pk=event_id)
    return discrepancy_open(
        kind=Discrepancy.Kind.OVERRIDE_CONTESTED,
        line=event.line,
        summary=coded(
            "override_contested",
            source=event.source_system or event.actor_label,
            status=event.to_status,
            held=held_status,
        ),
        evidence=[event],
        fingerprint=f"contested:{line_id}:{event_id}",
    )


def discrepancy_take(*, discrepancy_id: int, user) -> Discrepancy:
    """The user owns the case from now on (out of scope: it does not exist for them)."""
    with transaction.atomic():
        discrepancy = _open_case_for(user, discrepancy_id)
        discrepancy.owner = user
        discrepancy.save(update_fields=["owner"])
        backoffice_nudge(line_ids=[discrepancy.line_id])
        return discrepancy


def discrepancy_resolve(*, discrepancy_id: int, user, resolution: str, override=None) -> Discrepancy:
    """Close the case with what was done about it (and the override it led to, if any)."""
    with transaction.atomic():
        # The case first: one out of scope does not exist, whatever the form says.
        discrepancy = _open_case_for(user, discrepancy_id)
        if not resolution.strip():
            raise ValidationError({"resolution": _("Say how the discrepancy was resolved.")})
        discrepancy.resolved_at = timezone.now()
        discrepancy.resolved_by = user
        discrepancy.resolution = resolution
        discrepancy.override = override
        discrepancy.save(update_fields=["resolved_at", "resolved_by", "resolution", "override"])
        backoffice_nudge(line_ids=[discrepancy.line_id])
        return discrepancy


def _open_case_for(user, discrepancy_id: int) -> Discrepancy:
    if not user.has_perm("overrides.change_discrepancy"):
        raise PermissionDenied(_("You do not have the right to do this."))
    discrepancy = (
        Discrepancy.objects.select_for_update(of=("self",))
        .filter(line__in=lines_visible_to(user))
        .get(pk=discrepancy_id)
    )
    if discrepancy.resolved_at is not None:
        raise ValidationError({"resolution": _("This discrepancy is already resolved.")})
    return discrepancy


def discrepancies_scan(*, now: datetime | None = None) -> int:
    """Escalate overdue cases, then open one for each line whose leading source has been ahead
    of its ledger source for longer than the rule's grace period. Returns how many were opened.

    Safe to run again and concurrently: a disagreement has a fingerprint (rule, line, leading
    event) and is opened once; an escalation happens once per due time.
    """
    now = now or timezone.now()
    _discrepancies_escalate_overdue(now=now)
    rules = DiscrepancyRule.objects.filter(active=True).order_by("pk")
    return sum(_sources_disagree_open(rule=rule, now=now) for rule in rules)


CLOSED_STATUSES = (LineStatus.DELIVERED, LineStatus.VERIFIED, LineStatus.CANCELLED, LineStatus.RETURNED)


def _sources_disagree_open(*, rule: DiscrepancyRule, now: datetime) -> int:
    reached = _statuses_at_or_beyond(rule.status)
    # Only source facts count: an override's reference is recorded as its source_system too.
    leading = StatusEvent.objects.filter(
        line=OuterRef("pk"),
        actor_kind=ActorKind.INTEGRATION,
        source_system=rule.leading_source,
        to_status__in=reached,
        occurred_at__lte=now - rule.grace,
    ).exclude(outcome=EventOutcome.REJECTED)
    ledger = StatusEvent.objects.filter(
        line=OuterRef("pk"), actor_kind=ActorKind.INTEGRATION, source_system=rule.ledger_source
    )
    case_open = Discrepancy.objects.filter(line=OuterRef("pk"), rule=rule, resolved_at__isnull=True)
    candidates = list(
        # Lines that reached the customer or left the path are history, not work for today.
        OrderLine.objects.filter(order__is_test=False)
        .exclude(status__in=CLOSED_STATUSES)
        .filter(Exists(leading))
        .exclude(Exists(ledger.filter(to_status__in=reached)))
        .exclude(Exists(case_open))
        .annotate(
            # The first time the leading source got there: the same event on every run.
            leading_event_id=Subquery(leading.order_by("occurred_at", "pk").values("pk")[:1]),
            ledger_event_id=Subquery(ledger.order_by("-occurred_at", "-pk").values("pk")[:1]),
        )
        .order_by("pk")
        .values_list("pk", "leading_event_id", "ledger_event_id")
    )
    fingerprints = {
        line_id: f"sources:{rule.pk}:{line_id}:{leading_id}" for line_id, leading_id, _ledger_id in candidates
    }
    known = set(
        Discrepancy.objects.filter(fingerprint__in=[_digest(f) for f in fingerprints.values()]).values_list(
            "fingerprint", flat=True
        )
    )
    new = [row for row in candidates if _digest(fingerprints[row[0]]) not in known]
    if not new:
        return 0
    lines = OrderLine.objects.select_related("order").in_bulk([row[0] for row in new])
    events = StatusEvent.objects.in_bulk([event_id for row in new for event_id in row[1:] if event_id is not None])
    opened = 0
    for line_id, leading_id, ledger_id in new:
        leading_event, ledger_event = events[leading_id], events.get(ledger_id)
        discrepancy = discrepancy_open(
            kind=Discrepancy.Kind.SOURCES_DISAGREE,
            line=lines[line_id],
            rule=rule,
            summary=_sources_disagree_summary(rule=rule, leading_event=leading_event, ledger_event=ledger_event),
            evidence=[event for event in (leading_event, ledger_event) if event is not None],
            fingerprint=fingerprints[line_id],
            now=now,
        )
        opened += discrepancy is not None
    return opened


def _sources_disagree_summary(
    *, rule: DiscrepancyRule, leading_event: StatusEvent, ledger_event: StatusEvent | None
) -> dict:
    if ledger_event is None:
        return coded(
            "ledger_silent", leading=rule.leading_source, reported=leading_event.to_status, ledger=rule.ledger_source
        )
    return coded(
        "ledger_behind",
        leading=rule.leading_source,
        reported=leading_event.to_status,
        ledger=rule.ledger_source,
        current=ledger_event.to_status,
    )


def _discrepancies_escalate_overdue(*, now: datetime) -> int:
    """One level up per due time. A single conditional UPDATE: a concurrent run finds the due
    time already moved on and escalates nothing twice."""
    return Discrepancy.objects.filter(resolved_at__isnull=True, due_at__lte=now).update(
        level=F("level") + 1, due_at=now + timedelta(minutes=settings.DISCREPANCY_RESPONSE_MINUTES)
    )


def _statuses_at_or_beyond(status: str) -> list[str]:
    """Path statuses at or beyond `status`; a status off the path (a hold, a cancellation) only
    matches itself."""
    if status not in RANK:
        return [status]
    return [step for step in PATH if RANK[step] >= RANK[status]]


def _digest(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()
