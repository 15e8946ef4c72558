"""Processing an inbound message: parse, map, find the lines, apply, in one transaction.

Every attempt is counted first, in a short transaction of its own that also gives the worker a
lease on the message. The message row is then locked (skip_locked) for the transaction that
applies it, and each message is applied and marked in its own savepoint, so that one message
never takes its batch down. A worker killed half-way leaves the message with its attempt
counted and its lease running out: the sweep queues it again (alone), and after the attempt
limit it is dead. Errors are permanent (bad data: dead at once, with the reason) or temporary
(retried with backoff and jitter).
"""

import logging
import random
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, DataError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.adapters import AdapterError, ParsedMessage, ParsedStatus
from integrations.adapters.base import parsed_checked, storable_text
from integrations.models import ErrorKind, InboundMessage, MessageFormat, MessageState, SourceSystem, StatusMapping
from integrations.services.admission import message_admit
from integrations.services.lines import (
    AmbiguousReference,
    LineNotFound,
    Match,
    lines_for_selectors,
    lines_in_scope,
)
from integrations.services.mapping import MappedStatus, status_mapping_choose, status_mapping_resolve
from integrations.services.parsing import inbound_parse
from orders.models import EventKind, EventOutcome, Order, OrderLine, ShipPolicy
from orders.services import (
    Actor,
    FactFromTheFuture,
    LineIsSplit,
    Provenance,
    SplitPart,
    StatusUpdateResult,
    apply_status_update,
    order_upsert,
    split_line,
)
from orders.services.bulk import StatusFact, rows_update, status_facts_apply
from orders.services.readiness import line_ready_record
from orders.services.shipments import ShipmentData, shipment_record, shipment_track
from orders.status import RANK, LineStatus

MESSAGE_FIELDS = [
    "state",
    "next_attempt_at",
    "processed_at",
    "last_error",
    "error_kind",
    "parsed",
    "sequence",
    "is_test",
    "lease_expires_at",
]
WAITING = [MessageState.RECEIVED, MessageState.RETRYING]
MAX_ERROR_LENGTH = 2000
logger = logging.getLogger(__name__)


class Quarantine(Exception):
    """A code the source has no mapping for: a person must add one, then replay."""

    def __init__(self, message: str, *, code: str, qualifier: str):
        super().__init__(message)
        self.code = code
        self.qualifier = qualifier


class TestDataForProduction(Exception):
    """A message its sender marked as test data names lines of production orders."""


@dataclass(frozen=True)
class FactOutcome:
    """What one fact did to one line (for the dry run and the message detail)."""

    line: str
    code: str
    status: str
    from_status: str
    outcome: str


def inbound_message_process(*, message_id: int, now: datetime | None = None) -> str | None:
    """Process one message if it is due and nobody else holds it. Returns its new state."""
    processed = inbound_batch_process(message_ids=[message_id], now=now)
    return processed[0].state if processed else None


def inbound_batch_process(
    *, message_ids: list[int] | None = None, limit: int = 1, now: datetime | None = None
) -> list[InboundMessage]:
    """Claim due messages (the given ones, or up to `limit` of the oldest), then process each in
    its own savepoint, committing them together: one commit for many messages is what lets a
    worker keep up with a surge. Messages another worker holds are skipped, not waited for."""
    now = now or timezone.now()
    claimed, abandoned = _claim(message_ids=message_ids, limit=limit, now=now)
    if not claimed:
        return abandoned
    lease = claimed[0].lease_expires_at
    with transaction.atomic():
        # Lock the message rows only: a plain FOR UPDATE would lock the joined source row too, and
        # then every other worker would skip (and so drop) every message of that source meanwhile.
        # Wait for the locks rather than skip: the lease makes these ours, and whoever else holds a
        # row now (a claim or a sweep looking at it) lets go at once; a skipped row would stay
        # leased, untouched, until its lease ran out.
        messages = list(
            InboundMessage.objects.select_for_update(of=("self",))
            .select_related("source")
            .filter(pk__in=[message.pk for message in claimed], state__in=WAITING, lease_expires_at=lease)
            .order_by("id")
        )
        # In message-id order: runs of plain messages go through the bulk path together, every
        # other message one by one in its place.
        run: list[InboundMessage] = []
        for message in messages:
            if _is_plain_candidate(message):
                run.append(message)
                continue
            _run_apply(run, now)
            run = []
            _process_locked(message, now)
        _run_apply(run, now)
    return messages + abandoned


