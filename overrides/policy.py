"""Which overrides need a second person's approval (four-eyes), and why. Pure rules."""

from django.utils.translation import gettext as _

from orders.models import ActorKind, Criticality, OrderLine, StatusEvent
from orders.status import RANK, LineStatus

# Advancing to one of these without any source having said so is a claim someone must check.
SOURCE_CONFIRMED_STEPS = (
    LineStatus.SHIPPED,
    LineStatus.IN_TRANSIT,
    LineStatus.OUT_FOR_DELIVERY,
    LineStatus.DELIVERED,
    LineStatus.VERIFIED,
)


def status_override_approval_reasons(*, lines: list[OrderLine], target_status: str) -> list[str]:
    reasons = []
    if len(lines) > 1:
        reasons.append(_("bulk override of %(count)d lines") % {"count": len(lines)})
    if any(_is_backwards(line, target_status) for line in lines):
        reasons.append(_("moves a line backwards"))
    if target_status in SOURCE_CONFIRMED_STEPS and not _sources_reported(lines, target_status):
        reasons.append(_("advances to %(status)s without a source event") % {"status": LineStatus(target_status).label})
    if any(line.part.criticality == Criticality.A for line in lines):
        reasons.append(_("A-criticality part"))
    return reasons


def suppression_approval_reasons(*, event: StatusEvent) -> list[str]:
    reasons = [_("hides a status change from customers")]
    if event.line.part.criticality == Criticality.A:
        reasons.append(_("A-criticality part"))
    return reasons


def _is_backwards(line: OrderLine, target_status: str) -> bool:
    current = line.progress_status
    if target_status in RANK and current in RANK:
        return RANK[target_status] < RANK[current]
    # Out of an end state (cancelled, returned) back onto the path is backwards too.
    return current in (LineStatus.CANCELLED, LineStatus.RETURNED) and target_status in RANK


def _sources_reported(lines: list[OrderLine], target_status: str) -> bool:
    """Every line has a source fact at or beyond the target step."""
    reached = [status for status in RANK if RANK[status] >= RANK[target_status]]
    confirmed = set(
        StatusEvent.objects.filter(line__in=lines, actor_kind=ActorKind.INTEGRATION, to_status__in=reached)
        .values_list("line_id", flat=True)
        .distinct()
    )
    return all(line.pk in confirmed for line in lines)
