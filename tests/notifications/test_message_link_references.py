"""A message's text carries names, references and part descriptions from the ERP and the
customer as they are: one that looks like a reference to a status link (/s/[status-link:…]/)
neither stops the message, nor marks another account's link as sent to this recipient, nor
gives this recipient a working link to another account's order. A link counts as sent only once
the provider took the message."""

import threading
from datetime import timedelta
from importlib import import_module

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from guardian.shortcuts import assign_perm

from notifications.models import Notification, NotificationStatus
from notifications.services import sending
from notifications.services.batches import notifications_sweep
from notifications.services.callbacks import twilio_status_record
from portal.models import StatusLink
from tests.factories import OrderLineFactory, UserFactory
from tests.notifications.conftest import (
    move,
    ship,
    sms_to,
    sms_undelivered_and_sent_again,
    status_link_in,
    text_part,
    twilio_says,
)
from tests.portal.fixtures import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def _reference(public_id) -> str:
    return f"/s/[status-link:{public_id}]/"


def _emailed(line) -> None:
    """The line ships and its email (a B part's, throttled) goes out."""
    ship(line)
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()


def test_a_name_that_looks_like_a_malformed_link_reference_does_not_stop_the_email(rules, twilio, mailbox, contact_for):
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, name=f"Ann {_reference('-' * 36)} Berg")

    _emailed(line)

    [message] = mailbox.to(requester.email)
    assert "Ann /s/[status-link:" in text_part(message)
    _url, link = status_link_in(text_part(message))
    assert Notification.objects.get(address=requester.email).status == NotificationStatus.SENT
    assert link.sent_by_email_to.startswith(requester.email[0] + "•••")


def test_another_accounts_link_named_in_a_message_is_not_marked_as_sent_to_its_recipient(
    rules, twilio, mailbox, contact_for
):
    # given another account's customer holds a link our messages sent them
    theirs = OrderLineFactory(part__criticality="A")
    contact_for(theirs, phone="+4915199999999")
    ship(theirs)
    [their_sms] = sms_to(twilio, "+4915199999999")
    _url, their_link = status_link_in(their_sms["body"])
    before = StatusLink.objects.get(pk=their_link.pk).sent_by_email_to

    # when our contact's name carries a reference to that link, and our email goes out
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, name=f"Ann {_reference(their_link.public_id)}")
    _emailed(line)

    # then our link says whom it went to, and theirs is untouched
    [message] = mailbox.to(requester.email)
    _url, our_link = status_link_in(text_part(message))
    assert our_link.sent_by_email_to.startswith(requester.email[0])
    assert StatusLink.objects.get(pk=their_link.pk).sent_by_email_to == before == ""


def test_an_sms_sent_again_gives_no_working_link_to_another_accounts_order(rules, twilio, contact_for):
    # given another account's customer holds a link our messages sent them
    theirs = OrderLineFactory(part__criticality="A")
    contact_for(theirs, phone="+4915199999999")
    ship(theirs)
    [their_sms] = sms_to(twilio, "+4915199999999")
    their_url, their_link = status_link_in(their_sms["body"])
    their_token = their_url.rstrip("/").rsplit("/", 1)[1]

    # and our part's description names that link, our SMS is undelivered, and is sent again
    line = OrderLineFactory(part__criticality="A", part__description=f"Valve {_reference(their_link.public_id)}")
    requester = contact_for(line, phone="+4915188888888")
    twilio.configure({"callbacks": True, "outcomes": {requester.phone: ["undelivered", 30003]}})
    ship(line)
    notification = Notification.objects.get(address=requester.phone, channel="sms")
    sms_undelivered_and_sent_again(twilio, notification)

    # then the second SMS carries our link, not theirs, and their link still opens for them
    first, second = sms_to(twilio, requester.phone)
    assert status_link_in(second["body"])[0] == status_link_in(first["body"])[0]
    assert their_token not in second["body"]
    assert status_link_in(their_sms["body"])[1].pk == their_link.pk  # their token still opens their link
    assert StatusLink.objects.get(pk=their_link.pk).sent_by_sms_to.endswith("99")


