"""Override requests: ask, approve or reject (never your own), apply through the core."""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import EventKind, EventOutcome, OrderLine, StatusEvent
from orders.scoping import lines_visible_to
from orders.services import Actor, LineIsSplit, line_status_override, status_event_suppress
from orders.services.decide import Fact, judge
from orders.services.events import unique_fact_key
from orders.services.facts import line_state
from orders.services.locking import orders_lock_for_lines
from orders.status import LineStatus
from overrides.live import backoffice_nudge
from overrides.models import OverrideReason, OverrideRequest
from overrides.policy import status_override_approval_reasons, suppression_approval_reasons
from overrides.selectors import override_requests_visible_to
from overrides.texts import approval_reason_text

# What an approver and an auditor can read: longer belongs in an evidence file.
JUSTIFICATION_MAX_LENGTH = 2000


def override_request_create(
    *,
    user,
    line_ids: list[int],
    target_status: str,
    reason_code: str,
    justification: str,
    evidence=None,
    evidence_reference: str = "",
    hold_until_source_confirms: bool = False,
) -> OverrideRequest:
    """Ask for lines to be set to `target_status`. Applied at once when policy needs no second
    person; otherwise it waits in the approvals queue. Lines out of the user's scope do not exist."""
    _require(user, "overrides.add_overriderequest")
    if target_status not in LineStatus.values:
        raise ValidationError({"target_status": _("Choose a status.")})
    reason = _reason(reason_code)
    _require_justification(justification)
    with transaction.atomic():
        visible = set(lines_visible_to(user).filter(pk__in=line_ids).values_list("pk", flat=True))
        if not line_ids or len(visible) != len(set(line_ids)):
            raise OrderLine.DoesNotExist
        # The core's lock order, then judge the lines as they are locked: a source moving a line
        # between the policy's judgement and the write cannot slip a move past a second person.
        lines = _locked_lines(visible)
        if any(line.is_split for line in lines):
            raise ValidationError({"lines": _("A split line shows its children's status; override the children.")})
        if all(line.status == target_status for line in lines):
            raise ValidationError({"target_status": _("The lines already have this status.")})
        request = OverrideRequest.objects.create(
            kind=OverrideRequest.Kind.STATUS,
            target_status=target_status,
            reason=reason,
            justification=justification,
            evidence=evidence or "",
            evidence_reference=evidence_reference,
            hold_until_source_confirms=hold_until_source_confirms,
            requested_by=user,
            approval_reasons=status_override_approval_reasons(lines=lines, target_status=target_status),
            from_statuses={str(line.pk): line.status for line in lines},
        )
        request.lines.set(lines)
        if not request.needs_approval:
            _apply(request, approver=None)
        backoffice_nudge(line_ids=[line.pk for line in lines])
        return request


def override_suppression_create(*, user, event_id: int, reason_code: str, justification: str) -> OverrideRequest:
    """Ask for a status event to be hidden from customers: an override with the same rules."""
    _require(user, "overrides.add_overriderequest")
    reason = _reason(reason_code)
    _require_justification(justification)
    with transaction.atomic():
        event = StatusEvent.objects.select_related("line__part").get(pk=event_id, line__in=lines_visible_to(user))
        request = OverrideRequest.objects.create(
            kind=OverrideRequest.Kind.SUPPRESS_EVENT,
            event=event,
            reason=reason,
            justification=justification,
            requested_by=user,
            approval_reasons=suppression_approval_reasons(event=event),
            from_statuses={str(event.line_id): event.line.status},
        )
        request.lines.set([event.line])
        backoffice_nudge(line_ids=[event.line_id])
        return request


@dataclass(frozen=True)
class LinePreview:
    """What approving a status request would do to one line, judged now."""

    line: OrderLine
    requested_from: str  # the line's status when the request was made ("" when not recorded)
    outcome: str  # orders.models.EventOutcome of the override judged against the line as it is
    status_after: str
    refusal: str = ""  # why approving cannot apply to this line at all (it was split since)

    @property
    def changed_since_request(self) -> bool:
        return bool(self.requested_from) and self.requested_from != self.line.status

    @property
    def requested_from_label(self) -> str:
        return LineStatus(self.requested_from).label if self.requested_from else ""

    @property
    def status_after_label(self) -> str:
        return LineStatus(self.status_after).label

    @property
    def outcome_label(self) -> str:
        return EventOutcome(self.outcome).label