def _claim(
    *, message_ids: list[int] | None, limit: int, now: datetime
) -> tuple[list[InboundMessage], list[InboundMessage]]:
    """Count the attempt and lease the messages, in a transaction of its own that commits before
    any processing starts: a worker that dies later has still counted it. A message whose last
    lease ran out (its worker died) is taken only alone, so that a poison message cannot take
    healthy ones down with it again; once out of attempts it is dead."""
    due = Q(state=MessageState.RECEIVED) | Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    lease = now + timedelta(seconds=settings.INBOUND_LEASE_SECONDS)
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    with transaction.atomic():
        waiting = InboundMessage.objects.select_for_update(skip_locked=True).filter(due, free, state__in=WAITING)
        if message_ids is not None:
            candidates = list(waiting.filter(pk__in=message_ids).order_by("id"))
        else:
            candidates = list(waiting.order_by("id")[:limit])
            # Oldest first, as ever; but a message whose worker died is never batched with others:
            # when it is the oldest it is taken alone, otherwise the batch stops before it.
            if candidates and candidates[0].lease_expires_at is not None:
                candidates = candidates[:1]
            else:
                candidates = list(takewhile(lambda message: message.lease_expires_at is None, candidates))
        claimed, abandoned = [], []
        for message in candidates:
            if message.lease_expires_at is not None and message.attempts >= settings.INBOUND_MAX_ATTEMPTS:
                message.state = MessageState.DEAD
                message.error_kind = ErrorKind.TEMPORARY
                message.last_error = (
                    f"gave up after {message.attempts} attempts: the worker stopped while processing it (killed, "
                    f"out of memory or over the time limit); last error recorded: {message.last_error or 'none'}"
                )[:MAX_ERROR_LENGTH]
                message.lease_expires_at = None
                message.next_attempt_at = None
                abandoned.append(message)
                continue
            message.attempts += 1
            message.lease_expires_at = lease
            claimed.append(message)
        InboundMessage.objects.bulk_update(claimed, ["attempts", "lease_expires_at"])
        InboundMessage.objects.bulk_update(
            abandoned, ["state", "error_kind", "last_error", "lease_expires_at", "next_attempt_at"]
        )
    return claimed, abandoned


def _run_apply(run: list[InboundMessage], now: datetime) -> None:
    done_in_bulk = _plain_messages_apply(run, now)
    for message in run:
        if message.pk not in done_in_bulk:
            _process_locked(message, now)


def _is_plain_candidate(message: InboundMessage) -> bool:
    """Cheap first look (the bulk path checks again): a message that parses into status facts
    only. Its parse is kept on the message for the bulk path."""
    message._parsed_quietly = _parse_quietly(message)
    parsed = message._parsed_quietly
    return (
        parsed is not None
        and not parsed.orders
        and not parsed.is_test
        and all(not status.quantity for status in parsed.statuses)
    )


def _plain_messages_apply(messages: list[InboundMessage], now: datetime) -> set[int]:
    """Plain messages (status facts only, no partial quantity, lines outside any split tree)
    go through the bulk path together. Everything else, and everything when the bulk path
    fails, goes one by one through _process_locked, which also reports each failure."""
    mappings: dict[tuple, list[StatusMapping]] = {}
    parsed = {message.pk: getattr(message, "_parsed_quietly", None) or _parse_quietly(message) for message in messages}
    selectors = [status.line for result in parsed.values() if result for status in result.statuses]
    lines = lines_for_selectors(selectors)
    planned = [
        (message, plan)
        for message in messages
        if parsed[message.pk] and (plan := _plain_plan(message, parsed[message.pk], mappings, lines)) is not None
    ]
    if len(planned) < 2:
        return set()
    for message, (parsed, _facts) in planned:
        message.parsed = _summary(parsed)
        message.sequence = parsed.sequence
        message.is_test = parsed.is_test
        _finish(message, MessageState.PROCESSED, "", processed_at=now)
    try:
        # The facts and the messages' final rows in one savepoint: all of the run, or none of it.
        with transaction.atomic():
            status_facts_apply(facts=[fact for _message, (_parsed, facts) in planned for fact in facts])
            rows_update(model=InboundMessage, objects=[message for message, _plan in planned], fields=MESSAGE_FIELDS)
    except Exception:  # noqa: BLE001  (a deadlock, say: the one-by-one path retries and reports)
        return set()
    return {message.pk for message, _plan in planned}