def test_a_link_whose_sms_was_refused_for_good_is_not_shown_as_sent(rules, twilio, contact_for):
    # given a contact whose number Twilio refuses as invalid (a permanent failure)
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, phone="+15005550001", email="")

    ship(line)

    notification = Notification.objects.get(address=requester.phone, channel="sms")
    assert notification.status == NotificationStatus.FAILED
    # then no link of the order claims that our messages sent it by SMS
    assert not StatusLink.objects.filter(order=line.order).exclude(sent_by_sms_to="").exists()


def _pages_say(client, customer, order, link) -> tuple[str, str]:
    """Whom the link went to, as the back office's order page and the customer's portal page say it."""
    back_office = client.get(reverse("backoffice:order", args=[order.pk])).content.decode()
    portal = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    row = f'id="link-{link.public_id}"'
    return back_office.split(row)[1].split("</tr>")[0], portal.split(row)[1].split("</tr>")[0]


def _texted(contact_for, *, phone: str):
    """An A part shipped whose requester (at `phone`, no email) is texted, and a customer who
    follows its account: (line, customer, requester, the SMS)."""
    line = OrderLineFactory(part__criticality="A")
    customer = UserFactory(username="customer")
    assign_perm("orders.follow_account_orders", customer, line.order.account)
    requester = contact_for(line, phone=phone, email="")
    ship(line)
    return line, customer, requester, Notification.objects.get(address=requester.phone, channel="sms")


def test_a_link_whose_sms_came_back_undelivered_is_not_shown_as_sent_until_an_sms_brings_it(
    rules, twilio, contact_for, boss, client
):
    # given a customer who follows the account, and an A part whose requester is texted
    line, customer, requester, first = _texted(contact_for, phone="+4915188888888")
    _url, link = status_link_in(sms_to(twilio, requester.phone)[0]["body"])

    # when Twilio reports the SMS undelivered (a temporary error: it is tried again later)
    twilio_says(first, "undelivered", "30003")

    # then neither the back office nor the portal says the link was sent to the phone
    back_office, portal = _pages_say(client, customer, line.order, link)
    assert "our messages: the SMS to +49•••88 was not delivered" in back_office
    assert "sent by our messages" not in back_office
    assert "The SMS to the contact on file (+49•••88) was not delivered" in portal
    assert "Sent by" not in portal

    # when the SMS is sent again, Twilio takes it and the phone gets it
    sending.notification_send(notification_id=first.pk, now=first.due_at + timedelta(seconds=1))
    twilio_says(first, "delivered")

    # then both say it was sent by SMS again
    back_office, portal = _pages_say(client, customer, line.order, link)
    assert "sent by our messages: SMS to +49•••88" in back_office and "not delivered" not in back_office
    assert "Sent by SMS to the contact on file (+49•••88)" in portal and "not delivered" not in portal

    # when the next SMS about the order, with the same link, is undelivered
    move(line, "out_for_delivery", timezone.now())
    later = Notification.objects.exclude(pk=first.pk).get(address=requester.phone, channel="sms")
    assert status_link_in(sms_to(twilio, requester.phone)[-1]["body"])[1] == link
    twilio_says(later, "undelivered", "30003")

    # then the link still counts as sent: the first SMS brought it to the phone
    back_office, portal = _pages_say(client, customer, line.order, link)
    assert "sent by our messages: SMS to +49•••88" in back_office and "not delivered" not in back_office
    assert "Sent by SMS to the contact on file (+49•••88)" in portal


def _backfill() -> None:
    from django.apps import apps

    import_module("notifications.migrations.0005_status_links_sent_to").links_sent_to(apps, None)