@dataclass(frozen=True)
class ApprovalPreview:
    """The request decided again against its lines as they are now: the core's decision per line
    (orders.services.decide) and the four-eyes policy's reasons today. `fingerprint` names the
    lines' state it was judged on: approving refuses when the lines changed after the preview."""

    request: OverrideRequest
    lines: list[LinePreview]
    approval_reasons: list[dict]
    fingerprint: str

    @property
    def approval_reason_texts(self) -> list[str]:
        return [approval_reason_text(reason) for reason in self.approval_reasons]

    @property
    def changes_anything(self) -> bool:
        if self.refused:
            return False
        return self.request.kind == OverrideRequest.Kind.SUPPRESS_EVENT or any(
            preview.outcome == EventOutcome.APPLIED for preview in self.lines
        )

    @property
    def refused(self) -> bool:
        """Approving cannot be confirmed: a line was split since the request."""
        return any(preview.refusal for preview in self.lines)


def override_request_preview(*, request_id: int, user) -> ApprovalPreview:
    """What approving would do now (nothing is written)."""
    _require(user, "overrides.approve_overriderequest")
    request = override_requests_visible_to(user).select_related("reason", "requested_by", "event").get(pk=request_id)
    if request.requested_by_id == user.pk:
        raise PermissionDenied(_("Someone else must approve your own request."))
    return _preview(request, list(request.lines.select_related("order", "part").order_by("pk")))


def override_request_approve(*, request_id: int, user, note: str = "", seen: str | None = None) -> OverrideRequest:
    """Approve and apply. With `seen` (the fingerprint of the preview the approver confirmed),
    the request is decided again in the approving transaction, with the lines locked, and refused
    when they are no longer as the approver saw them."""
    _require(user, "overrides.approve_overriderequest")
    with transaction.atomic():
        request = _pending_for(user, request_id)
        if request.requested_by_id == user.pk:
            raise PermissionDenied(_("Someone else must approve your own request."))
        # The core's lock order: the orders, then their lines by id; then judge again.
        lines = _locked_lines(request.lines.values_list("pk", flat=True))
        preview = _preview(request, lines)
        if seen is not None and preview.fingerprint != seen:
            raise ValidationError(
                {"state": _("The line changed while you were looking: check what approving does now.")}
            )
        if preview.refused:
            raise ValidationError({"state": [line.refusal for line in preview.lines if line.refusal]})
        request.decided_by = user
        request.decided_at = timezone.now()
        request.decision_note = note
        _apply(request, approver=user)
        return request


def override_request_reject(*, request_id: int, user, note: str) -> OverrideRequest:
    _require(user, "overrides.approve_overriderequest")
    if not note.strip():
        raise ValidationError({"note": _("Say why the request is rejected.")})
    with transaction.atomic():
        request = _pending_for(user, request_id)
        if request.requested_by_id == user.pk:
            raise PermissionDenied(_("Withdraw your own request instead of rejecting it."))
        request.state = OverrideRequest.State.REJECTED
        request.decided_by = user
        request.decided_at = timezone.now()
        request.decision_note = note
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
        backoffice_nudge(line_ids=request.lines.values_list("pk", flat=True))
        return request


def override_request_withdraw(*, request_id: int, user) -> OverrideRequest:
    with transaction.atomic():
        request = _pending_for(user, request_id)
        if request.requested_by_id != user.pk:
            raise PermissionDenied(_("Only the person who asked can withdraw a request."))
        request.state = OverrideRequest.State.WITHDRAWN
        request.decided_at = timezone.now()
        request.save(update_fields=["state", "decided_at"])
        backoffice_nudge(line_ids=request.lines.values_list("pk", flat=True))
        return request


def _preview(request: OverrideRequest, lines: list[OrderLine]) -> ApprovalPreview:
    previews = []
    for line in lines:
        refusal = ""
        if request.kind == OverrideRequest.Kind.SUPPRESS_EVENT:
            outcome, after = EventOutcome.UNCHANGED, line.status
        elif line.is_split:
            # The core takes no status for a split line: its children carry it.
            outcome, after = EventOutcome.REJECTED, line.status
            refusal = _("Line %(line)s was split since the request: override its split lines instead.") % {
                "line": line.number
            }
        else:
            judgement = judge(
                state=line_state(line),
                fact=Fact(
                    status=request.target_status,
                    occurred_at=timezone.now(),
                    key=unique_fact_key(),
                    kind=EventKind.HELD_OVERRIDE if request.hold_until_source_confirms else EventKind.OVERRIDE,
                    from_integration=False,
                ),
            )
            outcome, after = judgement.outcome, judgement.state.status
        previews.append(
            LinePreview(
                line=line,
                requested_from=request.from_status_of(line.pk),
                outcome=outcome,
                status_after=after,
                refusal=refusal,
            )
        )
    if request.kind == OverrideRequest.Kind.SUPPRESS_EVENT:
        reasons = request.approval_reasons
    else:
        reasons = status_override_approval_reasons(lines=lines, target_status=request.target_status)
    state = "|".join(f"{line.pk}:{line.status}:{line.audit_sequence}" for line in lines)
    return ApprovalPreview(
        request=request,
        lines=previews,
        approval_reasons=reasons,
        fingerprint=hashlib.sha256(state.encode()).hexdigest()[:16],
    )


