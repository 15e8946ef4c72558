"""Sending one notification: claim it with a lease, render it once, hand it to the provider,
record the answer.

Never a second message: the claim marks the moment the message may reach the provider
(`send_started_at`). A worker that takes over an SMS whose earlier attempt may have reached the
provider (the worker died, the answer timed out) first asks Twilio for a message with the same
text to the same number since then, and adopts it instead of sending again. An email in that
case is not sent again: SMTP cannot be asked, so it is marked "sent, unconfirmed" (at most once).
"""

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.channels import DeliveryError
from notifications.channels.email import email_send
from notifications.channels.sms import Accepted, sms_find, sms_send
from notifications.context import message_context
from notifications.links import links_masked, links_opened, links_sealed, links_sent_record
from notifications.models import BlockedAddress, Channel, EventKind, Notification, NotificationStatus
from notifications.models.deliveries import RANK
from notifications.phones import phone_normalised
from notifications.rendering import message_render
from notifications.services.log import log_add, send_after_commit
from notifications.services.windows import window_holding
from orders.models import ContactRole

logger = logging.getLogger(__name__)

TWILIO_STATUSES = {
    "accepted": NotificationStatus.QUEUED,
    "scheduled": NotificationStatus.QUEUED,
    "queued": NotificationStatus.QUEUED,
    "sending": NotificationStatus.SENDING,
    "sent": NotificationStatus.SENT,
    "delivered": NotificationStatus.DELIVERED,
    "read": NotificationStatus.DELIVERED,
    "undelivered": NotificationStatus.UNDELIVERED,
    "failed": NotificationStatus.FAILED,
    "canceled": NotificationStatus.FAILED,
}


class RecipientRemoved(Exception):
    """The message's recipient is no longer among the order's contacts: it is not sent."""


class RecipientsChanged(Exception):
    """Some of the people a digest or summary was written for were removed from their orders:
    it is written again for the others."""


@dataclass(frozen=True)
class Claim:
    notification: Notification
    token: str
    recovering: bool  # an earlier attempt may have reached the provider
    # The words to send, status link tokens included; the row stores them sealed (references to
    # the links, notifications.links), so the admin's log and the database hold no working link.
    subject: str = ""
    text: str = ""
    html: str = ""


def _email(claim) -> "Accepted":
    """Hand the claimed email to the mail server (its Message-ID names the notification)."""
    email_send(
        to=claim.notification.address,
        subject=claim.subject,
        text=claim.text,
        html=claim.html,
        message_id=f"<notification-{claim.notification.pk}@{_mail_domain()}>",
    )
    return Accepted(provider_id="", status="sent")


def notification_send(*, notification_id: int, now: datetime | None = None) -> str:
    """Send the notification if it is due and nobody holds it. Returns what happened (for logs
    and tests). Idempotent: a sent, held, folded or claimed notification is left alone."""
    claim = _claim(notification_id, now=now or timezone.now())
    if claim is None:
        return "nothing to do"
    notification = claim.notification
    try:
        accepted = _sms(claim) if notification.channel == Channel.SMS else _email(claim)
    except RecipientRemoved as removed:
        return _not_sent(claim, reason=str(removed))
    except RecipientsChanged:
        return _written_again(claim)
    except DeliveryError as error:
        return _failed(claim, error)
    except Exception as error:  # noqa: BLE001  (a bug or a library's surprise: counted, retried, never a loop)
        logger.exception("notification %s: sending failed", notification.pk)
        return _failed(
            claim,
            DeliveryError(
                f"{type(error).__name__}: {error}", permanent=False, maybe_delivered=notification.channel == Channel.SMS
            ),
        )
    return _sent(claim, accepted)


