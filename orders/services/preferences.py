"""A person's language and time zone: stored on their profile, read on every request (from the
cache: saving or deleting a profile forgets the cached copy once committed)."""

import contextlib
import functools
import logging
import zoneinfo

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from orders.caching import CACHE_ERRORS
from orders.models import UserProfile
from orders.models.people import validate_time_zone

logger = logging.getLogger(__name__)


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


PREFERENCES_CACHE_SECONDS = 3600


def _preferences_key(user_id: int) -> str:
    return f"user-preferences:{user_id}"


def viewer_preferences(user) -> tuple[str, str]:
    """(language, time zone name) of the person's profile, "" for what they never chose: what
    every request of theirs needs. A request's person brings them (config.auth reads both in one
    query); any other person's are cached."""
    if not getattr(user, "is_authenticated", False):
        return "", ""
    if hasattr(user, "profile_language"):  # read with the person (config.auth): fresh, no cache
        return user.profile_language or "", user.profile_time_zone or ""
    key = _preferences_key(user.pk)
    try:
        found = cache.get(key)
    except CACHE_ERRORS:  # the cache is down: the database answers (signing in and out still work)
        logger.warning("preferences of person %s read from the database: the cache is unavailable", user.pk)
        return _from_profile(user)
    if found is None:
        found = _from_profile(user)
        with contextlib.suppress(*CACHE_ERRORS):
            cache.set(key, found, PREFERENCES_CACHE_SECONDS)
    return tuple(found)


def _from_profile(user) -> tuple[str, str]:
    profile = user_preferences(user)
    return (profile.language or "", profile.time_zone or "") if profile is not None else ("", "")


def _preferences_forget(sender, instance: UserProfile, **kwargs) -> None:
    key = _preferences_key(instance.user_id)

    def forget() -> None:
        with contextlib.suppress(*CACHE_ERRORS):
            cache.delete(key)

    forget()
    # Again after commit: a request that read the old row meanwhile may have cached it again.
    transaction.on_commit(forget, robust=True)


def _person_created(sender, instance, created: bool, **kwargs) -> None:
    """A new person has chosen nothing: nothing cached under their id may stand (a database
    rolled back reuses ids, as tests do)."""
    if created:
        with contextlib.suppress(*CACHE_ERRORS):
            cache.delete(_preferences_key(instance.pk))


def preferences_cache_connect() -> None:
    post_save.connect(_person_created, sender=get_user_model(), dispatch_uid="preferences-person-created")
    post_save.connect(_preferences_forget, sender=UserProfile, dispatch_uid="preferences-forget-saved")
    post_delete.connect(_preferences_forget, sender=UserProfile, dispatch_uid="preferences-forget-deleted")


@functools.cache
def _zone_names() -> frozenset[str]:
    # available_timezones() walks the zone files on every call (about 3 ms): once a process.
    return frozenset(zoneinfo.available_timezones())


def time_zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """A time zone from a name a browser or a person gave, or None when it names none."""
    if not name or len(name) > 64 or name not in _zone_names():
        return None
    return zoneinfo.ZoneInfo(name)
