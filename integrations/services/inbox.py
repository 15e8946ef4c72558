"""Storing inbound messages: committed before anyone is told they arrived.

A message is the same message only when its source, its id and the hash of its content agree:
the same id with another body is stored as a new revision (a correction, or the complete copy
of a truncated one) and processed in its turn.
"""

import hashlib
import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from integrations.adapters import adapter_for
from integrations.adapters.base import storable_text
from integrations.models import ErrorKind, InboundMessage, MessageState, SourceSystem

logger = logging.getLogger(__name__)
WAITING = [MessageState.RECEIVED, MessageState.RETRYING]
REQUEUE_BACKOFF_CAP = timedelta(hours=1)


def content_hash_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def message_id_for(source: SourceSystem, raw: str) -> str:
    """The source's own id when the format has one, else a hash of the content."""
    try:
        own_id = adapter_for(source.message_format).peek_message_id(raw)
    except Exception:  # noqa: BLE001  (peeking is best effort: a hostile body falls back to its hash)
        own_id = None
    if own_id:
        return storable_text(own_id)[:120]
    return "sha256:" + content_hash_of(_encoded(raw))


def inbound_message_receive(
    *,
    source: SourceSystem,
    raw: str,
    transport: str,
    content_type: str = "",
    message_id: str | None = None,
    provenance: str = "",
    uploaded_by=None,
    failure: str = "",
    raw_bytes: bytes | None = None,
) -> tuple[InboundMessage, bool]:
    """Store the message and queue it; (the original, False) when it is a duplicate (same id,
    same content). The same id with other content is stored as the next revision.

    `failure` stores a message that is already known to be unusable (not text, say) straight
    into the dead letters, so that nothing sent to us is lost. `raw_bytes` is the body as
    received when `raw` is only a storable rendering of it.
    """
    stored_raw = storable_text(raw)
    if raw_bytes is None and stored_raw != raw:
        raw_bytes = _encoded(raw)
    content_hash = content_hash_of(raw_bytes if raw_bytes is not None else _encoded(raw))
    message_id = storable_text(message_id)[:120] if message_id else message_id_for(source, raw)
    for _attempt in range(5):
        same = InboundMessage.objects.filter(source=source, message_id=message_id)
        original = same.filter(content_hash=content_hash).first()
        if original is not None:
            return original, False
        message = InboundMessage(
            source=source,
            message_id=message_id,
            content_hash=content_hash,
            revision=(same.aggregate(last=Max("revision"))["last"] or 0) + 1,
            transport=transport,
            content_type=storable_text(content_type)[:100],
            raw=stored_raw,
            raw_bytes=raw_bytes,
            provenance=storable_text(provenance)[:200],
            uploaded_by=uploaded_by,
        )
        if failure:
            message.state = MessageState.DEAD
            message.last_error = storable_text(failure)
            message.error_kind = ErrorKind.PERMANENT
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            continue  # another copy or revision was stored meanwhile: look again
        if not failure:
            transaction.on_commit(partial(inbound_message_enqueue, message_id=message.pk), robust=True)
        return message, True
    raise IntegrityError(f"could not store a revision of {source.code}:{message_id} after 5 tries")


def inbound_message_enqueue(*, message_id: int) -> None:
    """Wake a worker for a stored message. The broker only wakes workers: when it is down the
    message is safe in the inbox and the sweep queues it later, so a failure is logged, not raised."""
    from integrations.tasks import inbound_process  # tasks import services; import late to avoid a cycle

    try:
        inbound_process.delay(message_id)
    except Exception:  # noqa: BLE001  (the broker, not the message: the sweep takes over)
        logger.warning("inbound message %s stored, not queued (broker down?): the sweep will queue it", message_id)


def inbound_messages_replay(*, message_ids: list[int]) -> int:
    """Put dead, quarantined or retrying messages back in the queue. Processed ones are left
    alone: replaying them could only produce duplicates, which are recorded as nothing."""
    replayable = [MessageState.DEAD, MessageState.QUARANTINED, MessageState.RETRYING]
    with transaction.atomic():
        messages = list(InboundMessage.objects.select_for_update().filter(pk__in=message_ids, state__in=replayable))
        for message in messages:
            message.state = MessageState.RECEIVED
            message.attempts = 0
            message.next_attempt_at = None
            message.lease_expires_at = None
            message.error_kind = ""
            message.save(update_fields=["state", "attempts", "next_attempt_at", "lease_expires_at", "error_kind"])
            transaction.on_commit(partial(inbound_message_enqueue, message_id=message.pk), robust=True)
    return len(messages)


def inbound_requeue_due(*, stale_after: timedelta, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Mark and return the messages the sweep must queue again, and only those:

    - received, never claimed and older than `stale_after` (their task was lost), again after a
      pause that doubles each time (a long backlog is not queued all over again every sweep);
    - claimed by a worker whose lease expired (it died holding them), once per lease;
    - retries whose time has come, once per schedule.
    Any of these still waiting `stale_after` after being queued is queued again (that task was lost too).
    Messages a worker is processing right now are locked and skipped."""
    now = now or timezone.now()
    lost = Q(state=MessageState.RECEIVED, lease_expires_at__isnull=True, received_at__lte=now - stale_after) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(state__in=WAITING, lease_expires_at__lt=now) & (
        Q(requeued_at__isnull=True) | Q(requeued_at__lt=F("lease_expires_at")) | Q(requeued_at__lte=now - stale_after)
    )
    due = Q(state=MessageState.RETRYING, lease_expires_at__isnull=True, next_attempt_at__lte=now) & (
        Q(requeued_at__isnull=True) | Q(requeued_at__lt=F("next_attempt_at")) | Q(requeued_at__lte=now - stale_after)
    )
    with transaction.atomic():
        messages = list(
            InboundMessage.objects.select_for_update(skip_locked=True)
            .filter(lost | abandoned | due)
            .order_by("id")[:limit]
        )
        for message in messages:
            message.requeued_at = now
            message.requeue_count += 1
            if message.state == MessageState.RECEIVED and message.lease_expires_at is None:
                pause = min(stale_after * 2 ** min(message.requeue_count, 16), REQUEUE_BACKOFF_CAP)
                message.next_attempt_at = now + pause  # for a received message: when the sweep looks again
        InboundMessage.objects.bulk_update(messages, ["requeued_at", "requeue_count", "next_attempt_at"])
    return [message.pk for message in messages]


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")
