"""The per-line hash chain over StatusEvent rows, and its verification.

Each event's hash covers its content and the previous event's hash; the line keeps the head.
An edited row breaks its own hash, a deleted row leaves a gap or a stale head.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from orders.models import OrderLine, StatusEvent

HASHED_FIELDS = (
    "line_id",
    "order_id",
    "sequence",
    "from_status",
    "to_status",
    "outcome",
    "occurred_at",
    "received_at",
    "applied_at",
    "actor_kind",
    "actor_user_id",
    "actor_label",
    "approved_by_id",
    "source_system",
    "inbound_message_id",
    "reason_code",
    "reason_text",
    "fact_key",
    "previous_hash",
)


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


# Covered once set: rows written before they existed keep the hash they were written with.
HASHED_WHEN_SET = ("kind", "source_sequence")


def event_hash(event: StatusEvent) -> str:
    content = {name: _canonical(getattr(event, name)) for name in HASHED_FIELDS}
    content.update(
        {name: _canonical(getattr(event, name)) for name in HASHED_WHEN_SET if getattr(event, name) not in ("", None)}
    )
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def audit_chain_append(*, line: OrderLine, event: StatusEvent) -> None:
    """Give `event` the next place in the line's chain and move the line's head to it."""
    event.sequence = line.audit_sequence + 1
    event.previous_hash = line.audit_head
    event.hash = event_hash(event)
    line.audit_sequence = event.sequence
    line.audit_head = event.hash


@dataclass(frozen=True)
class AuditProblem:
    line_id: int
    sequence: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line_id} event #{self.sequence}: {self.problem}"


def audit_chain_verify(*, line_ids: list[int] | None = None) -> list[AuditProblem]:
    """Every altered, missing or re-linked event of the given lines (all lines by default)."""
    lines = OrderLine.objects.order_by("pk").only("pk", "audit_sequence", "audit_head")
    if line_ids is not None:
        lines = lines.filter(pk__in=line_ids)
    problems: list[AuditProblem] = []
    for chunk in _chunks(list(lines), 500):
        events_by_line: dict[int, list[StatusEvent]] = {line.pk: [] for line in chunk}
        for event in StatusEvent.objects.filter(line_id__in=events_by_line).order_by("line_id", "sequence"):
            events_by_line[event.line_id].append(event)
        for line in chunk:
            problems.extend(_verify_line(line, events_by_line[line.pk]))
    return problems


def _verify_line(line: OrderLine, events: list[StatusEvent]) -> list[AuditProblem]:
    problems = []
    previous_hash = ""
    expected_sequence = 1
    for event in events:
        if event.sequence != expected_sequence:
            problems.append(AuditProblem(line.pk, expected_sequence, f"missing (next row found is #{event.sequence})"))
        if event.previous_hash != previous_hash:
            problems.append(AuditProblem(line.pk, event.sequence, "does not link to the event before it"))
        if event_hash(event) != event.hash:
            problems.append(AuditProblem(line.pk, event.sequence, "content altered (hash mismatch)"))
        previous_hash = event.hash
        expected_sequence = event.sequence + 1
    if line.audit_sequence != len(events) and line.audit_sequence >= expected_sequence:
        problems.append(
            AuditProblem(line.pk, line.audit_sequence, f"missing (the line has recorded {line.audit_sequence} events)")
        )
    elif line.audit_head != previous_hash:
        problems.append(AuditProblem(line.pk, line.audit_sequence, "the line's chain head does not match"))
    return problems


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