def _claim(notification_id: int, *, now: datetime) -> Claim | None:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order__account", "line__part", "line__site", "contact", "held_by")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.channel == Channel.DIGEST:
            return None
        pending = notification.status == NotificationStatus.PENDING and notification.due_at <= now
        lease_over = (
            notification.status == NotificationStatus.CLAIMED
            and notification.lease_expires_at is not None
            and notification.lease_expires_at <= now
        )
        if not (pending or lease_over):
            return None
        window = window_holding(notification, now=now) if pending else None
        if window is not None:
            # It waited (quiet hours, a throttle) while a window started: the window holds it.
            notification.status, notification.held_by, notification.due_at = (
                NotificationStatus.HELD,
                window,
                window.ends_at,
            )
            notification.save(update_fields=["status", "held_by", "due_at"])
            log_add(
                notification,
                NotificationStatus.HELD,
                detail=_("held by the maintenance window “%(window)s”") % {"window": window.name},
                at=now,
            )
            return None
        if notification.send_started_at is not None and notification.channel != Channel.SMS:
            # The worker died after handing the email to the mail server, or just before: never
            # sent twice (at most once for email), and the log says it is unconfirmed.
            _give_up(
                notification,
                now=now,
                status=NotificationStatus.UNCONFIRMED,
                reason=_(
                    "a worker stopped while handing the message to the mail server: it is not sent again, "
                    "and may not have arrived"
                ),
            )
            return None
        if lease_over and notification.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            _give_up(
                notification,
                now=now,
                status=NotificationStatus.FAILED,
                reason=_("gave up after %(count)d attempts: each worker stopped before it ended")
                % {"count": notification.attempts},
            )
            return None
        if notification.channel == Channel.SMS and _blocked(notification.address):
            _give_up(notification, now=now, status=NotificationStatus.SKIPPED, reason=_("the number is blocked"))
            return None
        if notification.send_started_at is None:
            # A message an earlier attempt may have handed over is not judged here: an SMS is
            # looked up at Twilio first (_sms), an email ended "sent, unconfirmed" above.
            gone, kept = _recipients(notification)
            if gone and not kept:
                reason = _removed_reason(gone[0], notification)
                _give_up(notification, now=now, status=NotificationStatus.SKIPPED, reason=reason, email_instead=False)
                return None
            if gone:
                _removed_dropped(notification, gone=gone, kept=kept, now=now)
                notification.subject = notification.body = notification.body_html = ""  # written without them
        fresh = not notification.body
        if fresh:
            rendered = message_render(
                kind=notification.kind,
                channel=notification.channel,
                locale=notification.locale,
                context=message_context(notification),
            )
            if rendered.error:
                _give_up(notification, now=now, status=NotificationStatus.FAILED, reason=rendered.error)
                return None
            notification.subject, notification.body, notification.body_html = (
                rendered.subject,
                rendered.text,
                rendered.html,
            )
            notification.template, notification.template_version = rendered.template, rendered.version
            if rendered.missing:
                log_add(
                    notification, "rendered", detail=_("missing: %(names)s") % {"names": ", ".join(rendered.missing)}
                )
        recovering = notification.send_started_at is not None
        if fresh:
            words = (notification.subject, notification.body, notification.body_html)
            notification.subject, notification.body, notification.body_html = (links_sealed(text) for text in words)
        elif recovering and notification.channel == Channel.SMS:
            words = ("", "", "")  # sent only when the provider does not have it (_sms opens it then)
        else:
            words = links_opened(notification, notification.subject, notification.body, notification.body_html)
        token = uuid.uuid4().hex
        notification.status = NotificationStatus.CLAIMED
        notification.claim_token = token
        notification.lease_expires_at = now + timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS)
        notification.attempts += 1
        notification.send_started_at = notification.send_started_at or now
        notification.save()
        log_add(
            notification,
            NotificationStatus.CLAIMED,
            detail=_("attempt %(attempt)d") % {"attempt": notification.attempts}
            + (" · " + _("an earlier attempt may have reached the provider") if recovering else ""),
            at=now,
        )
    subject, text, html = words
    return Claim(notification=notification, token=token, recovering=recovering, subject=subject, text=text, html=html)


def _sms(claim: Claim) -> Accepted:
    notification = claim.notification
    if claim.recovering:
        refused = frozenset(notification.log.filter(status="superseded").values_list("provider_id", flat=True))
        found = sms_find(
            to=notification.address,
            body=links_masked(notification.body),
            since=notification.send_started_at,
            exclude=refused,
            compared=links_masked,
        )
        if found is not None:
            log_add(notification, "found at provider", provider_id=found.provider_id, detail=_("not sent again"))
            return found
        gone, kept = _recipients(notification)
        if gone and not kept:
            raise RecipientRemoved(_removed_reason(gone[0], notification))
        if gone:
            raise RecipientsChanged
    text = claim.text or (links_opened(notification, notification.body)[0] if claim.recovering else notification.body)
    return sms_send(to=notification.address, body=text, status_callback=status_callback_url(notification))


def status_callback_url(notification: Notification) -> str:
    if not settings.PUBLIC_BASE_URL:
        return ""
    from django.urls import reverse

    return f"{settings.PUBLIC_BASE_URL}{reverse('notifications:twilio_status')}?n={notification.pk}"


