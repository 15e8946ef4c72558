"""A person's language and time zone: stored on their profile, read on every request."""

import zoneinfo

from django.db import transaction

from orders.models import UserProfile
from orders.models.people import validate_time_zone


def user_preferences_update(*, user, language: str, time_zone: str) -> UserProfile:
    validate_time_zone(time_zone)
    with transaction.atomic():
        profile, _created = UserProfile.objects.select_for_update().get_or_create(user=user)
        profile.language = language
        profile.time_zone = time_zone
        profile.full_clean()
        profile.save()
    return profile


def user_preferences(user) -> UserProfile | None:
    """The person's profile, or None (anonymous, or never saved)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.profile
    except UserProfile.DoesNotExist:
        return None


def time_zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """A time zone from a name a browser or a person gave, or None when it names none."""
    if not name or len(name) > 64 or name not in zoneinfo.available_timezones():
        return None
    return zoneinfo.ZoneInfo(name)
