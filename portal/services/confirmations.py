"""A technician's on-site delivery confirmation: one `verified` status fact through the core.

The device generates the key, so a retry over a bad connection, or the offline queue sent three
times, is one confirmation and one event. When the line no longer fits what the technician
confirms (cancelled, returned, another quantity, not shipped yet, split), nothing is applied:
the confirmation waits for the technician to confirm anyway or discard it.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import ActorKind, OrderLine
from orders.services import Actor, Provenance, apply_status_update
from orders.status import RANK, LineStatus
from portal.models import ConfirmationState, DeliveryConfirmation, StatusLink

KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SOURCE = "technician"
REASON_CODE = "on_site_confirmation"
PHOTO_MAX_BYTES = 8 * 1024 * 1024


class Decision:
    NONE = ""
    CONFIRM_ANYWAY = "confirm_anyway"
    DISCARD = "discard"


@dataclass(frozen=True)
class ConfirmationResult:
    confirmation: DeliveryConfirmation
    # The same key was sent before: nothing new happened.
    replayed: bool = False
    # The event's outcome when one was written (applied, unchanged, rejected, duplicate).
    outcome: str = ""


def code_matches_line(code: str, line: OrderLine) -> bool:
    """The barcode on the label: the line's public id, "<order>/<line>", or the part number."""
    code = code.strip().upper()
    accepted = {str(line.public_id).upper(), f"{line.order.number}/{line.number}".upper(), line.part.number.upper()}
    return bool(code) and code in accepted


def line_conflict(line: OrderLine, quantity: int) -> str:
    """Why the confirmation does not fit the line as it is now, or ""."""
    if line.is_split:
        return _("The line was split into several shipments: confirm each part line instead.")
    if line.status == LineStatus.CANCELLED:
        return _("The line was cancelled.")
    if line.status == LineStatus.RETURNED:
        return _("The part was returned.")
    if quantity != line.quantity:
        return _("The line is for %(ordered)d, you confirm %(confirmed)d.") % {
            "ordered": line.quantity,
            "confirmed": quantity,
        }
    if RANK.get(line.progress_status, -1) < RANK[LineStatus.SHIPPED]:
        return _("Our systems say the part has not shipped yet.")
    return ""


def delivery_confirm(
    *,
    key: str,
    line: OrderLine,
    code: str,
    quantity: int,
    confirmed_at: datetime,
    note: str = "",
    photo=None,
    technician=None,
    link: StatusLink | None = None,
    decision: str = Decision.NONE,
) -> ConfirmationResult:
    """Confirm `quantity` of `line` delivered on site, by a signed-in technician or through a
    technician's status link. Replays of `key` return the first result; `decision` settles a
    confirmation waiting in conflict."""
    if not KEY.match(key or ""):
        raise ValidationError({"key": _("The confirmation key is missing or malformed.")})
    if quantity < 1:
        raise ValidationError({"quantity": _("Confirm a quantity of at least 1.")})
    if decision not in (Decision.NONE, Decision.CONFIRM_ANYWAY, Decision.DISCARD):
        raise ValidationError({"decision": _("Unknown decision.")})
    if photo is not None and photo.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": _("The photo is larger than 8 MB.")})
    if timezone.is_naive(confirmed_at):
        raise ValidationError({"confirmed_at": _("The time of the confirmation needs a time zone.")})
    try:
        with transaction.atomic():
            return _confirm(
                key=key,
                line=line,
                code=code,
                quantity=quantity,
                confirmed_at=confirmed_at,
                note=note,
                photo=photo,
                technician=technician,
                link=link,
                decision=decision,
            )
    except IntegrityError:
        # Another request with the same key got there first: that one is the confirmation.
        existing = DeliveryConfirmation.objects.filter(key=key).first()
        if existing is None:
            raise
        return ConfirmationResult(confirmation=existing, replayed=True)


def _confirm(*, key, line, code, quantity, confirmed_at, note, photo, technician, link, decision):
    existing = DeliveryConfirmation.objects.select_for_update().filter(key=key).first()
    if existing is not None:
        if existing.line_id != line.pk:
            raise ValidationError({"key": _("This confirmation key was used for another line.")})
        if existing.state != ConfirmationState.CONFLICT or decision == Decision.NONE:
            return ConfirmationResult(confirmation=existing, replayed=True)
        confirmation = existing
    else:
        if not code_matches_line(code, line):
            raise ValidationError({"code": _("This barcode is not the one of this line or its part.")})
        confirmation = DeliveryConfirmation(
            key=key,
            line=line,
            technician=technician,
            link=link,
            scanned_code=code.strip()[:120],
            quantity=quantity,
            note=note,
            confirmed_at=confirmed_at,
            state=ConfirmationState.CONFLICT,
        )
        if photo is not None:
            confirmation.photo.save(photo.name, photo, save=False)
    # The line as it is now (its status moves only under the order's lock, taken by the core).
    line = OrderLine.objects.select_related("order", "part").get(pk=line.pk)
    if decision == Decision.DISCARD:
        confirmation.state = ConfirmationState.DISCARDED
        confirmation.save()
        return ConfirmationResult(confirmation=confirmation)
    conflict = line_conflict(line, confirmation.quantity)
    if conflict and (decision != Decision.CONFIRM_ANYWAY or line.is_split):
        confirmation.state = ConfirmationState.CONFLICT
        confirmation.conflict = conflict
        confirmation.save()
        return ConfirmationResult(confirmation=confirmation)
    confirmation.save()
    result = apply_status_update(
        line_id=line.pk,
        status=LineStatus.VERIFIED,
        # The device's clock, but never ahead of ours (a phone set wrong would be refused).
        occurred_at=min(confirmation.confirmed_at, timezone.now()),
        actor=_actor(confirmation),
        provenance=Provenance(
            source_system=SOURCE,
            reason_code=REASON_CODE,
            reason_text=_reason(confirmation, line, conflict),
        ),
        fact_id=key,
    )
    confirmation.state = ConfirmationState.APPLIED
    confirmation.conflict = conflict
    confirmation.event_id = result.event.pk
    confirmation.save(update_fields=["state", "conflict", "event_id"])
    return ConfirmationResult(confirmation=confirmation, outcome=result.outcome)


def _actor(confirmation: DeliveryConfirmation) -> Actor:
    if confirmation.technician is not None:
        return Actor.person(confirmation.technician)
    return Actor(kind=ActorKind.USER, label=f"status-link:{confirmation.link.public_id}" if confirmation.link else "")


def _reason(confirmation: DeliveryConfirmation, line: OrderLine, conflict: str) -> str:
    """Internal text on the event (never shown to customers): what was confirmed, with what."""
    parts = [f"confirmation {confirmation.key}", f"quantity {confirmation.quantity} of {line.quantity}"]
    if confirmation.photo:
        parts.append(f"photo {confirmation.photo.name}")
    if conflict:
        parts.append(f"confirmed despite: {conflict}")
    if confirmation.note:
        parts.append(f"note: {confirmation.note}")
    return "; ".join(parts)
