"""Messages made of several events: the daily digest and the catch-up summary after a
maintenance window; the sweep that sends whatever is due; a test send to oneself."""

import logging
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.models import Channel, EventKind, MaintenanceWindow, Notification, NotificationStatus
from notifications.rendering import Rendered
from notifications.services.log import log_add, send_after_commit
from notifications.services.timing import quiet_until, zone_named
from notifications.services.triggers import preference_for

logger = logging.getLogger(__name__)
SWEEP_LIMIT = 500
# A notification due at its creation has its own task; the sweep takes it only after this.
OWN_TASK_GRACE = timedelta(seconds=15)


def notifications_sweep(*, now: datetime | None = None) -> int:
    """Fold due digests and ended maintenance windows, then queue every notification that is
    due, or whose worker's lease ran out. Returns how many were queued. Each step stands on its
    own: one that fails is logged, and the others still run (nothing else waits on a bad row)."""
    now = now or timezone.now()
    for step in (maintenance_summaries_create, digests_create):
        try:
            step(now=now)
        except Exception:
            logger.exception("notifications sweep: %s failed", step.__name__)
    due = Notification.objects.filter(status=NotificationStatus.PENDING, due_at__lte=now).exclude(
        channel=Channel.DIGEST
    )
    due = due.filter(Q(due_at__gt=F("created_at")) | Q(created_at__lte=now - OWN_TASK_GRACE))
    expired = Notification.objects.filter(status=NotificationStatus.CLAIMED, lease_expires_at__lte=now)
    ids = list(due.order_by("due_at").values_list("pk", flat=True)[:SWEEP_LIMIT])
    ids += list(expired.order_by("lease_expires_at").values_list("pk", flat=True)[:SWEEP_LIMIT])
    from notifications.tasks import notification_send_task

    for notification_id in ids:
        notification_send_task.delay(notification_id)
    return len(ids)


def digests_create(*, now: datetime) -> list[Notification]:
    """One digest email per recipient whose digest hour has come, with every item waiting for it."""
    addresses = list(
        Notification.objects.filter(channel=Channel.DIGEST, status=NotificationStatus.PENDING, due_at__lte=now)
        .order_by()
        .values_list("address", flat=True)
        .distinct()
    )
    created = []
    for address in addresses:
        with transaction.atomic():
            items = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(channel=Channel.DIGEST, status=NotificationStatus.PENDING, due_at__lte=now, address=address)
                .order_by("pk")
            )
            if not items:
                continue
            digest = _batch_create(
                items,
                kind=EventKind.DIGEST,
                event_key=f"digest:{items[0].due_at:%Y-%m-%d}:{items[0].pk}",
                channel=Channel.EMAIL,
                address=address,
                now=now,
            )
            created.append(digest)
    send_after_commit([digest.pk for digest in created])
    return created


def maintenance_summaries_create(*, now: datetime) -> list[Notification]:
    """For each window that has ended: one catch-up summary per recipient with everything it
    held, showing where each line stands now (what moved on meanwhile is not sent stale)."""
    created = []
    # A window extended after its summary went out holds again: it is summed up again when it ends.
    still_holding = Exists(Notification.objects.filter(held_by=OuterRef("pk"), status=NotificationStatus.HELD))
    ended = MaintenanceWindow.objects.filter(ends_at__lte=now).filter(Q(summary_sent_at__isnull=True) | still_holding)
    for window_id in ended.values_list("pk", flat=True):
        try:
            created += _window_summaries_create(window_id, now=now)
        except Exception:
            logger.exception("maintenance window %s: the catch-up summaries failed", window_id)
    # Held by a window that was deleted meanwhile: sent as they are.
    orphans = Notification.objects.filter(status=NotificationStatus.HELD, held_by__isnull=True)
    orphans.update(status=NotificationStatus.PENDING, due_at=now)
    return created


