"""Which overrides need a second person's approval (four-eyes), and why. Pure rules.

Reasons are codes with parameters (overrides.texts), written out in the reader's language."""

from orders.models import ActorKind, Criticality, OrderLine, StatusEvent
from orders.status import RANK, LineStatus
from overrides.texts import coded

# Advancing to one of these without any source having said so is a claim someone must check.
SOURCE_CONFIRMED_STEPS = (
    LineStatus.SHIPPED,
    LineStatus.IN_TRANSIT,
    LineStatus.OUT_FOR_DELIVERY,
    LineStatus.DELIVERED,
    LineStatus.VERIFIED,
)


def status_override_approval_reasons(*, lines: list[OrderLine], target_status: str) -> list[dict]:
    return _reasons(lines, target_status, source_steps_reached(lines))


def status_override_approval_reasons_by_target(
    line: OrderLine, *, reached: dict[int, int] | None = None
) -> dict[str, list[dict]]:
    """For one line, each status it could be set to and why that would need a second person
    (empty: applied at once): what the override form tells before anyone asks. One query, none
    with `reached` (source_steps_reached of a page's lines, read once)."""
    reached = source_steps_reached([line]) if reached is None else reached
    return {status: _reasons([line], status, reached) for status in LineStatus.values if status != line.status}


def suppression_approval_reasons(*, event: StatusEvent) -> list[dict]:
    reasons = [coded("hides_event")]
    if event.line.part.criticality == Criticality.A:
        reasons.append(coded("criticality_a"))
    return reasons


def _reasons(lines: list[OrderLine], target_status: str, reached: dict[int, int]) -> list[dict]:
    reasons = []
    if len(lines) > 1:
        reasons.append(coded("bulk", count=len(lines)))
    if any(_is_backwards(line, target_status) for line in lines):
        reasons.append(coded("backwards"))
    if target_status in SOURCE_CONFIRMED_STEPS and not all(
        reached.get(line.pk, -1) >= RANK[target_status] for line in lines
    ):
        reasons.append(coded("unconfirmed_advance", status=target_status))
    if any(line.part.criticality == Criticality.A for line in lines):
        reasons.append(coded("criticality_a"))
    return reasons


def _is_backwards(line: OrderLine, target_status: str) -> bool:
    current = line.progress_status
    if target_status in RANK and current in RANK:
        return RANK[target_status] < RANK[current]
    # Out of an end state (cancelled, returned) back onto the path is backwards too.
    return current in (LineStatus.CANCELLED, LineStatus.RETURNED) and target_status in RANK


def source_steps_reached(lines: list[OrderLine]) -> dict[int, int]:
    """Per line, the furthest path step (its rank) any source has reported for it."""
    reported = (
        StatusEvent.objects.filter(
            line__in=lines, actor_kind=ActorKind.INTEGRATION, to_status__in=list(SOURCE_CONFIRMED_STEPS)
        )
        .values_list("line_id", "to_status")
        .distinct()
    )
    reached: dict[int, int] = {}
    for line_id, status in reported:
        reached[line_id] = max(reached.get(line_id, -1), RANK[status])
    return reached