def _parse(message: InboundMessage) -> ParsedMessage:
    """The adapter's facts, with every text storable and every number and time in range."""
    return parsed_checked(inbound_parse(source=message.source, raw=message.raw, message_id=message.pk))


def _parse_quietly(message: InboundMessage) -> ParsedMessage | None:
    try:
        return _parse(message)
    except Exception:  # noqa: BLE001  (the one-by-one path parses again and reports why)
        return None


def _plain_plan(
    message: InboundMessage, parsed: ParsedMessage, mappings: dict, lines_by_selector: dict
) -> tuple[ParsedMessage, list[StatusFact]] | None:
    """The facts of a plain message, or None (not plain, or failing: the slow path will say why).
    Reads only."""
    source = message.source
    try:
        if parsed.orders:
            return None
        facts = []
        for status in parsed.statuses:
            if status.quantity or status.names_a_shipment:
                return None  # a possible partial or a shipment: the one-by-one path splits and tracks
            occurred_at = source_time(status.occurred_at, source)
            if occurred_at > message.received_at + settings.FACT_MAX_FUTURE:
                return None  # the one-by-one path quarantines it and says why
            key = (source.pk, status.code, status.qualifier)
            if key not in mappings:
                mappings[key] = list(
                    StatusMapping.objects.filter(
                        source=source, external_code=status.code, qualifier__in={status.qualifier, ""}
                    )
                )
            mapped = status_mapping_choose(
                mappings[key], source=source, code=status.code, qualifier=status.qualifier, occurred_at=occurred_at
            )
            if mapped is None:
                return None
            # Narrowed by the message's issuer context; ambiguous or unknown: the slow path says why.
            lines = lines_in_scope(
                status, lines_by_selector.get(status.line), source=source, canonical_status=mapped.status
            ).lines
            if not lines or any(line.parent_id or line.is_split for line in lines):
                return None
            facts += [
                status_fact_build(
                    message=message,
                    sequence=fact_sequence(source, parsed),
                    status=status,
                    occurred_at=occurred_at,
                    mapped=mapped,
                    line_id=line.pk,
                )
                for line in lines
            ]
    except Exception:  # noqa: BLE001  (reported by the one-by-one path)
        return None
    return parsed, facts


def _process_locked(message: InboundMessage, now: datetime) -> None:
    """Apply one message and store its outcome, both in one savepoint; a failure (of the facts or
    of the outcome's own row) rolls back this message only and is recorded in a savepoint of its own."""
    try:
        with transaction.atomic():
            _apply(message)
            _finish(message, MessageState.PROCESSED, "", processed_at=now)
            message.save(update_fields=MESSAGE_FIELDS)
        return
    except Exception as error:  # noqa: BLE001  (every failure is classified below, none escapes the batch)
        _record_failure(message, error, now)
    try:
        with transaction.atomic():
            message.save(update_fields=MESSAGE_FIELDS)
    except DatabaseError as error:
        # What the message gave us cannot even be stored as its outcome: store the bare outcome.
        logger.warning("inbound message %s: outcome not storable (%s), storing it without its facts", message.pk, error)
        message.parsed = None
        message.sequence = None
        message.last_error = storable_text(f"{message.last_error}; the outcome itself was refused: {error}")
        message.last_error = message.last_error[:MAX_ERROR_LENGTH]
        try:
            with transaction.atomic():
                message.save(update_fields=MESSAGE_FIELDS)
        except DatabaseError:
            # Left claimed: its lease runs out, the sweep queues it alone, and the attempt limit ends it.
            logger.exception("inbound message %s: no outcome could be stored", message.pk)


