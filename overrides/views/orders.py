"""Back-office screen: one order with every line, its split tree and shipments, the merged
timeline, open cases and an override form per line."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone

from orders.models import OrderLine, StatusEvent
from orders.scoping import orders_visible_to
from orders.selectors import order_detail
from overrides.forms import OverrideRequestForm, reason_choices
from overrides.models import Discrepancy, StaleAlert
from overrides.policy import source_steps_reached
from overrides.selectors import customer_etas, pending_requests_by_line, reason_labels
from overrides.views.links import LINKS_PAGE_PARAMETER, new_link_pop, order_links


@dataclass
class LineRow:
    line: OrderLine
    depth: int
    shipments: list
    pending: list
    form: OverrideRequestForm | None
    customer_eta: datetime | None  # the ETA the customer sees (line.eta is the planned one)


@login_required
@permission_required("orders.view_order", raise_exception=True)
def order_page(request, pk: int):
    order = get_object_or_404(orders_visible_to(request.user).select_related("account", "asset", "region"), pk=pk)
    detail = order_detail(order)
    line_ids = [line.pk for line in detail.lines]
    shipments_of: dict[int, list] = {}
    for shipment in detail.shipments:
        for shipment_line in shipment.lines.all():
            shipments_of.setdefault(shipment_line.line_id, []).append(shipment)
    pending = pending_requests_by_line(request.user, line_ids)
    may_override = request.user.has_perm("overrides.add_overriderequest")
    leaves = [line for line in detail.lines if not line.is_split]
    reached = source_steps_reached(leaves) if may_override else {}
    reasons = reason_choices() if may_override else []
    etas = customer_etas(order)

    def form_for(line):
        if not may_override or line.is_split:
            return None
        return OverrideRequestForm(
            line=line,
            pending=pending.get(line.pk, []),
            reached=reached,
            reason_choices=reasons,
            prefix=f"line-{line.pk}",
        )

    rows = [
        LineRow(
            line=line,
            depth=depth,
            shipments=shipments_of.get(line.pk, []),
            pending=pending.get(line.pk, []),
            form=form_for(line),
            customer_eta=etas.get(str(line.public_id)),
        )
        for line, depth in _tree(detail.children_of)
    ]
    events = (
        StatusEvent.objects.filter(order=order)
        .select_related("line", "actor_user", "approved_by", "suppression")
        .order_by("occurred_at", "line__number", "sequence")
    )
    context = {
        "order": order,
        "detail": detail,
        "rows": rows,
        "events": events,
        "reason_labels": reason_labels(),
        "alerts": StaleAlert.objects.filter(line_id__in=line_ids, resolved_at__isnull=True).select_related(
            "line", "assignee_group", "acknowledged_by"
        ),
        "discrepancies": Discrepancy.objects.filter(line_id__in=line_ids, resolved_at__isnull=True).select_related(
            "line", "owner"
        ),
        "live_orders": str(order.public_id),
        "status_links": order_links(request.user, order, request.GET.get(LINKS_PAGE_PARAMETER)),
        "new_link_url": new_link_pop(request, order),
        "now": timezone.now(),
    }
    return render(request, "backoffice/order_detail.html", context)


def _tree(children_of: dict, parent_id=None, depth: int = 0):
    """The lines in tree order (a parent, then its children indented), each with its depth."""
    for line in children_of.get(parent_id, []):
        yield line, depth
        yield from _tree(children_of, line.pk, depth + 1)


urlpatterns = [path("orders/<int:pk>/", order_page, name="order")]
