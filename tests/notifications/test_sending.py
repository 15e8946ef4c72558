"""Sending when workers die, answers come late and callbacks overtake them: an SMS is never sent
twice and never lost to a retry, an email is never sent twice, and a message no worker can
finish is given up after the attempt limit.

A worker that "dies" is simulated by claiming a notification (what a worker does first) and
never recording the answer; the lease then runs out as it would."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from notifications.channels.sms import sms_send
from notifications.models import MessageTemplate, Notification, NotificationRule, NotificationStatus
from notifications.services import sending
from notifications.services.callbacks import twilio_status_record
from tests.factories import OrderLineFactory
from tests.notifications.conftest import email_handed_over_then_worker_died, ship, text_part, throttled_sms_rule

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, *, seconds: float = 10) -> None:
    """Until the fake's own thread has done its part (its status callbacks)."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the fake Twilio did not get there"
        time.sleep(0.02)


def after_the_lease(moment, settings):
    return moment + timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS + 1)


def test_an_email_is_not_sent_twice_when_its_worker_dies_after_handing_it_over(
    rules, twilio, mailbox, contact_for, settings
):
    # given a B-part email that a worker claimed and handed to the mail server, then died
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line)
    ship(line)
    notification = Notification.objects.get(address=requester.email)
    now = email_handed_over_then_worker_died(notification)

    # when another worker takes it over after the lease
    sending.notification_send(notification_id=notification.pk, now=after_the_lease(now, settings))

    # then the recipient has one email, and the log says it is sent but unconfirmed
    assert len(mailbox.to(requester.email)) == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.UNCONFIRMED
    assert "not sent again" in notification.log.get(status=NotificationStatus.UNCONFIRMED).detail


def test_a_worker_killed_while_twilio_still_queues_its_sms_sends_no_second_one(rules, twilio, contact_for, settings):
    # given a throttled SMS that a worker handed to Twilio, then died; Twilio still has it
    # queued (no date sent yet)
    throttled_sms_rule()
    line = OrderLineFactory(part__criticality="C")
    requester = contact_for(line)
    ship(line)
    notification = Notification.objects.get(address=requester.phone)
    now = notification.due_at + timedelta(seconds=1)
    with freeze_time(now):
        claim = sending._claim(notification.pk, now=now)
        sms_send(to=notification.address, body=claim.text, status_callback="")
    assert twilio.sent()[0]["status"] == "queued"

    # when another worker takes it over after the lease
    with freeze_time(after_the_lease(now, settings)):
        outcome = sending.notification_send(notification_id=notification.pk)

    # then it finds the queued message and adopts it: one SMS at Twilio
    assert outcome == "sent"
    [sms] = twilio.sent()
    notification.refresh_from_db()
    assert notification.provider_id == sms["sid"]
    assert notification.log.filter(status="found at provider").exists()


def test_a_retry_after_an_undelivered_sms_sends_a_new_one_even_if_its_worker_died(rules, twilio, contact_for, settings):
    # given an A-part SMS that left for the carrier, which could not deliver it (a temporary
    # error): it is to be retried
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    twilio.configure({"callbacks": True, "outcomes": {requester.phone: ["undelivered", 30003]}})
    ship(line)
    wait_for(lambda: twilio.sent()[0]["status"] == "undelivered")
    notification = Notification.objects.get(address=requester.phone, channel="sms")
    undelivered = notification.provider_id
    twilio_status_record(
        notification_id=notification.pk, sid=undelivered, status="undelivered", error_code="30003", token="t1"
    )
    notification.refresh_from_db()

    # when the retry's worker dies before reaching Twilio, and another takes over
    now = notification.due_at + timedelta(seconds=1)
    sending._claim(notification.pk, now=now)
    sending.notification_send(notification_id=notification.pk, now=after_the_lease(now, settings))

    # then a second SMS went out: the undelivered one was not taken for the retry
    notification.refresh_from_db()
    assert [m["to"] for m in twilio.sent()] == [requester.phone, requester.phone]
    assert notification.provider_id == twilio.sent()[1]["sid"]
    assert notification.provider_id != undelivered


