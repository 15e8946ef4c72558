"""Twilio's side: status callbacks (signed, deduplicated, never a step back), inbound STOP, and
what a refused number does (blocked until a person clears it, email instead)."""

import random
import secrets
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from twilio.request_validator import RequestValidator

from notifications.models import BlockedAddress, Notification, NotificationStatus
from notifications.services.batches import notifications_sweep
from tests.factories import OrderLineFactory
from tests.notifications.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, ship, text_part

pytestmark = pytest.mark.django_db(transaction=True)


def signed_post(client, path: str, params: dict, *, token: str | None = None, auth_token: str = AUTH_TOKEN):
    """POST as Twilio does: form fields, signed over the public URL it called."""
    signature = RequestValidator(auth_token).compute_signature(PUBLIC_BASE_URL + path, params)
    headers = {"X-Twilio-Signature": signature, "I-Twilio-Idempotency-Token": token or secrets.token_hex(8)}
    return client.post(path, params, headers=headers)


def status_callback(client, notification: Notification, status: str, *, error_code: str = "", token=None):
    path = f"{reverse('notifications:twilio_status')}?n={notification.pk}"
    params = {"MessageSid": notification.provider_id, "MessageStatus": status, "To": notification.address}
    if error_code:
        params["ErrorCode"] = error_code
    return signed_post(client, path, params, token=token)


@pytest.fixture
def sms_notification(rules, twilio, mailbox, contact_for) -> Notification:
    """An A-part SMS the provider has queued."""
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    ship(line)
    return Notification.objects.get(address=requester.phone, channel="sms")


@pytest.mark.parametrize("seed", range(6))
def test_callbacks_in_any_order_end_in_the_final_status(client, sms_notification, seed):
    # given Twilio's callbacks of a delivered message, some twice, in a shuffled order
    callbacks = ["queued", "sending", "sent", "delivered"]
    deliveries = [(status, f"token-{status}") for status in callbacks]
    deliveries += random.Random(seed).sample(deliveries, 2)  # retried by Twilio with the same token
    random.Random(seed).shuffle(deliveries)

    # when they arrive
    answers = [status_callback(client, sms_notification, status, token=token) for status, token in deliveries]

    # then each is accepted, the final status is delivered, and each callback is logged once
    assert {answer.status_code for answer in answers} == {200}
    sms_notification.refresh_from_db()
    assert sms_notification.status == NotificationStatus.DELIVERED
    logged = list(sms_notification.log.exclude(callback_token=None).values_list("status", flat=True))
    assert sorted(logged) == sorted(callbacks)


@pytest.mark.parametrize("seed", range(3))
def test_a_late_sent_never_moves_an_undelivered_message_back(client, sms_notification, seed):
    # given the callbacks of a message the carrier could not deliver (a temporary error)
    deliveries = ["queued", "sent", "undelivered"]
    random.Random(seed).shuffle(deliveries)
    for status in deliveries:
        status_callback(client, sms_notification, status, error_code="30003" if status == "undelivered" else "")

    # then it is retried as a new attempt (never marked sent by the late callback)
    sms_notification.refresh_from_db()
    assert sms_notification.status == NotificationStatus.PENDING
    assert sms_notification.provider_id == ""


def test_a_permanent_failure_blocks_the_number_and_emails_instead(client, sms_notification, mailbox):
    # when the carrier reports the number as unknown (permanent)
    status_callback(client, sms_notification, "undelivered", error_code="30005")

    # then the SMS is final, the number blocked until someone clears it, and the email went out
    sms_notification.refresh_from_db()
    assert sms_notification.status == NotificationStatus.UNDELIVERED
    assert BlockedAddress.objects.filter(address=sms_notification.address, cleared_at=None).exists()
    [message] = mailbox.to(sms_notification.contact.email)
    assert sms_notification.order.number in message["Subject"]


def test_a_callback_with_a_wrong_signature_is_refused(client, sms_notification):
    path = f"{reverse('notifications:twilio_status')}?n={sms_notification.pk}"
    params = {"MessageSid": sms_notification.provider_id, "MessageStatus": "delivered"}

    answer = signed_post(client, path, params, auth_token="someone-elses-token")

    assert answer.status_code == 403
    sms_notification.refresh_from_db()
    assert sms_notification.status == NotificationStatus.QUEUED


def test_a_callback_signed_for_another_url_is_refused(client, sms_notification):
    # given a signature over the internal address, not the public one Twilio called
    path = f"{reverse('notifications:twilio_status')}?n={sms_notification.pk}"
    params = {"MessageSid": sms_notification.provider_id, "MessageStatus": "delivered"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature("http://testserver" + path, params)

    answer = client.post(path, params, headers={"X-Twilio-Signature": signature})

    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"MessageStatus": "delivered"}, "MessageSid"),
        ({"MessageSid": "SM1", "MessageStatus": "teleported"}, "MessageStatus"),
    ],
)
def test_a_malformed_callback_is_a_400_naming_the_field(client, sms_notification, params, field):
    path = f"{reverse('notifications:twilio_status')}?n={sms_notification.pk}"

    answer = signed_post(client, path, params)

    assert answer.status_code == 400
    assert field in answer.json()["errors"]


