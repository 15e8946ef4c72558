"""Back-office screen: one line with its timeline, open cases, and the override and hide actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from orders.models import OrderLine, Shipment, StatusEvent
from orders.scoping import lines_visible_to
from orders.status import LineStatus
from overrides.forms import JUSTIFICATION_MAX_LENGTH, OverrideRequestForm, SuppressionForm, add_service_errors
from overrides.models import Discrepancy, OverrideReason, OverrideRequest, StaleAlert
from overrides.selectors import customer_etas, pending_requests_by_line, pending_requests_on_lines, reason_labels
from overrides.services.requests import override_request_create, override_suppression_create
from overrides.views.actions import post_action

# The core names some fields differently from the form.
SERVICE_FIELDS = {"status": "target_status", "reason_text": "justification"}


@login_required
@permission_required("orders.view_orderline", raise_exception=True)
def line_detail(request, pk: int):
    posted = request.method == "POST"
    if posted and not request.user.has_perm("overrides.add_overriderequest"):
        raise PermissionDenied
    line = _line_for(request.user, pk)
    pending = pending_requests_by_line(request.user, [line.pk]).get(line.pk, [])
    prefix = request.POST.get("form_prefix") or None if posted else None
    form = OverrideRequestForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        line=line,
        pending=pending,
        prefix=prefix,
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            override = override_request_create(
                user=request.user,
                line_ids=[line.pk],
                target_status=data["target_status"],
                reason_code=data["reason"].code,
                justification=data["justification"],
                evidence=data["evidence"],
                evidence_reference=data["evidence_reference"],
                hold_until_source_confirms=data["hold_until_source_confirms"],
            )
        except PermissionDenied as refusal:
            return _forbidden(request, refusal)
        except ObjectDoesNotExist as missing:
            raise Http404 from missing
        except ValidationError as error:
            add_service_errors(form, error, aliases=SERVICE_FIELDS)
        else:
            messages.success(request, _outcome_message(override))
            back = request.POST.get("next", "")
            if not (back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})):
                back = reverse("backoffice:line", args=[line.pk])
            return _to_messages(back)
    return _line_page(request, line, override_form=form)


@login_required
@permission_required("orders.view_orderline", raise_exception=True)
@post_action(lambda request, pk: reverse("backoffice:line", args=[_line_for(request.user, pk).pk]))
@permission_required("overrides.add_overriderequest", raise_exception=True)
def line_hide_event(request, pk: int):
    line = _line_for(request.user, pk)
    form = SuppressionForm(request.POST, events=_hideable_events(line))
    if form.is_valid():
        data = form.cleaned_data
        try:
            override_suppression_create(
                user=request.user,
                event_id=data["event"].pk,
                reason_code=data["reason"].code,
                justification=data["justification"],
            )
        except PermissionDenied as refusal:
            return _forbidden(request, refusal)
        except ObjectDoesNotExist as missing:
            raise Http404 from missing
        except ValidationError as error:
            add_service_errors(form, error, aliases=SERVICE_FIELDS)
        else:
            messages.success(request, _("Hiding the event from customers waits for a second person's approval."))
            return _to_messages(reverse("backoffice:line", args=[line.pk]))
    pending = pending_requests_by_line(request.user, [line.pk]).get(line.pk, [])
    return _line_page(
        request, line, override_form=OverrideRequestForm(line=line, pending=pending), suppression_form=form
    )


def _to_messages(url: str):
    # The form was posted to a URL ending in its own anchor, which the browser would keep: land
    # on the messages instead, where the outcome is said.
    return redirect(url.split("#", 1)[0] + "#messages")


def _line_for(user, pk: int) -> OrderLine:
    """The line, if it is in the user's scope; out of scope is 404 like a line that does not exist."""
    lines = lines_visible_to(user).select_related(
        "order__region", "order__account", "order__asset", "part", "site", "parent"
    )
    return get_object_or_404(lines, pk=pk)


def _timeline_lines(line: OrderLine) -> list[OrderLine]:
    """The line and, for a split line, its children: the timeline tells the whole story."""
    return [line, *line.children.select_related("part", "site").order_by("number")]


def _ancestors(line: OrderLine) -> list[OrderLine]:
    """The lines a split line came from, the root first: one query however deep the split."""
    if line.parent_id is None:
        return []
    of_order = {
        row.pk: row for row in OrderLine.objects.filter(order_id=line.order_id).only("pk", "parent_id", "number")
    }
    ancestors, parent_id = [], line.parent_id
    while parent_id is not None and parent_id in of_order:
        ancestors.insert(0, of_order[parent_id])
        parent_id = of_order[parent_id].parent_id
    return ancestors


def _hideable_events(line: OrderLine):
    return StatusEvent.objects.filter(line__in=_timeline_lines(line), suppression__isnull=True)


def _line_page(request, line: OrderLine, *, override_form, suppression_form=None):
    lines = _timeline_lines(line)
    events = (
        StatusEvent.objects.filter(line__in=lines)
        .select_related("line", "actor_user", "approved_by", "suppression__suppressed_by", "suppression__approved_by")
        .order_by("occurred_at", "line__number", "sequence")
    )
    ancestors = _ancestors(line)
    etas = customer_etas(line.order)
    context = {
        "line": line,
        "customer_eta": etas.get(str(line.public_id)),
        "ancestors": ancestors,
        "live_orders": str(line.order.public_id),
        "reason_labels": reason_labels(),
        "shipments": Shipment.objects.filter(lines__line__in=lines).select_related("ship_from").distinct(),
        "children": [(child, etas.get(str(child.public_id))) for child in lines[1:]],
        "events": events,
        "alerts": StaleAlert.objects.filter(line__in=lines, resolved_at__isnull=True).select_related(
            "line", "assignee_group", "acknowledged_by"
        ),
        "discrepancies": Discrepancy.objects.filter(line__in=lines, resolved_at__isnull=True).select_related(
            "line", "owner"
        ),
        "pending": pending_requests_on_lines(request.user, [line.pk for line in lines]).select_related(
            "reason", "requested_by", "event"
        ),
        "reasons": list(OverrideReason.objects.filter(active=True)),
        "override_form": override_form,
        "suppression_form": suppression_form,
        "failed_event_id": _failed_event_id(suppression_form, events),
        "justification_max": JUSTIFICATION_MAX_LENGTH,
    }
    return render(request, "backoffice/line_detail.html", context)


def _failed_event_id(form, events) -> int | None:
    """The event whose hide form failed: its form opens again with the errors and what was typed."""
    if form is None or not form.is_bound:
        return None
    try:
        event_id = int(form.data.get("event", ""))
    except ValueError:
        return None
    return event_id if any(event.pk == event_id for event in events) else None


def _outcome_message(override: OverrideRequest) -> str:
    if override.state == OverrideRequest.State.APPLIED:
        return _("Override applied: the line is now %(status)s.") % {"status": LineStatus(override.target_status).label}
    return _("Your override waits for a second person's approval: %(reasons)s.") % {
        "reasons": "; ".join(override.approval_reason_texts)
    }


def _forbidden(request, refusal: PermissionDenied):
    return render(request, "backoffice/forbidden.html", {"message": str(refusal)}, status=403)


urlpatterns = [
    path("lines/<int:pk>/", line_detail, name="line"),
    path("lines/<int:pk>/hide-event/", line_hide_event, name="line_hide_event"),
]