def _sent(claim: Claim, accepted: Accepted) -> str:
    now = timezone.now()
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=claim.notification.pk)
        if notification.claim_token != claim.token:
            # The lease ran out and another attempt took over, or a callback sent it back to
            # retry: the row is no longer this worker's to write.
            log_add(
                notification, "late answer", provider_id=accepted.provider_id, detail=_("another attempt took over")
            )
            return "late"
        status = TWILIO_STATUSES.get(accepted.status, NotificationStatus.QUEUED)
        if notification.channel != Channel.SMS:
            status = NotificationStatus.SENT
        if RANK.get(status, 0) > RANK.get(notification.status, 0):
            notification.status = status
        notification.provider_id = notification.provider_id or accepted.provider_id
        notification.sent_at = now
        notification.lease_expires_at = None
        notification.claim_token = ""
        notification.last_error = ""
        notification.save()
        log_add(notification, status, provider_id=accepted.provider_id, at=now)
        links_sent_record(notification)
    return "sent"


def _failed(claim: Claim, error: DeliveryError) -> str:
    now = timezone.now()
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=claim.notification.pk)
        if notification.claim_token != claim.token:
            log_add(notification, "late error", detail=str(error))
            return "late"
        notification.claim_token = ""
        notification.lease_expires_at = None
        notification.error_code = error.code
        notification.last_error = str(error)[:500]
        if not error.maybe_delivered:
            notification.send_started_at = None  # the provider said no: the next attempt sends
        if not error.permanent and notification.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS:
            notification.status = NotificationStatus.PENDING
            notification.due_at = now + retry_delay(notification.attempts)
            notification.save()
            log_add(notification, "retry", detail=str(error), error_code=error.code, at=now)
            return "retry"
        notification.status = NotificationStatus.FAILED
        notification.final_at = now
        notification.save()
        log_add(notification, NotificationStatus.FAILED, detail=str(error), error_code=error.code, at=now)
        if error.permanent:
            permanent_failure_follow_up(notification, block=error.block, detail=str(error), now=now)
    return "failed"


def permanent_failure_follow_up(notification: Notification, *, block: str, detail: str, now: datetime) -> None:
    """After a permanent SMS failure: block the number when the reason says so, and email
    instead when the rule allows (the fallback is its own notification of the same event)."""
    if notification.channel != Channel.SMS:
        return
    if block:
        address_block(address=notification.address, reason=block, detail=detail, now=now)
    if notification.fallback_address:
        fallback = email_fallback_create(notification, now=now)
        if fallback is not None:
            send_after_commit([fallback.pk])


def address_block(*, address: str, reason: str, detail: str, now: datetime) -> bool:
    """Mark the number unusable until a person clears it (once: an active block stays as it is)."""
    address = phone_normalised(address)
    if BlockedAddress.objects.filter(channel=Channel.SMS, address=address, cleared_at__isnull=True).exists():
        return False
    try:
        with transaction.atomic():
            BlockedAddress.objects.create(
                channel=Channel.SMS, address=address, reason=reason, detail=detail[:300], blocked_at=now
            )
    except Exception:  # noqa: BLE001  (IntegrityError: blocked concurrently, which is the same)
        return False
    return True


def email_fallback_create(notification: Notification, *, now: datetime) -> Notification | None:
    if Notification.objects.filter(
        event_key=notification.event_key, address=notification.fallback_address, channel=Channel.EMAIL
    ).exists():
        return None
    fallback = Notification.objects.create(
        event_key=notification.event_key,
        kind=notification.kind,
        order_id=notification.order_id,
        line_id=notification.line_id,
        rule_id=notification.rule_id,
        contact_id=notification.contact_id,
        role=notification.role,
        recipient_name=notification.recipient_name,
        address=notification.fallback_address,
        channel=Channel.EMAIL,
        locale=notification.locale,
        time_zone=notification.time_zone,
        critical=notification.critical,
        facts=notification.facts,
        fallback_for=notification,
        due_at=now,
    )
    log_add(
        fallback,
        NotificationStatus.PENDING,
        detail=_("email instead of the SMS to %(number)s") % {"number": notification.address},
        at=now,
    )
    return fallback