def _record_failure(message: InboundMessage, error: Exception, now: datetime) -> None:
    """Classify a failure: quarantined (a person must act), dead at once (bad data: permanent),
    or retried with backoff (temporary) until the attempt limit."""
    if isinstance(error, Quarantine):
        _finish(message, MessageState.QUARANTINED, str(error))
        message.parsed = {**(message.parsed or {}), "unknown_code": {"code": error.code, "qualifier": error.qualifier}}
    elif isinstance(error, FactFromTheFuture):
        zone = f"source time zone {message.source.time_zone}"
        _finish(message, MessageState.QUARANTINED, f"{_describe(error)} ({zone})")
    elif isinstance(error, AmbiguousReference):
        # Never applied to all of them: a person picks the line (or fixes the data), then replays.
        _finish(message, MessageState.QUARANTINED, str(error))
        message.parsed = {
            **(message.parsed or {}),
            "ambiguous": {"selector": str(error.selector), "candidates": error.candidates},
        }
    elif isinstance(error, TestDataForProduction):
        _finish(message, MessageState.QUARANTINED, str(error))
    elif isinstance(error, (AdapterError, ValidationError)):
        _finish(message, MessageState.DEAD, _describe(error), kind=ErrorKind.PERMANENT)
    elif isinstance(error, DataError):
        # The database refused a value of this message (a number out of range, a text too long):
        # bad data, which no retry changes.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        reason = f"a value in the message does not fit the database ({first_line}): correct the message and resend it"
        _finish(message, MessageState.DEAD, reason, kind=ErrorKind.PERMANENT)
    elif isinstance(error, (OverflowError, ValueError, UnicodeError, RecursionError)):
        reason = f"the message holds a value that cannot be used ({type(error).__name__}: {error})"
        _finish(message, MessageState.DEAD, reason, kind=ErrorKind.PERMANENT)
    elif isinstance(error, (LineNotFound, LineIsSplit)):
        # The order may simply not have arrived yet, or a line kept being split between finding
        # and locking it (found again RESOLVE_AGAIN times already): retry, then give up.
        _retry_or_die(message, str(error), now)
    else:
        # Any other failure (a deadlock, a lost connection) is taken as temporary: retried, then parked.
        _retry_or_die(message, f"{type(error).__name__}: {error}", now)


def _apply(message: InboundMessage) -> list[FactOutcome]:
    source = message.source
    parsed = _parse(message)
    message.parsed = _summary(parsed)
    message.sequence = parsed.sequence
    message.is_test = parsed.is_test
    actor = Actor.integration(source.code)
    provenance = Provenance(source_system=source.code, inbound_message_id=message.pk)
    for order in parsed.orders:
        if parsed.is_test:
            order = replace(order, is_test=True)  # a test message creates test orders only
        if order.created_at is not None:
            order = replace(order, created_at=source_time(order.created_at, source))
        order_upsert(data=order, actor=actor, provenance=provenance)
    outcomes = []
    resolved_statuses = message_statuses_resolve(source=source, parsed=parsed)
    if parsed.is_test:
        _refuse_production_lines([line for resolved in resolved_statuses for line in resolved.lines])
    for resolved in resolved_statuses:
        status, occurred_at, mapped, match = resolved.status, resolved.occurred_at, resolved.mapped, resolved.match
        if match.shipment is not None:
            shipment_track(shipment_id=match.shipment.pk, data=_shipment_data(status, source), occurred_at=occurred_at)
        waiting, done, resolves_left = list(resolved.lines), set(), RESOLVE_AGAIN
        while waiting:
            line = waiting.pop(0)
            try:
                result = _apply_fact(message, line, status, occurred_at, mapped, match=match)
            except LineIsSplit:
                # Split since we found it (by an earlier fact of this message, or by another
                # worker): find the fact's lines again, now the leaves, and go on; no attempt used.
                if not resolves_left:
                    raise
                resolves_left -= 1
                again = _status_resolve(source, status, occurred_at, mapped)
                shipment, data = again.match.shipment, _shipment_data(status, source)
                if shipment is not None and match.shipment is None:
                    shipment_track(shipment_id=shipment.pk, data=data, occurred_at=occurred_at)
                match = again.match
                waiting = [leaf for leaf in again.lines if leaf.pk not in done]
                continue
            done.add(line.pk)
            outcomes.append(
                FactOutcome(
                    line=str(result.event.line),
                    code=status.code,
                    status=mapped.status,
                    from_status=result.event.from_status,
                    outcome=result.outcome,
                )
            )
    return outcomes


