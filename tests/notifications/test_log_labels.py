"""The delivery log speaks words, in the reader's language: its steps, the provider's statuses and
Twilio's error codes (the code kept next to its meaning), in the admin and on the back office's
order page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import DeliveryLogEntry, Notification
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(db):
    """An SMS that was queued, then reported undelivered (the handset was off), then retried."""
    line = OrderLineFactory()
    now = timezone.now()
    notification = Notification.objects.create(
        event_key="outbox:1",
        kind="status_reached",
        order=line.order,
        line=line,
        address="+4915112345678",
        channel="sms",
        status="pending",
        due_at=now,
        error_code="30003",
    )
    DeliveryLogEntry.objects.create(notification=notification, at=now, status="queued", provider_id="SM1")
    DeliveryLogEntry.objects.create(
        notification=notification,
        at=now,
        status="undelivered",
        provider_id="SM1",
        error_code="30003",
        callback_token="SM1:undelivered:30003",
    )
    DeliveryLogEntry.objects.create(notification=notification, at=now, status="superseded", provider_id="SM1")
    return notification


def test_the_admin_log_names_steps_and_errors_in_words(client, logged, boss):
    page = client.get(reverse("admin:notifications_notification_change", args=[logged.pk])).content.decode()
    listing = client.get(reverse("admin:notifications_deliverylogentry_changelist")).content.decode()

    for shown in (page, listing):
        assert "Accepted by the provider" in shown
        assert "Provider: undelivered" in shown
        assert "Replaced by a new attempt" in shown
        assert "The handset is switched off or unreachable (30003)" in shown
    assert "superseded" not in listing.replace("?status=superseded", "")


def test_the_log_speaks_the_readers_language(client, logged, boss):
    page = client.get(
        reverse("admin:notifications_notification_change", args=[logged.pk]), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()

    assert "Provider: undelivered" not in page
    assert "(30003)" in page


def test_the_back_office_order_page_shows_the_log_in_words(client, logged, boss):
    page = client.get(reverse("notifications:order", args=[logged.order.pk])).content.decode()

    assert "Provider: undelivered" in page
    assert "The handset is switched off or unreachable (30003)" in page
    assert "· superseded" not in page


@pytest.mark.parametrize(
    ("language", "plural"),
    [("en", "delivery log entries"), ("de", "Zustellprotokolleinträge"), ("fr", "entrées du journal d’envoi")],
)
def test_the_admin_counts_log_entries_in_the_readers_language(client, logged, boss, language, plural):
    listing = client.get(
        reverse("admin:notifications_deliverylogentry_changelist"), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    index = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    # the listing counts its three steps as entries, and the admin's index names the list so
    assert f"3 {plural}" in listing
    assert plural.capitalize() in index