def test_a_stop_reply_blocks_the_number_and_the_next_message_goes_by_email(client, rules, twilio, mailbox, contact_for):
    # given a requester of an A part who replies STOP to an SMS
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    answer = signed_post(
        client, reverse("notifications:twilio_inbound"), {"From": requester.phone, "To": "+15005550006", "Body": "Stop"}
    )
    assert answer.status_code == 200

    # when the part ships
    ship(line)

    # then no SMS goes to the number: the requester gets an email instead
    assert BlockedAddress.objects.get(address=requester.phone).reason == "opt_out"
    assert [m for m in twilio.sent() if m["to"] == requester.phone] == []
    assert len(mailbox.to(requester.email)) == 1


def test_a_cleared_number_gets_sms_again(client, rules, twilio, mailbox, contact_for):
    # given a number blocked after a STOP, then cleared by a person
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    signed_post(client, reverse("notifications:twilio_inbound"), {"From": requester.phone, "Body": "STOP"})
    BlockedAddress.objects.filter(address=requester.phone).update(cleared_at=timezone.now())

    # when the part ships
    ship(line)

    # then the SMS goes again
    assert len([m for m in twilio.sent() if m["to"] == requester.phone]) == 1


def test_an_invalid_number_is_blocked_and_the_message_emailed_instead(rules, twilio, mailbox, contact_for):
    # given a requester whose number Twilio refuses (its magic invalid number)
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, phone="+15005550001")

    # when the part ships
    ship(line)

    # then the SMS failed for good, the number is blocked, and the email says the same
    sms = Notification.objects.get(channel="sms", address=requester.phone)
    assert (sms.status, sms.error_code) == (NotificationStatus.FAILED, "21211")
    assert BlockedAddress.objects.get(address=requester.phone).reason == "invalid"
    [message] = mailbox.to(requester.email)
    assert "Shipped" in text_part(message)


def test_a_provider_outage_is_retried_later(rules, twilio, contact_for):
    # given Twilio answering 503 once
    twilio.configure({"fail_next": {"count": 1, "status": 503, "code": 20503}})
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)

    # when the part ships, and the sweep runs once the retry is due
    ship(line)
    sms = Notification.objects.get(channel="sms", address=requester.phone)
    assert sms.status == NotificationStatus.PENDING
    with freeze_time(sms.due_at + timedelta(seconds=1)):
        notifications_sweep()

    # then the SMS went out once on the second attempt
    sms.refresh_from_db()
    assert (sms.status, sms.attempts) == (NotificationStatus.QUEUED, 2)
    assert len([m for m in twilio.sent() if m["to"] == requester.phone]) == 1


@pytest.mark.parametrize("reply", ["Stop.", " stop \n", "ＳＴＯＰ", "stop\u200b", "STOPALL", "end", "ARRET", "Arrêt"])
def test_every_form_of_an_opt_out_reply_blocks_the_number(client, twilio, reply):
    answer = signed_post(client, reverse("notifications:twilio_inbound"), {"From": "+4915100000001", "Body": reply})

    assert answer.status_code == 200
    assert BlockedAddress.objects.get(address="+4915100000001").reason == "opt_out"


@pytest.mark.parametrize("reply", ["STOP please", "when will it stop?", "Thanks"])
def test_a_reply_that_only_mentions_stop_blocks_nothing(client, twilio, reply):
    signed_post(client, reverse("notifications:twilio_inbound"), {"From": "+4915100000001", "Body": reply})

    assert not BlockedAddress.objects.exists()


def test_a_stop_blocks_the_contact_whatever_the_way_their_number_was_written(
    client, rules, twilio, mailbox, contact_for
):
    # given a requester whose number the ERP wrote with spaces, who replies STOP from it
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, phone="+49 151 1234 5678")
    signed_post(client, reverse("notifications:twilio_inbound"), {"From": "+4915112345678", "Body": "STOP"})

    # when the part ships
    ship(line)

    # then no SMS is tried (the number stays blocked as opted out, nothing else), and the email goes
    assert twilio.sent() == []
    assert list(BlockedAddress.objects.values_list("address", "reason")) == [("+4915112345678", "opt_out")]
    assert len(mailbox.to(requester.email)) == 1


def test_a_callback_replayed_under_another_idempotency_token_is_recorded_once(client, sms_notification):
    # given a delivered callback, and the same signed request replayed with a made-up token
    # (the token header is not covered by Twilio's signature)
    for token in ("token-from-twilio", "made-up-1", "made-up-2"):
        assert status_callback(client, sms_notification, "delivered", token=token).status_code == 200

    # then the delivery log has it once
    assert sms_notification.log.filter(status="delivered").exclude(callback_token=None).count() == 1


def test_wrong_twilio_credentials_retry_the_sms_and_block_nothing(rules, twilio, contact_for, settings):
    # given credentials Twilio refuses (401, error 20003)
    settings.TWILIO_AUTH_TOKEN = "a-rotated-token"
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)

    # when an A part ships
    ship(line)

    # then the SMS waits for a retry (someone fixes the credentials); the number is not blamed
    sms = Notification.objects.get(channel="sms", address=requester.phone)
    assert (sms.status, sms.error_code) == (NotificationStatus.PENDING, "20003")
    assert not BlockedAddress.objects.exists()
