"""Recording status facts: who or what said it, when, from which message."""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from orders.models import ActorKind, EventKind, EventOutcome, OrderLine, StatusEvent
from orders.services.audit import audit_chain_append


@dataclass(frozen=True)
class Actor:
    """Who or what made a status change."""

    kind: str
    label: str = ""
    user: AbstractBaseUser | None = field(default=None, compare=False)

    @classmethod
    def system(cls, label: str) -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def integration(cls, source_code: str) -> "Actor":
        return cls(kind=ActorKind.INTEGRATION, label=source_code)

    @classmethod
    def person(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind=ActorKind.USER, label=user.get_username(), user=user)


@dataclass(frozen=True)
class Provenance:
    """Where a fact came from: the source system, its message, and the reason it gave."""

    source_system: str = ""
    inbound_message_id: int | None = None
    reason_code: str = ""
    reason_text: str = ""


def fact_key(*, line_id: int, status: str, occurred_at: datetime, source_system: str, fact_id: str) -> str:
    """Identity of a fact: the same line, status, source time, source and id is the same fact.
    Not the source's sequence number: a retransmission under a new number is the same fact."""
    when = occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(f"{line_id}|{status}|{when}|{source_system}|{fact_id}".encode()).hexdigest()


def unique_fact_key() -> str:
    """For facts that are never repeated by a source (a person's override, a rollup)."""
    return uuid.uuid4().hex


def status_event_record(**kwargs) -> StatusEvent:
    """Append the event to the line's chain and save it. The caller saves the line (its head)."""
    event = status_event_build(**kwargs)
    event.save()
    return event


def status_event_build(
    *,
    line: OrderLine,
    from_status: str,
    to_status: str,
    outcome: str,
    occurred_at: datetime,
    received_at: datetime,
    applied_at: datetime | None,
    actor: Actor,
    provenance: Provenance,
    key: str,
    approved_by=None,
    kind: str = "",
    source_sequence: int | None = None,
) -> StatusEvent:
    """The event, placed in the line's chain but not saved (the bulk path saves many at once)."""
    event = StatusEvent(
        kind=kind,
        source_sequence=source_sequence,
        line=line,
        order_id=line.order_id,
        from_status=from_status,
        to_status=to_status,
        outcome=outcome,
        occurred_at=occurred_at,
        received_at=received_at,
        applied_at=applied_at,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label,
        approved_by=approved_by,
        source_system=provenance.source_system,
        inbound_message_id=provenance.inbound_message_id,
        reason_code=provenance.reason_code,
        reason_text=provenance.reason_text,
        fact_key=key,
    )
    audit_chain_append(line=line, event=event)
    return event


def line_start_record(
    *, line: OrderLine, occurred_at: datetime | None, actor: Actor, provenance: Provenance
) -> StatusEvent:
    """The first event of a new line (created by an upsert or a split), saved with its chain head.
    `occurred_at` is the source time the line started at; without one the event carries our
    receipt time (the line's own status time stays empty until a source says)."""
    now = timezone.now()
    event = status_event_record(
        line=line,
        from_status="",
        to_status=line.status,
        outcome=EventOutcome.APPLIED,
        occurred_at=occurred_at or now,
        kind=EventKind.START,
        received_at=now,
        applied_at=now,
        actor=actor,
        provenance=provenance,
        key=unique_fact_key(),
    )
    line.skip_history_when_saving = True  # only the chain head moves; the creation is in history
    line.save(update_fields=["audit_sequence", "audit_head"])
    del line.skip_history_when_saving
    return event
