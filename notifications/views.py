"""Twilio's webhooks (status callbacks, inbound SMS), verified with the client's own
RequestValidator against the public URL Twilio called, and the back-office delivery log of an
order."""

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from notifications.models import DeliveryLogEntry, Notification
from notifications.services.callbacks import twilio_inbound_record, twilio_status_record
from notifications.services.sending import TWILIO_STATUSES
from orders.scoping import orders_visible_to


def _signature_valid(request) -> bool:
    """Twilio signs the URL it called (our public address behind any proxy) and the form."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN or not settings.PUBLIC_BASE_URL:
        return False
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature)


def _bad_request(field: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": {field: [message]}}, status=400)


@csrf_exempt
@require_POST
def twilio_status(request):
    if not _signature_valid(request):
        return JsonResponse({"detail": _("The Twilio signature does not match.")}, status=403)
    try:
        notification_id = int(request.GET.get("n", ""))
    except ValueError:
        return _bad_request("n", _("The notification id is missing or not a number."))
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if not sid:
        return _bad_request("MessageSid", _("This field is required."))
    if status not in TWILIO_STATUSES:
        return _bad_request("MessageStatus", _("Unknown message status “%(status)s”.") % {"status": status[:40]})
    try:
        outcome = twilio_status_record(
            notification_id=notification_id,
            sid=sid,
            status=status,
            error_code=request.POST.get("ErrorCode", ""),
            token=request.headers.get("I-Twilio-Idempotency-Token", ""),
        )
    except Notification.DoesNotExist:
        return JsonResponse({"detail": _("No such notification.")}, status=404)
    return JsonResponse({"outcome": outcome})


@csrf_exempt
@require_POST
def twilio_inbound(request):
    if not _signature_valid(request):
        return JsonResponse({"detail": _("The Twilio signature does not match.")}, status=403)
    sender = request.POST.get("From", "")
    if not sender:
        return _bad_request("From", _("This field is required."))
    twilio_inbound_record(from_number=sender, body=request.POST.get("Body", ""))
    # An empty TwiML answer: Twilio's own opt-out handling replies to STOP.
    return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")


@login_required
@permission_required("orders.view_order", raise_exception=True)
def order_notifications(request, pk: int):
    """Every message about one order (in the person's scope, else 404) with its delivery log."""
    order = get_object_or_404(orders_visible_to(request.user).select_related("account"), pk=pk)
    # Its own messages, and the digests and catch-up summaries that carried one of its lines.
    folded_here = Exists(Notification.objects.filter(folded_into=OuterRef("pk"), order=order))
    notifications = (
        Notification.objects.filter(Q(order=order) | folded_here)
        .select_related("template", "line")
        .prefetch_related(Prefetch("log", queryset=DeliveryLogEntry.objects.order_by("at", "pk")))
        .order_by("-created_at", "-pk")
    )
    return render(request, "notifications/order_notifications.html", {"order": order, "notifications": notifications})
