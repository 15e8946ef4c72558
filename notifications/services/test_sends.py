"""Test messages to oneself from the template preview: email to one's own address, SMS only to
a phone one proved is one's own (a code sent to it), and a few per hour at most, so the preview
is never a relay of free text to any number."""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.models import EventKind, Notification, RecipientPreference
from notifications.phones import phone_normalised
from notifications.rendering import Rendered
from notifications.services.batches import notification_test_send

CODE_SECONDS = 600
CODE_ATTEMPTS = 5


class TestSendRefused(Exception):
    """Why a test message (or a verification code) is not sent; the text is for the person."""


def test_sends_left(user, *, now: datetime | None = None) -> int:
    """How many test messages (codes included) the person may still send this hour."""
    since = (now or timezone.now()) - timedelta(hours=1)
    sent = Notification.objects.filter(kind=EventKind.TEST, created_by=user, created_at__gte=since).count()
    return max(settings.NOTIFICATIONS_TEST_SENDS_PER_HOUR - sent, 0)


def verified_phone_of(user) -> str:
    preference = RecipientPreference.objects.filter(user=user, phone_verified_at__isnull=False).first()
    return preference.phone if preference is not None and preference.phone else ""


def test_message_send(*, user, rendered: Rendered, order, channel: str, locale: str) -> Notification:
    """Send a rendered template to the person's own email, or their verified phone."""
    if channel == "sms":
        address = verified_phone_of(user)
        if not address:
            raise TestSendRefused(_("Verify your phone first: test SMS go only to a number you confirmed."))
    else:
        address = user.email
        if not address:
            raise TestSendRefused(_("Your user has no email address."))
    _within_rate(user)
    return notification_test_send(
        user=user, rendered=rendered, order=order, channel=channel, address=address, locale=locale
    )


def phone_code_send(*, user, phone: str) -> Notification:
    """Send a code to `phone`; the person proves the number is theirs by typing it back."""
    phone = phone_normalised(phone)
    _within_rate(user)
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set(_key(user), {"phone": phone, "code": _digest(user, phone, code), "attempts": 0}, CODE_SECONDS)
    text = _("Your Part status code: %(code)s. It confirms this phone for test messages.") % {"code": code}
    rendered = Rendered(subject="", text=text, html="", template=None, version="verification code")
    return notification_test_send(user=user, rendered=rendered, order=None, channel="sms", address=phone, locale="en")


def phone_code_confirm(*, user, code: str, now: datetime | None = None) -> RecipientPreference:
    """The code typed back: the person's own preference gets the phone, verified."""
    pending = cache.get(_key(user))
    if pending is None:
        raise TestSendRefused(_("No code is waiting, or it expired: send a new one."))
    if pending["attempts"] >= CODE_ATTEMPTS:
        cache.delete(_key(user))
        raise TestSendRefused(_("Too many wrong codes: send a new one."))
    if not constant_time_compare(pending["code"], _digest(user, pending["phone"], code.strip())):
        pending["attempts"] += 1
        cache.set(_key(user), pending, CODE_SECONDS)
        raise TestSendRefused(_("This code is not the one we sent."))
    cache.delete(_key(user))
    try:
        with transaction.atomic():
            preference, _created = RecipientPreference.objects.get_or_create(user=user)
            preference.phone = pending["phone"]
            preference.phone_verified_at = now or timezone.now()
            preference.save()
    except IntegrityError as error:
        raise TestSendRefused(_("This number belongs to another person's preferences.")) from error
    return preference


def _within_rate(user) -> None:
    if test_sends_left(user) <= 0:
        limit = settings.NOTIFICATIONS_TEST_SENDS_PER_HOUR
        raise TestSendRefused(
            ngettext(
                "You sent %(count)d test message within the last hour: try again later.",
                "You sent %(count)d test messages within the last hour: try again later.",
                limit,
            )
            % {"count": limit}
        )


def _key(user) -> str:
    return f"notifications:phone-code:{user.pk}"


def _digest(user, phone: str, code: str) -> str:
    return salted_hmac("notifications.phone-code", f"{user.pk}|{phone}|{code}").hexdigest()
