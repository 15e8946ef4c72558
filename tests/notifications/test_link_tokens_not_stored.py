"""A message's status link works for its recipient, but the stored message (the admin's
notification page and delivery log, the database) holds a reference to the link, never its
token: whoever reads the log gets no working link. A message sent again carries a fresh token."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from notifications.models import Notification
from notifications.services.batches import notifications_sweep
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory, UserFactory
from tests.notifications.conftest import PUBLIC_BASE_URL, sms_undelivered_and_sent_again, status_link_in, text_part

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN_PATH = re.compile(r"/s/([A-Za-z0-9_-]{16,})/")


def _opens(url: str) -> int:
    return Client().get(url.replace(PUBLIC_BASE_URL, "")).status_code


def _tokens(text: str) -> list[str]:
    return TOKEN_PATH.findall(text)


def test_the_stored_email_and_its_admin_page_hold_no_working_link(rules, twilio, mailbox, contact_for):
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line)
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()

    [message] = mailbox.to(requester.email)
    url, link = status_link_in(text_part(message))
    token = url.rstrip("/").rsplit("/", 1)[1]
    notification = Notification.objects.get(address=requester.email)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/notifications/notification/{notification.pk}/change/").content.decode()

    assert _opens(url) == 200
    stored = notification.subject + notification.body + notification.body_html
    assert token not in stored and token not in page
    assert f"[status-link:{link.public_id}]" in notification.body
    assert _tokens(stored) == []


def test_an_sms_sent_again_carries_the_link_the_recipient_already_holds(rules, twilio, contact_for):
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    twilio.configure({"callbacks": True, "outcomes": {requester.phone: ["undelivered", 30003]}})
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    notification = Notification.objects.get(address=requester.phone, channel="sms")
    first_url, _link = status_link_in(twilio.sent()[0]["body"])
    sms_undelivered_and_sent_again(twilio, notification)

    second_url, _link = status_link_in(twilio.sent()[1]["body"])
    notification.refresh_from_db()
    # One live link per recipient and order: the retry carries the token the recipient was
    # given before (a new one would break the links in their earlier messages), and it works.
    assert second_url == first_url
    assert _opens(second_url) == 200
    assert _tokens(notification.body) == []
