"""Reads of the back office that more than one screen needs."""

from collections import defaultdict

from overrides.models import OverrideReason, OverrideRequest


def pending_requests_by_line(line_ids: list[int]) -> dict[int, list[OverrideRequest]]:
    """The requests waiting for approval on each of the lines, oldest first: two queries."""
    through = OverrideRequest.lines.through.objects.filter(
        orderline_id__in=line_ids, overriderequest__state=OverrideRequest.State.PENDING
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
    return {reason.code: reason.label for reason in OverrideReason.objects.all()}
