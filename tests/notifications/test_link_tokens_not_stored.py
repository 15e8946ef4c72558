"""A message's status link works for its recipient, but the stored message (the admin's
notification page and delivery log, the database) holds a reference to the link, never its
token: whoever reads the log gets no working link. A message sent again carries the link its
recipient holds; one whose recipient was removed from the order meanwhile is not sent at all."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from freezegun import freeze_time

from notifications.models import MaintenanceWindow, Notification, NotificationRule, NotificationStatus, RecipientLink
from notifications.services import sending
from notifications.services.batches import notifications_sweep
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory, UserFactory
from tests.notifications.conftest import (
    MONDAY_9_UTC,
    PUBLIC_BASE_URL,
    email_handed_over_then_worker_died,
    move,
    ship,
    sms_to,
    sms_undelivered_and_sent_again,
    status_link_in,
    text_part,
    throttled_sms_rule,
    twilio_says,
)
from tests.notifications.test_sending import after_the_lease

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


REMOVED = "Ann Berg (Requester) was removed from the order's contacts"


def _delivery_log(client, order) -> str:
    return client.get(reverse("notifications:order", args=[order.pk])).content.decode()


def test_an_sms_whose_recipient_was_removed_is_not_sent_again(rules, twilio, contact_for, boss, client):
    # given an A part's SMS that came back undelivered (a temporary error: it waits to be retried)
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, name="Ann Berg")
    ship(line)
    notification = Notification.objects.get(address=requester.phone, channel="sms")
    twilio_says(notification, "undelivered", "30003")
    # and staff remove the requester from the order (the order's admin page deletes the contact)
    requester.delete()

    # when the retry is due
    outcome = sending.notification_send(notification_id=notification.pk, now=notification.due_at + timedelta(seconds=1))

    # then nothing more went to the number, the message ends "Not sent", and the delivery log says why
    assert outcome == "nothing to do"
    [sms] = sms_to(twilio, requester.phone)
    assert "[status-link:" not in sms["body"]
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SKIPPED
    log = _delivery_log(client, line.order)
    assert "Not sent" in log and escape(REMOVED) in log


def test_an_sms_whose_worker_died_is_not_sent_after_its_recipient_was_removed(rules, twilio, contact_for, settings):
    # given an SMS that waits a minute (throttled), and the worker that claims it dies before reaching Twilio
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, name="Ann Berg")
    NotificationRule.objects.all().delete()
    throttled_sms_rule()
    ship(line)
    notification = Notification.objects.get(address=requester.phone)
    claimed_at = notification.due_at + timedelta(seconds=1)
    sending._claim(notification.pk, now=claimed_at)
    # and the requester is removed from the order meanwhile
    requester.delete()

    # when another worker takes it over after the lease (Twilio has no such message)
    sending.notification_send(notification_id=notification.pk, now=after_the_lease(claimed_at, settings))

    # then no SMS went out, and the message ends "Not sent" saying why
    assert sms_to(twilio, requester.phone) == []
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SKIPPED
    assert notification.last_error == REMOVED


def test_a_waiting_email_whose_recipient_was_removed_is_not_sent(rules, twilio, mailbox, contact_for):
    # given a B part's email, which waits ten minutes (throttled)
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, name="Ann Berg")
    ship(line)
    # and the requester is removed from the order meanwhile
    requester.delete()

    # when it is due
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()

    # then no email went out, and the message ends "Not sent" saying why
    assert mailbox.to(requester.email) == []
    notification = Notification.objects.get(address=requester.email)
    assert notification.status == NotificationStatus.SKIPPED
    assert notification.last_error == REMOVED


def test_a_digest_goes_out_without_the_order_its_reader_was_removed_from(
    rules, twilio, mailbox, contact_for, boss, client
):
    # given Ann, requester of routine C parts on two orders, who reads a daily digest
    pump = OrderLineFactory(part__criticality="C", part__description="Hydraulic pump")
    belt = OrderLineFactory(part__criticality="C", part__description="Drive belt", order__account=pump.order.account)
    on_pump = contact_for(pump, name="Ann Berg", email="ann@site.example")
    contact_for(belt, name="Ann Berg", email="ann@site.example")
    with freeze_time(MONDAY_9_UTC):
        move(pump, "shipped", MONDAY_9_UTC)
        move(belt, "shipped", MONDAY_9_UTC)
    # and staff remove her from the pump's order later that day
    on_pump.delete()

    # when her digest hour comes the next morning (08:00 in Berlin)
    with freeze_time(datetime(2026, 11, 3, 7, 0, tzinfo=UTC)):
        notifications_sweep()

    # then she gets the digest, about the belt only, with a link that opens its order
    [digest] = mailbox.to("ann@site.example")
    text = text_part(digest)
    assert "Drive belt: Shipped" in text and belt.order.number in text
    assert "Hydraulic pump" not in text and pump.order.number not in text
    url, link = status_link_in(text)
    assert link.order == belt.order
    with freeze_time(datetime(2026, 11, 3, 7, 1, tzinfo=UTC)):
        assert _opens(url) == 200
    # and the pump's update ends "Not sent", its order's delivery log saying why
    pump_update = Notification.objects.get(order=pump.order, address="ann@site.example")
    assert pump_update.status == NotificationStatus.SKIPPED
    assert pump_update.last_error == REMOVED
    log = _delivery_log(client, pump.order)
    assert "Not sent" in log and escape(REMOVED) in log and "Drive belt" not in log


def _shared_phone_catch_up(contact_for):
    """Two A-part orders whose requesters, Anna and Ben, share the site's phone; each part ships
    during a maintenance window (Ben's last). Returns the window and both contacts."""
    first = OrderLineFactory(part__criticality="A", part__description="Hydraulic pump")
    newest = OrderLineFactory(part__criticality="A", part__description="Drive belt", order__account=first.order.account)
    anna = contact_for(first, name="Anna Kurz", phone="+4915199999999", email="anna@site.example")
    ben = contact_for(newest, name="Ben Roth", phone="+4915199999999", email="ben@site.example")
    window = MaintenanceWindow.objects.create(
        name="SAP cutover", starts_at=MONDAY_9_UTC, ends_at=MONDAY_9_UTC + timedelta(hours=1)
    )
    with freeze_time(MONDAY_9_UTC + timedelta(minutes=5)):
        move(first, "shipped", MONDAY_9_UTC)
    with freeze_time(MONDAY_9_UTC + timedelta(minutes=10)):
        move(newest, "shipped", MONDAY_9_UTC + timedelta(minutes=5))
    return window, anna, ben


def _catch_up_without_ben(twilio, anna, ben) -> None:
    [catch_up] = sms_to(twilio, "+4915199999999")
    assert anna.order.number in catch_up["body"] and "Hydraulic pump" in catch_up["body"]
    assert ben.order.number not in catch_up["body"] and "Drive belt" not in catch_up["body"]
    # with Anna's own link to her order
    _url, link = status_link_in(catch_up["body"])
    assert link.order == anna.order
    assert RecipientLink.objects.get(link=link).contact == anna
    bens_update = Notification.objects.get(order=ben.order, address="+4915199999999")
    assert bens_update.status == NotificationStatus.SKIPPED
    assert bens_update.last_error == "Ben Roth (Requester) was removed from the order's contacts"


def test_a_shared_phone_gets_the_catch_up_without_the_order_of_a_person_removed_meanwhile(rules, twilio, contact_for):
    # given Anna and Ben, who share the site's phone, each with a part that shipped during a window
    window, anna, ben = _shared_phone_catch_up(contact_for)
    # and Ben is removed from his order before the window ends
    ben.delete()

    # when the window ends
    with freeze_time(window.ends_at + timedelta(minutes=1)):
        notifications_sweep()

    # then the phone gets the catch-up about Anna's order only, and Ben's update ends "Not sent"
    _catch_up_without_ben(twilio, anna, ben)


def test_a_catch_up_sms_twilio_never_got_goes_out_without_a_person_removed_before_the_retry(
    rules, twilio, contact_for, settings
):
    # given Anna and Ben, who share the site's phone, each with a part that shipped during a window
    window, anna, ben = _shared_phone_catch_up(contact_for)
    # and when the window ends the connection to Twilio breaks (it may have the SMS: it is looked up)
    settings.TWILIO_API_URL = "http://127.0.0.1:9"
    with freeze_time(window.ends_at + timedelta(minutes=1)):
        notifications_sweep()
    summary = Notification.objects.get(kind="maintenance_summary")
    assert summary.status == NotificationStatus.PENDING and summary.send_started_at is not None
    # and Ben is removed from his order before the retry
    ben.delete()

    # when the retry is due (Twilio answers again, and has no such SMS)
    settings.TWILIO_API_URL = twilio.url
    with freeze_time(window.ends_at + timedelta(minutes=10)):
        notifications_sweep()

    # then the phone gets the catch-up about Anna's order only, and Ben's update ends "Not sent"
    _catch_up_without_ben(twilio, anna, ben)


def test_an_email_that_may_have_gone_before_its_recipient_was_removed_is_not_called_not_sent(
    rules, twilio, mailbox, contact_for, settings
):
    # given a B part's email that a worker handed to the mail server, then died
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, name="Ann Berg")
    ship(line)
    notification = Notification.objects.get(address=requester.email)
    claimed_at = email_handed_over_then_worker_died(notification)
    # and the requester is removed from the order meanwhile
    requester.delete()

    # when another worker takes it over after the lease
    sending.notification_send(notification_id=notification.pk, now=after_the_lease(claimed_at, settings))

    # then it is not sent again, and it says "sent, unconfirmed", not "Not sent"
    assert len(mailbox.to(requester.email)) == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.UNCONFIRMED
