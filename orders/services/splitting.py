"""Split shipments: one line fulfilled by several child lines whose quantities add up."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import EventKind, EventOutcome, OrderLine, Site
from orders.publication import Topic, status_change_hooks_run
from orders.services.events import Actor, Provenance, line_start_record, status_event_record, unique_fact_key
from orders.services.locking import order_lock_for_line
from orders.services.outbox import outbox_publish
from orders.services.rollup import order_rollup_refresh
from orders.status import LineStatus

UNSPLITTABLE = frozenset({LineStatus.DELIVERED, LineStatus.VERIFIED, LineStatus.CANCELLED, LineStatus.RETURNED})


@dataclass(frozen=True)
class SplitPart:
    quantity: int
    site: Site | None = None
    eta: datetime | None = None
    tracking_number: str = ""
    carrier: str = ""


def split_line(
    *,
    line_id: int,
    parts: list[SplitPart],
    actor: Actor,
    reason_text: str = "",
    occurred_at: datetime | None = None,
    publish: bool = True,
) -> list[OrderLine]:
    """Split a leaf line into child lines, one per part; what the parts leave over becomes one
    more child at the line's own site. Children start in the line's status; the line becomes
    their parent and from then on shows their rolled-up status. `occurred_at` places the split
    in the past (a source reporting it late, or imported history); it defaults to now."""
    now = timezone.now()
    occurred_at = occurred_at or now
    with transaction.atomic():
        locked = order_lock_for_line(line_id=line_id)  # the order, then its lines by id
        line = locked.lines[line_id]
        remainder = _validate_split(line, parts)
        if remainder:
            parts = [*parts, SplitPart(quantity=remainder, site=line.site, eta=line.eta)]
        children = []
        for index, part in enumerate(parts, start=1):
            child = OrderLine(
                order_id=line.order_id,
                parent=line,
                number=f"{line.number}.{index}",
                part_id=line.part_id,
                quantity=part.quantity,
                site=part.site or line.site,
                eta=part.eta or line.eta,
                tracking_number=part.tracking_number or line.tracking_number,
                carrier=part.carrier or line.carrier,
                status=line.status,
                status_before_interruption=line.status_before_interruption,
                status_occurred_at=line.status_occurred_at,
                status_changed_at=now,
                path_occurred_at=line.path_occurred_at,
                held_status=line.held_status,
                # A child inherits its parent's start and facts: a late fact replays them all.
                start_status=line.start_status,
                start_path_status=line.start_path_status,
                start_occurred_at=line.start_occurred_at,
                start_path_occurred_at=line.start_path_occurred_at,
                latest_fact_at=line.latest_fact_at,
                latest_fact_sequence=line.latest_fact_sequence,
                latest_fact_key=line.latest_fact_key,
            )
            child.save()
            line_start_record(
                line=child,
                occurred_at=occurred_at,
                actor=actor,
                provenance=Provenance(reason_code="split", reason_text=reason_text),
            )
            children.append(child)
        line.is_split = True
        summary = ", ".join(f"{child.number} ({child.quantity})" for child in children)
        status_event_record(
            line=line,
            from_status=line.status,
            to_status=line.status,
            outcome=EventOutcome.UNCHANGED,
            occurred_at=occurred_at,
            received_at=now,
            applied_at=None,
            actor=actor,
            provenance=Provenance(
                reason_code="split",
                reason_text=" ".join(
                    filter(None, [_("Split into %(children)s.") % {"children": summary}, reason_text])
                ),
            ),
            key=unique_fact_key(),
            kind=EventKind.SPLIT,
        )
        line.save(update_fields=["is_split", "audit_sequence", "audit_head", "updated_at"])
        status_change_hooks_run([line])  # the line's status is its children's from now on
        order = order_rollup_refresh(order_id=line.order_id)
        if publish:
            outbox_publish(
                topic=Topic.LINE_SPLIT,
                order=order,
                payload={
                    "order_id": order.pk,
                    "order_number": order.number,
                    "order_public_id": str(order.public_id),
                    "line_id": line.pk,
                    "line_number": line.number,
                    "line_public_id": str(line.public_id),
                    "children": [
                        {
                            "line_id": c.pk,
                            "line_number": c.number,
                            "line_public_id": str(c.public_id),
                            "quantity": c.quantity,
                        }
                        for c in children
                    ],
                },
            )
        return children


def _validate_split(line: OrderLine, parts: list[SplitPart]) -> int:
    """The quantity left over for a remainder child; raises when the split is not possible."""
    if line.is_split:
        raise ValidationError({"line": _("This line is already split; split one of its child lines instead.")})
    if line.status in UNSPLITTABLE:
        raise ValidationError(
            {"line": _("A line that is %(status)s cannot be split.") % {"status": line.get_status_display()}}
        )
    if not parts:
        raise ValidationError({"parts": _("Give at least one part quantity.")})
    if any(part.quantity <= 0 for part in parts):
        raise ValidationError({"parts": _("Every part needs a quantity of at least 1.")})
    remainder = line.quantity - sum(part.quantity for part in parts)
    if remainder < 0:
        raise ValidationError(
            {
                "parts": _("The parts add up to more than the line quantity of %(quantity)d.")
                % {"quantity": line.quantity}
            }
        )
    if len(parts) + (1 if remainder else 0) < 2:
        raise ValidationError({"parts": _("A split needs at least two child lines.")})
    return remainder
