"""Which maintenance windows cover a message now: by the source system that last spoke of the
line, the order's region and the line's site."""

from datetime import datetime

from notifications.models import EventKind, MaintenanceWindow, Notification

# Messages no window holds: asked for now (a fresh link, a test), or already a summary of others.
NEVER_HELD = frozenset({EventKind.LINK_RENEWAL, EventKind.TEST, EventKind.DIGEST, EventKind.MAINTENANCE_SUMMARY})


def windows_covering(
    *, source_system: str, region_id: int | None, site_id: int | None, now: datetime
) -> list[MaintenanceWindow]:
    windows = MaintenanceWindow.objects.filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at")
    return [
        window for window in windows if window.covers(source_system=source_system, region_id=region_id, site_id=site_id)
    ]


def window_holding(notification: Notification, *, now: datetime) -> MaintenanceWindow | None:
    """The window that holds `notification` if it were sent now (a message that waited for
    quiet hours or a throttle while a window started), else None."""
    if notification.kind in NEVER_HELD or notification.order_id is None:
        return None
    windows = windows_covering(
        source_system=notification.facts.get("source_system", ""),
        region_id=notification.order.region_id,
        site_id=notification.line.site_id if notification.line_id else None,
        now=now,
    )
    return next((w for w in windows if not (notification.critical and w.lets_critical_through)), None)
