"""What Twilio tells us afterwards: status callbacks (each recorded once, statuses only move
forward, a final one never changes) and inbound SMS (STOP blocks the number)."""

import unicodedata
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.channels.sms import BLOCKING_CODES, PERMANENT_CODES
from notifications.links import links_undelivered_record
from notifications.log_labels import error_code_label, log_status_label
from notifications.models import BlockReason, DeliveryLogEntry, Notification, NotificationStatus
from notifications.models.deliveries import RANK
from notifications.services.sending import TWILIO_STATUSES, address_block, permanent_failure_follow_up, retry_delay

# Twilio's opt-out keywords (its carrier-level STOP handling replies to these too), and the
# French one Canadian carriers require.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ARRET"})
FAILED = (NotificationStatus.UNDELIVERED, NotificationStatus.FAILED)


def twilio_status_record(
    *, notification_id: int, sid: str, status: str, error_code: str, token: str, now: datetime | None = None
) -> str:
    """Record one status callback. Returns what it did: "duplicate" (this callback was recorded
    already), "recorded" (logged, no change: an earlier attempt, or a step back), "updated",
    "retry" or "failed". Raises Notification.DoesNotExist and KeyError (unknown status)."""
    now = now or timezone.now()
    new = TWILIO_STATUSES[status]
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        try:
            with transaction.atomic():
                DeliveryLogEntry.objects.create(
                    notification=notification,
                    at=now,
                    status=status,
                    provider_id=sid,
                    error_code=error_code,
                    detail=_("status callback"),
                    # One row per (message, status): the same callback retried (same token) and
                    # a replay under a made-up token (the header is not signed) are both one.
                    callback_token=f"{sid}:{status}:{error_code}"[:200],
                )
        except IntegrityError:
            return "duplicate"
        if notification.provider_id and notification.provider_id != sid:
            return "recorded"  # about an earlier attempt
        if not notification.provider_id:
            superseded = notification.log.filter(status="superseded", provider_id=sid).exists()
            if notification.status != NotificationStatus.CLAIMED or superseded:
                return "recorded"
            # The callback overtook the worker's own record of the answer.
            notification.provider_id = sid
        if notification.is_final or RANK.get(new, 0) <= RANK.get(notification.status, 0):
            notification.save(update_fields=["provider_id"])
            return "recorded"
        notification.status = new
        if new not in FAILED:
            if new == NotificationStatus.DELIVERED:
                notification.final_at = now
            notification.save()
            return "updated"
        notification.error_code = error_code
        links_undelivered_record(notification)
        permanent = error_code in PERMANENT_CODES
        if not permanent and notification.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS:
            # A temporary failure on the carrier's side: the same notification tries again.
            DeliveryLogEntry.objects.create(notification=notification, at=now, status="superseded", provider_id=sid)
            notification.status = NotificationStatus.PENDING
            notification.due_at = now + retry_delay(notification.attempts)
            notification.provider_id = ""
            notification.send_started_at = None
            notification.claim_token = ""
            notification.lease_expires_at = None
            notification.last_error = _("%(status)s, %(error)s: trying again") % _callback_words(status, error_code)
            notification.save()
            return "retry"
        notification.final_at = now
        notification.last_error = _("%(status)s, %(error)s") % _callback_words(status, error_code)
        notification.save()
        if permanent:
            permanent_failure_follow_up(
                notification, block=BLOCKING_CODES.get(error_code, ""), detail=notification.last_error, now=now
            )
        return "failed"


def _callback_words(status: str, error_code: str) -> dict:
    return {
        "status": log_status_label(status, callback=True),
        "error": error_code_label(error_code) or _("no error code"),
    }


def stop_word(body: str) -> str:
    """The reply as one keyword, the way Twilio matches them: the whole message, in any case,
    width or accent ("ＳＴＯＰ", "Arrêt"), without spaces, invisible characters and end punctuation."""
    text = unicodedata.normalize("NFKD", body)
    text = "".join(char for char in text if not unicodedata.combining(char) and unicodedata.category(char) != "Cf")
    return text.strip().strip(".!").strip().upper()


def twilio_inbound_record(*, from_number: str, body: str, now: datetime | None = None) -> bool:
    """An SMS a recipient sent us. STOP (and Twilio's other opt-out words) blocks the number
    until a person clears it; returns whether it was an opt-out."""
    if stop_word(body) not in STOP_WORDS:
        return False
    address_block(
        address=from_number,
        reason=BlockReason.OPT_OUT,
        detail=_("replied “%(word)s”") % {"word": body.strip()[:20]},
        now=now or timezone.now(),
    )
    return True
