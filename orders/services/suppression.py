"""Hiding a status event from customers: itself an audited override, never a deletion."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from orders.models import EventSuppression, StatusEvent
from orders.publication import Topic
from orders.services.outbox import outbox_publish


def status_event_suppress(
    *, event_id: int, user, reason_code: str, reason_text: str, approved_by=None
) -> EventSuppression:
    """Hide one event from customer surfaces. Needs orders.suppress_statusevent, held by the
    approver when there is one (a four-eyes request), else by the user."""
    if not reason_text.strip():
        raise ValidationError({"reason_text": _("A suppression needs a written justification.")})
    if not (approved_by or user).has_perm("orders.suppress_statusevent"):
        raise PermissionDenied(_("You may not suppress status events."))
    with transaction.atomic():
        event = StatusEvent.objects.select_related("line__order").get(pk=event_id)
        if EventSuppression.objects.filter(event=event).exists():
            raise ValidationError({"event": _("This event is already hidden from customers.")})
        suppression = EventSuppression.objects.create(
            event=event, suppressed_by=user, approved_by=approved_by, reason_code=reason_code, reason_text=reason_text
        )
        outbox_publish(
            topic=Topic.EVENT_SUPPRESSED,
            order=event.line.order,
            payload={"order_id": event.order_id, "line_id": event.line_id, "event_id": event.pk},
        )
        return suppression