def _pending_for(user, request_id: int) -> OverrideRequest:
    request = (
        override_requests_visible_to(user)
        .select_for_update(of=("self",))  # not the joined reason and user rows
        .select_related("reason", "requested_by")
        .get(pk=request_id)
    )
    if request.state != OverrideRequest.State.PENDING:
        raise ValidationError({"state": _("This request has already been decided.")})
    return request


def _apply(request: OverrideRequest, *, approver) -> None:
    requester = Actor.person(request.requested_by)
    if request.kind == OverrideRequest.Kind.SUPPRESS_EVENT:
        status_event_suppress(
            event_id=request.event_id,
            user=request.requested_by,
            approved_by=approver,
            reason_code=request.reason.code,
            reason_text=request.justification,
        )
    else:
        for line in request.lines.order_by("pk"):
            if line.status == request.target_status:
                continue  # already there (a bulk request over mixed lines)
            try:
                _line_override(request, line, requester=requester, approver=approver)
            except LineIsSplit as split:
                raise ValidationError({"state": str(split)}) from split
    backoffice_nudge(line_ids=request.lines.values_list("pk", flat=True))
    request.state = OverrideRequest.State.APPLIED
    request.applied_at = timezone.now()
    request.save(update_fields=["state", "applied_at", "decided_by", "decided_at", "decision_note"])


def _line_override(request: OverrideRequest, line: OrderLine, *, requester: Actor, approver) -> None:
    line_status_override(
        line_id=line.pk,
        status=request.target_status,
        actor=requester,
        reason_code=request.reason.code,
        reason_text=request.justification,
        reference=request.evidence_reference,
        approved_by=approver,
        hold_until_source_confirms=request.hold_until_source_confirms,
    )


def _locked_lines(line_ids) -> list[OrderLine]:
    """The lines locked in the core's order (their orders, then every line of those by id), as
    they are now, with their parts."""
    line_ids = set(line_ids)
    locked = orders_lock_for_lines(line_ids=line_ids)
    lines = sorted(
        (line for order in locked.values() for pk, line in order.lines.items() if pk in line_ids),
        key=lambda line: line.pk,
    )
    prefetch_related_objects(lines, "part")
    return lines


def suppressions_with_approved_request(suppressions) -> set[int]:
    """The suppressions an applied request stands behind: a request to hide that very event, by
    the person recorded as suppressing it, decided by the approver recorded on it (never the
    requester). The audit verifier asks this through orders.suppression_approvals."""
    requests = OverrideRequest.objects.filter(
        kind=OverrideRequest.Kind.SUPPRESS_EVENT,
        state=OverrideRequest.State.APPLIED,
        event_id__in=[suppression.event_id for suppression in suppressions],
        decided_by__isnull=False,
    ).values_list("event_id", "requested_by_id", "decided_by_id")
    approved = {(event_id, requester, approver) for event_id, requester, approver in requests if requester != approver}
    return {
        suppression.pk
        for suppression in suppressions
        if (suppression.event_id, suppression.suppressed_by_id, suppression.approved_by_id) in approved
    }


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(_("You do not have the right to do this."))


def _require_justification(text: str) -> None:
    if not text.strip():
        raise ValidationError({"justification": _("Write why this override is needed.")})
    if len(text) > JUSTIFICATION_MAX_LENGTH:
        raise ValidationError(
            {
                "justification": _("Keep the justification to %(limit)d characters; attach longer text as evidence.")
                % {"limit": JUSTIFICATION_MAX_LENGTH}
            }
        )


def _reason(code: str) -> OverrideReason:
    reason = OverrideReason.objects.filter(code=code, active=True).first()
    if reason is None:
        raise ValidationError({"reason": _("Choose a reason from the list.")})
    return reason
