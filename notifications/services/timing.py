"""When a message may go: quiet hours and digest hours in the recipient's time zone. Pure."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def quiet_until(*, moment: datetime, zone: ZoneInfo, start: time | None, end: time | None) -> datetime | None:
    """When `moment` falls in the quiet hours [start, end) (which may span midnight) of `zone`,
    the moment they end; else None."""
    if start is None or end is None or start == end:
        return None
    local = moment.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def next_digest_at(*, moment: datetime, zone: ZoneInfo, hour: int) -> datetime:
    """The recipient's next digest hour after `moment` (today's, if it has not passed)."""
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=zone)
    return candidate


def zone_named(name: str) -> ZoneInfo:
    """The zone of that name; UTC for a blank or unknown one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
