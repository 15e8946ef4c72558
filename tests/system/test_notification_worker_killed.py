"""A worker killed while Twilio holds its SMS request: the task comes back (the sweep, as it
would for a redelivered task), and the next worker finds the message at Twilio instead of sending
a second SMS. Real PostgreSQL, Redis, celery workers, the official Twilio client over HTTP to the
fake."""

import time

import pytest
from django.utils import timezone

from notifications.defaults import default_rules_seed
from notifications.fake_twilio import FakeTwilio
from notifications.models import Notification, NotificationStatus
from notifications.services.batches import notifications_sweep
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory
from tests.notifications.factories import OrderContactFactory

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

ACCOUNT_SID = "AC" + "2" * 32
AUTH_TOKEN = "system-test-twilio-token"
LEASE_SECONDS = 5


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_API_URL = "+15005550006", fake.url
    settings.PUBLIC_BASE_URL = "https://parts.example.com"
    yield fake
    fake.stop()


def test_a_send_task_redelivered_after_a_worker_kill_sends_no_second_sms(stack, twilio):
    # given an A part with a requester, the shipped rules, and Twilio slow to answer (30 s)
    default_rules_seed()
    line = OrderLineFactory(part__criticality="A")
    requester = OrderContactFactory(order=line.order)
    twilio.configure({"delay_seconds": 30})
    worker_env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_URL": twilio.url,
        "PUBLIC_BASE_URL": "https://parts.example.com",
        "NOTIFICATIONS_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    first = stack.start_worker(**worker_env)

    # when the part ships, and the worker dies while Twilio has the message but not yet answered
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    stack.wait_until(lambda: len(twilio.sent()) == 1, timeout=60, what="the SMS request to reach Twilio")
    first.kill()
    notification = Notification.objects.get(channel="sms", address=requester.phone)
    assert notification.status == NotificationStatus.CLAIMED

    # and another worker takes the task again once the lease is over
    twilio.configure({"delay_seconds": 0})
    stack.start_worker(**worker_env)
    time.sleep(LEASE_SECONDS + 0.5)
    notifications_sweep()

    def queued() -> bool:
        notification.refresh_from_db()
        return notification.status == NotificationStatus.QUEUED

    stack.wait_until(queued, timeout=60, what="the notification to be recorded as queued")

    # then Twilio got one SMS, and the notification carries its id, found rather than sent again
    [sms] = twilio.sent()
    assert notification.provider_id == sms["sid"]
    assert notification.attempts == 2
    assert notification.log.filter(status="found at provider", provider_id=sms["sid"]).exists()

    # and a further redelivery of the task finds nothing to do
    from notifications.tasks import notification_send_task

    assert notification_send_task.apply(args=[notification.pk]).result == "nothing to do"
    assert len(twilio.sent()) == 1
