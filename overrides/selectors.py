"""Reads of the back office that more than one screen needs."""

from collections import defaultdict
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy
from guardian.conf.settings import ANONYMOUS_USER_NAME

from orders.models import Order
from orders.read_models import Audience, order_view
from orders.scoping import lines_visible_to
from overrides.models import OverrideReason, OverrideRequest


def real_people(queryset=None):
    """Users who are people: without the technical user django-guardian keeps for anonymous
    visitors ("AnonymousUser"), which must never appear in a list of people."""
    queryset = get_user_model().objects.all() if queryset is None else queryset
    if ANONYMOUS_USER_NAME is None:
        return queryset
    return queryset.exclude(**{get_user_model().USERNAME_FIELD: ANONYMOUS_USER_NAME})


def override_requests_visible_to(user):
    """Requests whose every line is in the user's scope: a request reaching into lines the user
    may not see is not shown to them at all (not its id, not who asked)."""
    hidden = OverrideRequest.lines.through.objects.exclude(orderline__in=lines_visible_to(user))
    return OverrideRequest.objects.exclude(pk__in=hidden.values("overriderequest_id"))


def pending_requests_on_lines(user, line_ids: list[int], *, exclude_id: int | None = None):
    """Requests the user may see, waiting for approval, that touch any of the lines."""
    pending = override_requests_visible_to(user).filter(state=OverrideRequest.State.PENDING, lines__in=line_ids)
    if exclude_id is not None:
        pending = pending.exclude(pk=exclude_id)
    return pending.distinct()


def pending_requests_by_line(user, line_ids: list[int]) -> dict[int, list[OverrideRequest]]:
    """The requests the user may see waiting for approval on each of the lines, oldest first:
    one query."""
    through = OverrideRequest.lines.through.objects.filter(
        orderline_id__in=line_ids,
        overriderequest__state=OverrideRequest.State.PENDING,
        overriderequest__in=override_requests_visible_to(user),
    ).select_related("overriderequest__reason", "overriderequest__requested_by")
    by_line: dict[int, list[OverrideRequest]] = defaultdict(list)
    for row in through.order_by("overriderequest__requested_at", "overriderequest_id"):
        by_line[row.orderline_id].append(row.overriderequest)
    return dict(by_line)


def conflicting_requests(requests: list[OverrideRequest]) -> dict[int, list[int]]:
    """For each pending request among `requests` (lines prefetched), the other pending requests
    that touch one of its lines: two people asking for the same line at once."""
    holders: dict[int, set[int]] = defaultdict(set)
    for request in requests:
        for line in request.lines.all():
            holders[line.pk].add(request.pk)
    return {
        request.pk: sorted({other for line in request.lines.all() for other in holders[line.pk]} - {request.pk})
        for request in requests
    }


def reason_labels() -> dict[str, str]:
    """Override reason codes and their labels in the active language: a timeline shows a reason
    by its label, never as `carrier_confirmed`."""
    labels = {reason.code: reason.label for reason in OverrideReason.objects.all()}
    return {**SYSTEM_REASONS, **labels}


# Reason codes the core writes itself.
SYSTEM_REASONS = {"rollup": gettext_lazy("Rolled up from its split lines")}


def customer_etas(order: Order) -> dict[str, datetime | None]:
    """{line public id: the ETA the customer's order page shows} (orders.read_models: the order's
    cached customer view, built in a fixed number of queries). The back office shows it beside
    the planned ETA (the line's own field), which it may differ from: the carrier's ETA once the
    part has shipped, none once it arrived or was cancelled."""
    view = order_view(order, audience=Audience.CUSTOMER)
    return {line["public_id"]: parse_datetime(line["eta"]) if line["eta"] else None for line in view["lines"]}
