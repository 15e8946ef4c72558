"""The answer to a delivery confirmation, the same for /tech/ and technicians' status links:
200 recorded (or discarded, or the same key again), 409 when the technician must decide."""

from django.http import JsonResponse
from django.utils.translation import gettext as _

from orders.models import EventOutcome
from portal.models import ConfirmationState
from portal.services.confirmations import ConfirmationResult


def confirmation_answer(result: ConfirmationResult) -> JsonResponse:
    confirmation = result.confirmation
    if confirmation.state == ConfirmationState.CONFLICT:
        message = confirmation.conflict
        status = 409
    elif confirmation.state == ConfirmationState.DISCARDED:
        message, status = _("The confirmation was discarded."), 200
    elif result.outcome == EventOutcome.REJECTED:
        message, status = _("Recorded for the planners; the line's status stays as it is."), 200
    else:
        message, status = _("Delivery confirmed on site."), 200
    return JsonResponse(
        {
            "key": confirmation.key,
            "state": confirmation.state,
            "replayed": result.replayed,
            "message": str(message),
            "line": str(confirmation.line.public_id),
        },
        status=status,
    )
