"""Storing inbound messages: committed before anyone is told they arrived."""

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.adapters import adapter_for
from integrations.models import InboundMessage, MessageState, SourceSystem


def message_id_for(source: SourceSystem, raw: str) -> str:
    """The source's own id when the format has one, else a hash of the content."""
    own_id = adapter_for(source.message_format).peek_message_id(raw)
    return own_id[:120] if own_id else "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


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
) -> tuple[InboundMessage, bool]:
    """Store the message and queue it; (the original, False) when it is a duplicate.

    `failure` stores a message that is already known to be unusable (not text, say) straight
    into the dead letters, so that nothing sent to us is lost.
    """
    from integrations.tasks import inbound_process  # tasks import services; import late to avoid a cycle

    message = InboundMessage(
        source=source,
        message_id=message_id or message_id_for(source, raw),
        transport=transport,
        content_type=content_type[:100],
        raw=raw,
        provenance=provenance,
        uploaded_by=uploaded_by,
    )
    if failure:
        message.state = MessageState.DEAD
        message.last_error = failure
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        original = InboundMessage.objects.get(source=source, message_id=message.message_id)
        return original, False
    if not failure:
        transaction.on_commit(lambda: inbound_process.delay(message.pk))
    return message, True


def inbound_messages_replay(*, message_ids: list[int]) -> int:
    """Put dead, quarantined or retrying messages back in the queue. Processed ones are left
    alone: replaying them could only produce duplicates, which are recorded as nothing."""
    from integrations.tasks import inbound_process

    replayable = [MessageState.DEAD, MessageState.QUARANTINED, MessageState.RETRYING]
    with transaction.atomic():
        messages = list(InboundMessage.objects.select_for_update().filter(pk__in=message_ids, state__in=replayable))
        for message in messages:
            message.state = MessageState.RECEIVED
            message.attempts = 0
            message.next_attempt_at = None
            message.save(update_fields=["state", "attempts", "next_attempt_at"])
            transaction.on_commit(lambda pk=message.pk: inbound_process.delay(pk))
    return len(messages)


def inbound_pending_ids(*, stale_after: timedelta, limit: int = 1000) -> list[int]:
    """Messages a lost task left behind (received long enough ago) and retries that are due."""
    now = timezone.now()
    received = InboundMessage.objects.filter(state=MessageState.RECEIVED, received_at__lte=now - stale_after)
    retries = InboundMessage.objects.filter(state=MessageState.RETRYING, next_attempt_at__lte=now)
    ids = list(received.order_by("id").values_list("id", flat=True)[:limit])
    ids += list(retries.order_by("id").values_list("id", flat=True)[: max(0, limit - len(ids))])
    return ids