# How often one fact's lines are found again when a line turns out split as it is locked.
RESOLVE_AGAIN = 3


def _apply_fact(
    message: InboundMessage,
    line: OrderLine,
    status: ParsedStatus,
    occurred_at: datetime,
    mapped: MappedStatus,
    *,
    match: Match,
) -> StatusUpdateResult:
    """One fact on one line. A partial confirmation splits the line (or, ship complete, records
    what is ready); a goods issue puts what left on its shipment."""
    source = message.source
    provenance = fact_provenance(message=message, status=status, mapped=mapped)
    actor = Actor.integration(source.code)
    # The order first, then its lines: the one lock order of the core.
    order = Order.objects.select_for_update().get(pk=line.order_id)
    partial = bool(status.quantity and status.quantity < line.quantity)
    if partial and order.ship_policy == ShipPolicy.SHIP_COMPLETE and _says_ready(mapped.status):
        result = line_ready_record(
            line_id=line.pk,
            quantity=status.quantity,
            status=mapped.status,
            occurred_at=occurred_at,
            actor=actor,
            provenance=provenance,
            received_at=message.received_at,
        )
        if result.event.kind == EventKind.READY:
            return result  # the line waits for the rest: nothing left yet
    else:
        if partial and order.ship_policy != ShipPolicy.SHIP_COMPLETE:
            line = _split_for_partial(
                line, status, occurred_at, mapped, policy=order.ship_policy, actor=actor, provenance=provenance
            )
        fact = status_fact_build(
            message=message,
            sequence=fact_sequence(message.source, message),
            status=status,
            occurred_at=occurred_at,
            mapped=mapped,
            line_id=line.pk,
        )
        result = apply_status_update(
            line_id=fact.line_id,
            status=fact.status,
            occurred_at=fact.occurred_at,
            actor=fact.actor,
            provenance=fact.provenance,
            received_at=fact.received_at,
            sequence=fact.sequence,
            clock_tolerance=fact.clock_tolerance,
        )
    if match.shipment is None and _goods_left(mapped.status, status, result):
        shipment_record(
            line_id=line.pk,
            quantity=line.quantity,
            data=_shipment_data(status, source),
            source_system=source.code,
            occurred_at=occurred_at,
        )
    return result


@dataclass(frozen=True)
class ResolvedStatus:
    """One status of a message with its code mapped and its lines found, as processing applies it."""

    status: ParsedStatus
    occurred_at: datetime  # the source's time, its zone applied
    mapped: MappedStatus
    match: Match
    lines: list[OrderLine]  # the leaf lines the fact goes to


def message_statuses_resolve(*, source: SourceSystem, parsed: ParsedMessage) -> list[ResolvedStatus]:
    """Map every code and find every line of a parsed message, reading only. Raises Quarantine
    (an unknown code), AmbiguousReference or LineNotFound for the first status that has one: the
    whole message is refused then, nothing half-applied."""
    facts = [(status, source_time(status.occurred_at, source), _mapped(source, status)) for status in parsed.statuses]
    candidates = lines_for_selectors([status.line for status in parsed.statuses])
    return [
        _status_resolve(source, status, occurred_at, mapped, candidates.get(status.line))
        for status, occurred_at, mapped in facts
    ]


def _status_resolve(
    source: SourceSystem, status: ParsedStatus, occurred_at: datetime, mapped: MappedStatus, candidates=None
) -> ResolvedStatus:
    """One status's lines (read now when no candidates are given)."""
    if candidates is None:
        candidates = lines_for_selectors([status.line]).get(status.line)
    match = lines_in_scope(status, candidates, source=source, canonical_status=mapped.status)
    lines = match.lines
    if status.quantity and len(lines) > 1:
        # A partial confirmation seen again after its split: it belongs to the confirmed child.
        lines = [line for line in lines if line.quantity == status.quantity][:1] or lines
    return ResolvedStatus(status=status, occurred_at=occurred_at, mapped=mapped, match=match, lines=lines)