def test_an_undelivered_callback_that_overtakes_the_workers_answer_still_retries(rules, twilio, contact_for):
    from notifications.channels.sms import Accepted
    from notifications.services.batches import notifications_sweep

    # given an SMS a worker claimed; Twilio took it, and its temporary "undelivered" callback
    # arrives before the worker records Twilio's answer
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    NotificationRule.objects.all().delete()
    throttled_sms_rule()
    ship(line)
    notification = Notification.objects.get(address=requester.phone)
    claim = sending._claim(notification.pk, now=notification.due_at + timedelta(seconds=1))
    twilio_status_record(
        notification_id=notification.pk, sid="SMX", status="undelivered", error_code="30003", token="a"
    )

    # when the worker's record of the answer comes late
    outcome = sending._sent(claim, Accepted(provider_id="SMX", status="queued"))

    # then the notification still waits for its retry, and the retry sends
    notification.refresh_from_db()
    assert outcome == "late"
    assert notification.status == NotificationStatus.PENDING
    with freeze_time(notification.due_at + timedelta(seconds=1)):
        notifications_sweep()
    assert [m["to"] for m in twilio.sent()] == [requester.phone]


def test_a_carriage_return_in_an_erp_text_leaves_the_subject_on_one_line(rules, twilio, mailbox, contact_for):
    from notifications.services.batches import notifications_sweep

    # given a subject naming the part description, and an ERP description with a carriage return
    MessageTemplate.objects.create(
        event_kind="status_reached",
        channel="email",
        locale="en",
        subject="{{ part_description }}: {{ status }}",
        body_text="Hello",
    )
    line = OrderLineFactory(part__criticality="B", part__description="Valve\rDN50")
    requester = contact_for(line)

    # when the part ships and the throttle window passes
    ship(line)
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()

    # then one email goes out at the first attempt, its subject on one line
    [message] = mailbox.to(requester.email)
    assert message["Subject"] == "Valve DN50: Shipped"
    assert Notification.objects.get(address=requester.email).attempts == 1


def test_a_message_whose_workers_keep_dying_is_given_up_at_the_attempt_limit(rules, twilio, contact_for, settings):
    # given an A-part SMS whose workers die, one after another, before Twilio answers
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    twilio.configure({"fail_next": {"count": 1, "status": 503, "code": 20503}})
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    ship(line)  # the first attempt meets Twilio's 503: to be retried
    notification = Notification.objects.get(address=requester.phone, channel="sms")
    now = notification.due_at + timedelta(seconds=1)
    for _ in range(settings.NOTIFICATIONS_MAX_ATTEMPTS - 1):
        assert sending._claim(notification.pk, now=now) is not None
        now = after_the_lease(now, settings)

    # when the sweep takes it over again
    outcome = sending.notification_send(notification_id=notification.pk, now=now)

    # then it is failed for good, not claimed again, and nothing was sent
    notification.refresh_from_db()
    assert outcome == "nothing to do"
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 3)
    assert sending._claim(notification.pk, now=after_the_lease(now, settings)) is None
    assert twilio.sent() == []


def test_an_email_the_mail_server_refused_is_sent_again_on_retry(rules, twilio, mailbox, contact_for, settings):
    from notifications.services.batches import notifications_sweep

    # given a B-part email and a mail server that is down at first
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line)
    ship(line)
    notification = Notification.objects.get(address=requester.email)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there: connection refused
    sending.notification_send(notification_id=notification.pk, now=notification.due_at + timedelta(seconds=1))
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING

    # when the server is back and the retry is due
    settings.EMAIL_PORT = port
    with freeze_time(notification.due_at + timedelta(seconds=1)):
        notifications_sweep()

    # then the email goes out (refused is not "maybe sent")
    [message] = mailbox.to(requester.email)
    assert "Shipped" in text_part(message)