def _recipients(notification: Notification) -> tuple[list[Notification], list[Notification]]:
    """The messages `notification` was written for (itself, and those folded into it: a digest
    or summary gathers one person's, or one shared phone's, across orders) split into those whose
    contact was removed from their order since (by a person, or by the source naming another)
    and those whose contact is still there. A removed person no longer follows that order: their
    part would carry the order's news and a link they no longer hold (removing the contact
    removed it)."""
    items = (
        Notification.objects.filter(Q(pk=notification.pk) | Q(folded_into=notification))
        .exclude(role="")
        .select_related("contact")
        .order_by("pk")
    )
    gone, kept = [], []
    for item in items:
        (gone if item.contact_id is None else kept).append(item)
    return gone, kept


def _removed_reason(item: Notification, notification: Notification) -> str:
    return _("%(name)s (%(role)s) was removed from the order's contacts") % {
        "name": item.recipient_name or notification.address,
        "role": dict(ContactRole.choices).get(item.role, item.role),
    }


def _removed_dropped(
    notification: Notification, *, gone: list[Notification], kept: list[Notification], now: datetime
) -> None:
    """Take the messages of removed recipients out of `notification` (each ends "Not sent" with
    the reason, and no longer counts as carried by it), which then goes to those left, written
    for the newest of them. Changes `notification` in memory only: the caller saves it."""
    reasons = []
    for item in gone:
        reason = _removed_reason(item, notification)
        if reason not in reasons:
            reasons.append(reason)
        if item.pk != notification.pk:
            item.status, item.folded_into, item.last_error, item.final_at = (
                NotificationStatus.SKIPPED,
                None,
                reason[:500],
                now,
            )
            item.save(update_fields=["status", "folded_into", "last_error", "final_at"])
            log_add(item, NotificationStatus.SKIPPED, detail=reason, at=now)
    for reason in reasons:
        log_add(notification, "recipient removed", detail=reason, at=now)
    newest = kept[-1]
    if notification.contact_id is None:
        notification.contact, notification.role, notification.recipient_name = (
            newest.contact,
            newest.role,
            newest.recipient_name,
        )
        notification.locale, notification.time_zone = newest.locale, newest.time_zone
    if notification.kind in (EventKind.DIGEST, EventKind.MAINTENANCE_SUMMARY):
        orders = {item.order_id for item in kept if item.pk != notification.pk}
        # About one order now: it is that order's message (its page and scope show it).
        if len(orders) == 1:
            notification.order_id = orders.pop()


def _written_again(claim: Claim) -> str:
    """An SMS Twilio does not have after all, some of whose recipients were removed meanwhile:
    it goes back to be written again for the others (a fresh claim renders it)."""
    now = timezone.now()
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=claim.notification.pk)
        if notification.claim_token != claim.token:
            return "late"
        notification.claim_token = ""
        gone, kept = _recipients(notification)
        if not kept:
            reason = _removed_reason(gone[0], notification) if gone else ""
            _give_up(notification, now=now, status=NotificationStatus.SKIPPED, reason=reason, email_instead=False)
            return "not sent"
        if gone:
            _removed_dropped(notification, gone=gone, kept=kept, now=now)
        notification.subject = notification.body = notification.body_html = ""
        notification.status, notification.due_at = NotificationStatus.PENDING, now
        notification.lease_expires_at = notification.send_started_at = None
        notification.save()
        send_after_commit([notification.pk])
    return "written again"


def _not_sent(claim: Claim, *, reason: str) -> str:
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=claim.notification.pk)
        if notification.claim_token != claim.token:
            return "late"
        notification.claim_token = ""
        _give_up(
            notification, now=timezone.now(), status=NotificationStatus.SKIPPED, reason=reason, email_instead=False
        )
    return "not sent"


def _give_up(
    notification: Notification, *, now: datetime, status: str, reason: str, email_instead: bool = True
) -> None:
    notification.status = status
    notification.last_error = reason[:500]
    notification.final_at = now
    notification.lease_expires_at = None
    notification.save()
    log_add(notification, status, detail=reason, at=now)
    if status == NotificationStatus.SKIPPED and email_instead:
        permanent_failure_follow_up(notification, block="", detail=reason, now=now)


def _blocked(address: str) -> bool:
    return BlockedAddress.objects.filter(
        channel=Channel.SMS, address=phone_normalised(address), cleared_at__isnull=True
    ).exists()


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 30 s, 1, 2, 4 minutes ..., capped at an hour."""
    ceiling = min(3600, 30 * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _mail_domain() -> str:
    from urllib.parse import urlsplit

    return urlsplit(settings.PUBLIC_BASE_URL).hostname or "localhost"