def test_the_backfill_of_whom_links_were_sent_to_trusts_only_the_messages_own_links(rules, twilio, contact_for):
    # given another account's customer got an SMS with their link
    theirs = OrderLineFactory(part__criticality="A")
    contact_for(theirs, phone="+4915199999999")
    ship(theirs)
    _url, their_link = status_link_in(sms_to(twilio, "+4915199999999")[0]["body"])
    # and our SMS named that link and a malformed one in the part's description
    description = f"Valve {_reference(their_link.public_id)} {_reference('-' * 36)}"
    line = OrderLineFactory(part__criticality="A", part__description=description)
    contact_for(line, phone="+4915188888888")
    ship(line)
    _url, our_link = status_link_in(sms_to(twilio, "+4915188888888")[0]["body"])
    # and an SMS to an invalid number, refused for good
    refused = OrderLineFactory(part__criticality="A")
    contact_for(refused, phone="+15005550001", email="")
    ship(refused)
    StatusLink.objects.update(sent_by_email_to="", sent_by_sms_to="")  # from before links recorded it

    # when the migration reads the stored messages
    _backfill()

    # then each link says whom its own messages went to, and the refused one says nothing
    assert StatusLink.objects.get(pk=our_link.pk).sent_by_sms_to == "+49•••88"
    assert StatusLink.objects.get(pk=their_link.pk).sent_by_sms_to == "+49•••99"
    assert not StatusLink.objects.filter(order=refused.order).exclude(sent_by_sms_to="").exists()


def test_a_link_whose_sms_to_an_old_number_came_back_is_still_sent_to_the_new_one(
    rules, twilio, contact_for, boss, client
):
    # given a customer who follows the account, and an A part whose requester is texted
    line, customer, requester, first = _texted(contact_for, phone="+4915100000088")
    # and staff correct the number to another one ending in the same two digits
    requester.phone = "+4915177777788"
    requester.save()
    move(line, "out_for_delivery", timezone.now())
    [later] = sms_to(twilio, requester.phone)
    _url, link = status_link_in(later["body"])

    # when Twilio reports the SMS to the old number undelivered
    twilio_says(first, "undelivered", "30003")

    # then both pages still say the link was sent by SMS (to the new number, on its way)
    back_office, portal = _pages_say(client, customer, line.order, link)
    assert "sent by our messages: SMS to +49•••88" in back_office and "not delivered" not in back_office
    assert "Sent by SMS to the contact on file (+49•••88)" in portal and "not delivered" not in portal


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_two_undelivered_reports_at_once_about_sms_with_the_same_link_mark_it_not_delivered(rules, twilio, contact_for):
    # given ten A parts whose requesters each got two SMS with their order's link
    pairs = []
    for number in range(10):
        line = OrderLineFactory(part__criticality="A")
        requester = contact_for(line, phone=f"+49151888880{number:02d}", email="")
        ship(line)
        move(line, "out_for_delivery", timezone.now())
        first, second = Notification.objects.filter(address=requester.phone, channel="sms").order_by("pk")
        pairs.append((status_link_in(sms_to(twilio, requester.phone)[0]["body"])[1], first, second))

    # when Twilio reports both SMS of each undelivered at the same moment
    reports = [notification for _link, first, second in pairs for notification in (first, second)]
    barrier = threading.Barrier(len(reports))
    errors = []

    def report(notification) -> None:
        try:
            barrier.wait(timeout=30)
            twilio_status_record(
                notification_id=notification.pk,
                sid=notification.provider_id,
                status="undelivered",
                error_code="30003",
                token=f"{notification.provider_id}-undelivered",
            )
        except Exception as error:  # noqa: BLE001  (handed back to the test to fail on)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(notification,)) for notification in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then every link says its SMS did not reach the phone: neither report counted on the other SMS
    assert errors == []
    assert [StatusLink.objects.get(pk=link.pk).sms_undelivered for link, _first, _second in pairs] == [True] * 10