def fact_provenance(*, message: InboundMessage, status: ParsedStatus, mapped: MappedStatus) -> Provenance:
    return Provenance(
        source_system=message.source.code,
        inbound_message_id=message.pk,
        reason_code=mapped.reason_code or status.reason_code,
        reason_text=status.text,
    )


def status_fact_build(
    *,
    message: InboundMessage,
    sequence: int | None,
    status: ParsedStatus,
    occurred_at: datetime,
    mapped: MappedStatus,
    line_id: int,
) -> StatusFact:
    """The status fact a message's status makes about one line, as every processing path records
    it: the same inputs give the same fact key (StatusFact.key). `sequence` is the message's."""
    source = message.source
    return StatusFact(
        line_id=line_id,
        status=mapped.status,
        occurred_at=occurred_at,
        actor=Actor.integration(source.code),
        provenance=fact_provenance(message=message, status=status, mapped=mapped),
        received_at=message.received_at,
        sequence=sequence,
        clock_tolerance=source.clock_tolerance,
    )


def _says_ready(canonical_status: str) -> bool:
    """Packed and later say the goods are complete: on a ship-complete order a partial one only
    counts what is ready. A partial pick is still picking: the whole line moves, as before."""
    return RANK.get(canonical_status, -1) >= RANK[LineStatus.PACKED]


def _goods_left(canonical_status: str, status: ParsedStatus, result: StatusUpdateResult) -> bool:
    """A goods issue creates the shipment for what left, and so does a later fact naming a
    shipment we did not know yet. A fact the line refused (rejected, contested) creates none."""
    if result.outcome in (EventOutcome.REJECTED, EventOutcome.CONTESTED):
        return False
    if canonical_status == LineStatus.SHIPPED:
        return True
    return status.names_a_shipment and RANK.get(canonical_status, -1) > RANK[LineStatus.SHIPPED]


def _shipment_data(status: ParsedStatus, source: SourceSystem) -> ShipmentData:
    return ShipmentData(
        carrier=status.carrier,
        tracking_number=status.tracking_number,
        bill_of_lading=status.bill_of_lading,
        pro_number=status.pro_number,
        ship_from=status.ship_from,
        eta=source_time(status.eta, source) if status.eta else None,
        location=status.location,
        packages=status.packages,
    )


def _split_for_partial(
    line: OrderLine,
    status: ParsedStatus,
    occurred_at: datetime,
    mapped: MappedStatus,
    *,
    policy: str,
    actor: Actor,
    provenance: Provenance,
) -> OrderLine:
    """A partial confirmation: the confirmed quantity moves on as its own child line and the rest
    stays behind, backordered (BK) or cancelled (SP), carrying none of the shipment's numbers.
    (Ship complete, SC, is never split: see line_ready_record.)"""
    confirmed, rest = split_line(
        line_id=line.pk,
        parts=[SplitPart(quantity=status.quantity, tracking_number=status.tracking_number, carrier=status.carrier)],
        actor=actor,
        reason_text=f"partial confirmation {status.quantity}/{line.quantity} ({status.code})",
        occurred_at=occurred_at,  # the split happened when the source says the part left
    )
    rest_status = LineStatus.CANCELLED if policy == ShipPolicy.PARTIAL_CANCEL else LineStatus.AWAITING_PART
    apply_status_update(
        line_id=rest.pk,
        status=rest_status,
        occurred_at=occurred_at,
        actor=actor,
        provenance=Provenance(
            source_system=provenance.source_system,
            inbound_message_id=provenance.inbound_message_id,
            reason_code="partial_rest",
            reason_text=f"{line.quantity - status.quantity} not confirmed ({policy})",
        ),
    )
    return confirmed


def _mapped(source: SourceSystem, status: ParsedStatus) -> MappedStatus:
    mapped = status_mapping_resolve(
        source=source,
        code=status.code,
        qualifier=status.qualifier,
        occurred_at=source_time(status.occurred_at, source),
    )
    if mapped is None:
        qualifier = f" (qualifier {status.qualifier})" if status.qualifier else ""
        raise Quarantine(
            f"unknown status code {status.code!r}{qualifier} from {source.code}",
            code=status.code,
            qualifier=status.qualifier,
        )
    return mapped


