"""Reconciliation after an outage: re-read what a source sent in a time window, list the lines
where its latest word differs from the current status, and let a second person apply the fixes."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.adapters import AdapterError, ParsedStatus, adapter_for
from integrations.models import InboundMessage, SourceSystem
from integrations.services.lines import AmbiguousReference, LineNotFound, lines_for_selector
from integrations.services.mapping import status_mapping_resolve
from integrations.services.processing import source_time
from orders.models import OrderLine
from orders.scoping import lines_visible_to
from orders.services import Actor, line_status_override
from overrides.models import ReconciliationItem, ReconciliationRun

RECONCILIATION_REASON_CODE = "reconciliation"


@dataclass
class SourceFact:
    """The latest status a source gave for one line, and the messages that said it."""

    status: str
    occurred_at: datetime
    message_ids: list[int] = field(default_factory=list)

    def take(self, *, status: str, occurred_at: datetime, message_id: int) -> None:
        """Keep the later fact by source time; on equal times the later received one wins."""
        if occurred_at < self.occurred_at:
            return
        if occurred_at > self.occurred_at or status != self.status:
            self.status, self.occurred_at, self.message_ids = status, occurred_at, []
        if message_id not in self.message_ids:
            self.message_ids.append(message_id)


@dataclass
class ReconciliationTally:
    """What a run read but could not compare (not stored: shown once, when the run is created)."""

    unreadable_messages: int = 0
    unknown_codes: int = 0
    unknown_lines: int = 0
    # Partial confirmations for a line not split yet: only processing splits; replay those.
    partials: int = 0


def reconciliation_run_create(
    *, source_code: str, since: datetime, until: datetime | None = None, user=None
) -> ReconciliationRun:
    """Re-read every message of the source received in [since, until), whatever its state (dead
    letters included: after an outage they are the point), and record a mismatch for every line
    whose latest fact by source time differs from its current status. With a `user`, lines out
    of their scope are left out. The run has `tally` (a ReconciliationTally) attached."""
    if user is not None:
        _require(user, "overrides.add_reconciliationrun")
    until = until or timezone.now()
    source = _window_checked(source_code=source_code, since=since, until=until)
    facts, messages_read, tally = _latest_facts(source, since=since, until=until)
    lines = OrderLine.objects.filter(pk__in=facts, is_split=False)
    if user is not None:
        lines = lines_visible_to(user, lines)
    mismatches = [
        ReconciliationItem(
            line=line,
            current_status=line.status,
            source_status=facts[line.pk].status,
            source_occurred_at=facts[line.pk].occurred_at,
            message_ids=facts[line.pk].message_ids,
        )
        for line in lines.order_by("pk")
        if line.status != facts[line.pk].status
    ]
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            source_code=source.code, since=since, until=until, created_by=user, messages_read=messages_read
        )
        for item in mismatches:
            item.run = run
        ReconciliationItem.objects.bulk_create(mismatches)
    run.tally = tally
    return run


def reconciliation_run_apply(*, run_id: int, user, item_ids: list[int]) -> ReconciliationRun:
    """Apply the chosen corrections in one transaction, as overrides approved by `user`, who must
    not be the person who started the run. Lines that changed since the run refuse the batch."""
    _require(user, "overrides.apply_reconciliationrun")
    if not item_ids:
        raise ValidationError({"items": _("Choose at least one correction to apply.")})
    with transaction.atomic():
        run = _proposed(run_id)
        if run.created_by_id == user.pk:
            raise PermissionDenied(_("Someone else must apply the corrections of a reconciliation you started."))
        items = list(
            reconciliation_items_visible_to(user, run)
            .filter(pk__in=item_ids, applied=False)
            .select_related("line__order")
            .order_by("line_id")
        )
        if len(items) != len(set(item_ids)):
            raise ReconciliationItem.DoesNotExist
        # Fixed lock order (lines by id) before looking at their status: no check-then-act race.
        current = dict(
            OrderLine.objects.select_for_update()
            .filter(pk__in=[item.line_id for item in items])
            .order_by("pk")
            .values_list("pk", "status")
        )
        moved = [str(item.line) for item in items if current[item.line_id] != item.current_status]
        if moved:
            raise ValidationError(
                {
                    "items": _("These lines changed since the reconciliation ran: %(lines)s. Start a new one.")
                    % {"lines": ", ".join(moved)}
                }
            )
        actor = Actor.person(user)
        for item in items:
            line_status_override(
                line_id=item.line_id,
                status=item.source_status,
                actor=actor,
                reason_code=RECONCILIATION_REASON_CODE,
                reason_text=_reason_text(run, item),
                approved_by=user,
            )
            item.applied = True
        ReconciliationItem.objects.bulk_update(items, ["applied"])
        run.state = ReconciliationRun.State.APPLIED
        run.applied_by = user
        run.applied_at = timezone.now()
        run.save(update_fields=["state", "applied_by", "applied_at"])
        return run


def reconciliation_run_discard(*, run_id: int, user) -> ReconciliationRun:
    """Close a run without changing anything: whoever may apply it, or the person who started it."""
    with transaction.atomic():
        run = _proposed(run_id)
        if not reconciliation_run_may_discard(run=run, user=user):
            raise PermissionDenied(_("You do not have the right to do this."))
        run.state = ReconciliationRun.State.DISCARDED
        run.save(update_fields=["state"])
        return run


def reconciliation_run_may_apply(*, run: ReconciliationRun, user) -> bool:
    """Four-eyes: someone with the right who did not start the run, while it is proposed."""
    return (
        run.state == ReconciliationRun.State.PROPOSED
        and run.created_by_id != user.pk
        and user.has_perm("overrides.apply_reconciliationrun")
    )


def reconciliation_run_may_discard(*, run: ReconciliationRun, user) -> bool:
    return run.state == ReconciliationRun.State.PROPOSED and (
        run.created_by_id == user.pk or user.has_perm("overrides.apply_reconciliationrun")
    )


def reconciliation_items_visible_to(user, run: ReconciliationRun):
    """The run's mismatches on lines in the user's scope; the others are never shown."""
    return run.items.filter(line__in=lines_visible_to(user))


def _window_checked(*, source_code: str, since: datetime, until: datetime) -> SourceSystem:
    source = SourceSystem.objects.filter(code=source_code).first()
    if source is None:
        raise ValidationError({"source_code": _("Unknown source “%(code)s”.") % {"code": source_code}})
    if timezone.is_naive(since) or timezone.is_naive(until):
        raise ValidationError({"since": _("Give the times with a time zone.")})
    if since >= until:
        raise ValidationError({"until": _("The end of the window must come after its start.")})
    return source


def _latest_facts(
    source: SourceSystem, *, since: datetime, until: datetime
) -> tuple[dict[int, SourceFact], int, ReconciliationTally]:
    """Per line id, the latest fact the source gave in the window (messages in order of receipt)."""
    adapter = adapter_for(source.message_format)
    messages = (
        InboundMessage.objects.filter(source=source, received_at__gte=since, received_at__lt=until)
        .order_by("received_at", "id")
        .only("id", "raw")
    )
    facts: dict[int, SourceFact] = {}
    tally = ReconciliationTally()
    lines_found: dict[tuple, list[OrderLine]] = {}
    messages_read = 0
    for message in messages.iterator(chunk_size=500):
        messages_read += 1
        try:
            statuses = adapter.parse(message.raw).statuses
        except AdapterError:
            tally.unreadable_messages += 1
            continue
        for status in statuses:
            occurred_at = source_time(status.occurred_at, source)
            mapped = status_mapping_resolve(
                source=source, code=status.code, qualifier=status.qualifier, occurred_at=occurred_at
            )
            if mapped is None:
                tally.unknown_codes += 1
                continue
            lines = _lines(status, lines_found, source=source, canonical_status=mapped.status)
            if lines is None:
                tally.unknown_lines += 1
                continue
            for line in lines:
                if status.quantity and status.quantity < line.quantity:
                    tally.partials += 1
                    continue
                fact = facts.setdefault(line.pk, SourceFact(status=mapped.status, occurred_at=occurred_at))
                fact.take(status=mapped.status, occurred_at=occurred_at, message_id=message.pk)
    return facts, messages_read, tally


def _lines(status: ParsedStatus, cache: dict, *, source, canonical_status: str) -> list[OrderLine] | None:
    """The leaf lines a fact is about (as processing picks them), or None when none matches
    (or the match is ambiguous: processing quarantines those, reconciliation skips them)."""
    key = (status.line, status.carrier, status.tracking_number, canonical_status)
    if key not in cache:
        try:
            match = lines_for_selector(status.line, source=source, status=status, canonical_status=canonical_status)
            cache[key] = match.lines
        except (LineNotFound, AmbiguousReference):
            cache[key] = []
    lines = cache[key]
    if status.quantity and len(lines) > 1:
        # A partial confirmation seen after its split belongs to the confirmed child.
        lines = [line for line in lines if line.quantity == status.quantity][:1] or lines
    return lines or None


def _proposed(run_id: int) -> ReconciliationRun:
    run = ReconciliationRun.objects.select_for_update().get(pk=run_id)
    if run.state != ReconciliationRun.State.PROPOSED:
        raise ValidationError({"state": _("This reconciliation has already been applied or discarded.")})
    return run


def _reason_text(run: ReconciliationRun, item: ReconciliationItem) -> str:
    # Stored in the audit log as written, not translated: the same words for every reader.
    messages = ", ".join(f"#{message_id}" for message_id in item.message_ids)
    since, until, said_at = (moment.astimezone(UTC) for moment in (run.since, run.until, item.source_occurred_at))
    return (
        f"Reconciliation #{run.pk} of {run.source_code} ({since:%Y-%m-%d %H:%M}–{until:%Y-%m-%d %H:%M} UTC): "
        f"the source said {item.source_status} at {said_at:%Y-%m-%d %H:%M:%S} UTC (inbound messages {messages})"
    )


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(_("You do not have the right to do this."))
