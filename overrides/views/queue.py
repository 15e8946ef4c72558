"""Back-office screen: the exception queue, open stale-status alerts and discrepancies in one table."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import OrderLine, Region
from orders.scoping import lines_visible_to, orders_visible_to
from overrides.forms import STALE, QueueFilterForm
from overrides.models import Discrepancy, StaleAlert
from overrides.roles import role_label

ROWS_PER_PAGE = 50
CRITICALITY_ORDER = {"A": 0, "B": 1, "C": 2}
LINE_FIELDS = ("line__order__region", "line__order__account", "line__part", "line__site")


@dataclass(frozen=True)
class QueueRow:
    kind: str
    kind_label: str
    summary: str
    line: OrderLine
    status_label: str
    since: datetime
    since_label: str
    level: int
    due_at: datetime | None
    assignee: object  # the person working on it (a user), or None
    role: str = ""  # the role the escalation ladder asks to respond, for an alert nobody took

    @property
    def criticality(self) -> str:
        return self.line.part.criticality

    @property
    def region(self) -> Region:
        return self.line.order.region

    @property
    def overdue(self) -> bool:
        return self.due_at is not None and self.due_at < timezone.now()


SORT_KEYS = {
    "criticality": lambda row: (CRITICALITY_ORDER.get(row.criticality, 9), row.since),
    "age": lambda row: row.since,
    "region": lambda row: (row.region.name, CRITICALITY_ORDER.get(row.criticality, 9), row.since),
}


@login_required
def exception_queue(request):
    if not request.user.has_perm("orders.view_order"):
        # The back office's start page, for someone without a back-office role: configuration
        # people (the integrator) go to the admin; anyone else is told why, with a way out.
        if request.user.is_staff:
            return redirect("admin:index")
        raise PermissionDenied
    regions = Region.objects.filter(orders__in=orders_visible_to(request.user)).distinct().order_by("name")
    form = QueueFilterForm(request.GET, regions=regions)
    rows = _queue_rows(request.user, **form.filters())
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": page.object_list,
        "filters_query": query.urlencode(),
        "live_orders": "*",  # any change in the person's scope may add or remove a case
    }
    return render(request, "backoffice/queue.html", context)


def _queue_rows(user, *, kind: str, criticality: str, region: str, assigned: str, sort: str) -> list[QueueRow]:
    """Both kinds of open case in the user's scope, filtered in the database: two queries."""
    lines = lines_visible_to(user)
    if criticality:
        lines = lines.filter(part__criticality=criticality)
    if region:
        lines = lines.filter(order__region__code=region)
    rows = []
    if kind in ("", STALE):
        alerts = StaleAlert.objects.filter(resolved_at__isnull=True, line__in=lines).select_related(
            *LINE_FIELDS, "assignee_group", "acknowledged_by"
        )
        if assigned == "mine":
            alerts = alerts.filter(acknowledged_by=user)
        elif assigned == "unassigned":
            alerts = alerts.filter(acknowledged_by__isnull=True)
        rows += [_alert_row(alert) for alert in alerts]
    if kind != STALE:
        discrepancies = Discrepancy.objects.filter(resolved_at__isnull=True, line__in=lines).select_related(
            *LINE_FIELDS, "owner"
        )
        if kind:
            discrepancies = discrepancies.filter(kind=kind)
        if assigned == "mine":
            discrepancies = discrepancies.filter(owner=user)
        elif assigned == "unassigned":
            discrepancies = discrepancies.filter(owner__isnull=True)
        rows += [_discrepancy_row(discrepancy) for discrepancy in discrepancies]
    return sorted(rows, key=SORT_KEYS.get(sort, SORT_KEYS["criticality"]))


def _alert_row(alert: StaleAlert) -> QueueRow:
    # Whoever acknowledged the alert works on it; until then the ladder's role is asked to respond.
    return QueueRow(
        kind=STALE,
        kind_label=str(_("Stale status")),
        summary="",
        line=alert.line,
        status_label=alert.get_status_display(),
        since=alert.status_since,
        since_label=str(_("in this status since")),
        level=alert.level,
        due_at=alert.due_at,
        assignee=alert.acknowledged_by,
        role=role_label(alert.assignee_group.name) if alert.assignee_group else "",
    )


def _discrepancy_row(discrepancy: Discrepancy) -> QueueRow:
    return QueueRow(
        kind=discrepancy.kind,
        kind_label=discrepancy.get_kind_display(),
        summary=discrepancy.summary_text,
        line=discrepancy.line,
        status_label=discrepancy.line.get_status_display(),
        since=discrepancy.opened_at,
        since_label=str(_("case open since")),
        level=discrepancy.level,
        due_at=discrepancy.due_at,
        assignee=discrepancy.owner,
    )


urlpatterns = [path("", exception_queue, name="queue")]