def fact_sequence(source: SourceSystem, parsed) -> int | None:
    """The source's own sequence number for its facts, where its format gives one (our canonical
    JSON's `sequence`). Interchange and IDoc control numbers are not: a retransmission gets a
    new one, so they must not order or tell facts apart."""
    if source.message_format != MessageFormat.CANONICAL_JSON:
        return None
    return parsed.sequence


def source_time(moment: datetime, source: SourceSystem) -> datetime:
    """Source clocks without a zone are in the source's time zone."""
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=ZoneInfo(source.time_zone))
    return moment


def _refuse_production_lines(lines: list[OrderLine]) -> None:
    production = sorted(
        Order.objects.filter(pk__in={line.order_id for line in lines}, is_test=False).values_list("number", flat=True)
    )
    if production:
        raise TestDataForProduction(
            f"the sender marked this message as test data (X12 ISA15 = T) but it names production order(s) "
            f"{', '.join(production[:5])}: not applied; send it as production data or to a test order"
        )


def _finish(
    message: InboundMessage, state: str, error: str, *, kind: str = "", processed_at: datetime | None = None
) -> None:
    """The outcome of this attempt: the lease is given back."""
    message.state = state
    message.last_error = storable_text(error)[:MAX_ERROR_LENGTH]
    message.error_kind = kind
    message.next_attempt_at = None
    message.lease_expires_at = None
    if processed_at is not None:
        message.processed_at = processed_at


def _retry_or_die(message: InboundMessage, error: str, now: datetime) -> None:
    if message.attempts >= settings.INBOUND_MAX_ATTEMPTS:
        _finish(
            message, MessageState.DEAD, f"gave up after {message.attempts} attempts: {error}", kind=ErrorKind.TEMPORARY
        )
        return
    _finish(message, MessageState.RETRYING, error, kind=ErrorKind.TEMPORARY)
    message.next_attempt_at = now + inbound_backoff(message.attempts)


def inbound_backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 2 s, 4 s, 8 s, … capped at 15 minutes."""
    ceiling = min(900.0, settings.INBOUND_RETRY_BASE_SECONDS * 2**attempts)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    return str(error)


def _summary(parsed: ParsedMessage) -> dict:
    """What the back office shows as 'parsed facts' (JSON-safe)."""
    return {
        "message_id": parsed.message_id,
        "sequence": parsed.sequence,
        "orders": [{"number": order.number, "lines": [line.number for line in order.lines]} for order in parsed.orders],
        "statuses": [
            {
                **asdict(status),
                "line": str(status.line),
                "occurred_at": status.occurred_at.isoformat(),
                "eta": status.eta.isoformat() if status.eta else None,
            }
            for status in parsed.statuses
        ],
    }


class DryRunRollback(Exception):
    """Raised to roll back everything a dry run did."""


def inbound_dry_run(*, source: SourceSystem, raw: str, user=None) -> tuple[list[FactOutcome], str]:
    """What `raw` would do if it arrived now: the full pipeline, inside a transaction that is
    rolled back. Returns the outcomes, or an error saying why it would fail. With a `user`, a
    message naming anything outside their scope is refused before it runs, as an unknown line
    (integrations.services.admission)."""
    outcomes: list[FactOutcome] = []
    error = ""
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                source=source,
                message_id=f"dry-run:{timezone.now().timestamp()}",
                transport="form",
                raw=storable_text(raw),
            )
            try:
                if user is not None:
                    message_admit(user=user, parsed=_parse(message))
                outcomes = _apply(message)
            except (Quarantine, AdapterError, LineNotFound, AmbiguousReference, TestDataForProduction) as failure:
                error = str(failure)
            except Exception as failure:  # noqa: BLE001  (the same classification a worker makes, shown)
                _record_failure(message, failure, timezone.now())
                error = message.last_error
            raise DryRunRollback
    except DryRunRollback:
        pass
    return outcomes, error