def _window_summaries_create(window_id: int, *, now: datetime) -> list[Notification]:
    """The catch-up summaries of one window, in one transaction (all or none)."""
    created: list[Notification] = []
    with transaction.atomic():
        window = MaintenanceWindow.objects.select_for_update(skip_locked=True).filter(pk=window_id).first()
        if window is None or window.ends_at > now:
            return created
        held = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(held_by=window, status=NotificationStatus.HELD)
            .select_related("contact")
            .order_by("pk")
        )
        if not held and window.summary_sent_at is not None:
            return created
        for (channel, address), items in _by_recipient(held).items():
            summary = _batch_create(
                items,
                kind=EventKind.MAINTENANCE_SUMMARY,
                event_key=f"maintenance:{window.pk}:{items[0].pk}",
                channel=channel,
                address=address,
                now=now,
                held_by=window,
            )
            _after_quiet_hours(summary, now=now)
            created.append(summary)
        window.summary_sent_at = now
        window.save(update_fields=["summary_sent_at"])
        send_after_commit([summary.pk for summary in created if summary.due_at <= now])
    return created


def _after_quiet_hours(summary: Notification, *, now: datetime) -> None:
    """A routine catch-up waits for the end of the recipient's quiet hours, as each held
    message would have; a critical one goes at once."""
    preference = preference_for(summary.contact) if summary.contact_id else None
    if summary.critical or preference is None:
        return
    until = quiet_until(
        moment=now, zone=zone_named(summary.time_zone), start=preference.quiet_start, end=preference.quiet_end
    )
    if until is not None:
        summary.due_at = until
        summary.save(update_fields=["due_at"])
        log_add(summary, NotificationStatus.PENDING, detail=_("after the recipient's quiet hours"), at=now)


def _by_recipient(held: list[Notification]) -> dict[tuple[str, str], list[Notification]]:
    """Held messages grouped by the (channel, address) their summary goes to: a person gets it
    by SMS when something held was an SMS, else by email; people who share a number (a site
    phone) share its summary, as they would share each message."""
    people: dict[str, list[Notification]] = {}
    for notification in held:
        person = (notification.contact.email if notification.contact else "") or notification.address
        people.setdefault(person.lower(), []).append(notification)
    groups: dict[tuple[str, str], list[Notification]] = {}
    for person, items in people.items():
        sms = [item for item in items if item.channel == Channel.SMS]
        key = (Channel.SMS, sms[-1].address) if sms else (Channel.EMAIL, person)
        groups.setdefault(key, []).extend(items)
    for items in groups.values():
        items.sort(key=lambda item: item.pk)
    return groups


def _batch_create(
    items: list[Notification], *, kind: str, event_key: str, channel: str, address: str, now: datetime, held_by=None
) -> Notification:
    latest = items[-1]
    orders = {item.order_id for item in items}
    batch = Notification.objects.create(
        event_key=event_key,
        kind=kind,
        # About one order: it is that order's message (its page and scope show it).
        order_id=orders.pop() if len(orders) == 1 else None,
        contact=latest.contact,
        role=latest.role,
        recipient_name=latest.recipient_name,
        address=address,
        channel=channel,
        locale=latest.locale,
        time_zone=latest.time_zone,
        critical=any(item.critical for item in items),
        held_by=held_by,
        facts={"events": [item.event_key for item in items]},
        due_at=now,
    )
    Notification.objects.filter(pk__in=[item.pk for item in items]).update(
        status=NotificationStatus.FOLDED, folded_into=batch
    )
    updates = ngettext("%(count)d update", "%(count)d updates", len(items)) % {"count": len(items)}
    log_add(batch, NotificationStatus.PENDING, detail=updates, at=now)
    for item in items:
        log_add(item, NotificationStatus.FOLDED, detail=_("into #%(id)d") % {"id": batch.pk}, at=now)
    return batch


def notification_test_send(*, user, rendered: Rendered, order, channel: str, address: str, locale: str) -> Notification:
    """Send a rendered template (a preview) to oneself, through the normal path and log."""
    with transaction.atomic():
        notification = Notification.objects.create(
            event_key=f"test:{uuid.uuid4().hex}",
            kind=EventKind.TEST,
            order=order,
            recipient_name=user.get_full_name() or user.get_username(),
            address=address,
            channel=channel,
            locale=locale,
            subject=rendered.subject,
            body=rendered.text,
            body_html=rendered.html,
            template=rendered.template,
            template_version=rendered.version,
            critical=True,
            due_at=timezone.now(),
            created_by=user,
        )
        log_add(
            notification, NotificationStatus.PENDING, detail=_("test send by %(user)s") % {"user": user.get_username()}
        )
        send_after_commit([notification.pk])
    return notification
