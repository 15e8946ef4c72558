"""The catch-up SMS after a maintenance window carries its recipient's status link, as every
other message does: the link they already hold for the order (one per recipient and order), and
for a catch-up about several orders the link of the newest change, the SMS kept within its limit.
A catch-up email links every order, each with the link of that order's own contact."""

from datetime import datetime, timedelta

import pytest
from django.test import Client
from freezegun import freeze_time

from notifications.models import MaintenanceWindow, Notification, RecipientLink
from notifications.services.batches import notifications_sweep
from notifications.sms_length import sms_length
from tests.factories import OrderLineFactory
from tests.notifications.conftest import MONDAY_9_UTC, PUBLIC_BASE_URL, move, sms_to, status_link_in, text_part

pytestmark = pytest.mark.django_db(transaction=True)

T = MONDAY_9_UTC


def opens(url: str, *, at: datetime) -> int:
    """The status of the page the link opens, read soon after the message was sent."""
    with freeze_time(at):
        return Client().get(url.replace(PUBLIC_BASE_URL, "")).status_code


def window_ends(window: MaintenanceWindow):
    with freeze_time(window.ends_at + timedelta(minutes=1)):
        notifications_sweep()
        notifications_sweep()


def _both_ship_in_a_window(first, last) -> MaintenanceWindow:
    """A maintenance window in which `first` ships, then `last` five minutes later; then it ends."""
    window = MaintenanceWindow.objects.create(name="SAP cutover", starts_at=T, ends_at=T + timedelta(hours=1))
    with freeze_time(T + timedelta(minutes=5)):
        move(first, "shipped", T)
    with freeze_time(T + timedelta(minutes=10)):
        move(last, "shipped", T + timedelta(minutes=5))
    window_ends(window)
    return window


def test_the_catch_up_sms_carries_the_link_the_recipient_already_holds(rules, twilio, contact_for):
    # given an A part whose requester got an SMS with their link when it shipped
    line = OrderLineFactory(part__criticality="A", part__description="Hydraulic pump")
    requester = contact_for(line)
    with freeze_time(T - timedelta(hours=1)):
        move(line, "shipped", T - timedelta(hours=1))
    [shipped] = sms_to(twilio, requester.phone)
    held_url, link = status_link_in(shipped["body"])
    window = MaintenanceWindow.objects.create(name="SAP cutover", starts_at=T, ends_at=T + timedelta(hours=1))

    # when the part moves on during a maintenance window, and the window ends
    with freeze_time(T + timedelta(minutes=5)):
        move(line, "out_for_delivery", T)
    window_ends(window)

    # then the catch-up SMS carries that same link, which opens the order
    [_shipped, catch_up] = sms_to(twilio, requester.phone)
    assert "After planned maintenance" in catch_up["body"]
    url, _link = status_link_in(catch_up["body"])
    assert url == held_url
    assert opens(url, at=window.ends_at + timedelta(minutes=2)) == 200
    # and the stored text refers to the link without its token
    summary = Notification.objects.get(kind="maintenance_summary")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert token not in summary.body
    assert f"[status-link:{link.public_id}]" in summary.body


def test_a_catch_up_about_several_orders_links_the_newest_change_within_two_segments(rules, twilio, contact_for):
    # given two A-part orders with long part descriptions whose requesters share the site's phone
    described = (
        "Hydraulic pump assembly with pressure relief valve, mounting kit, gaskets, seals and bolts, "
        "for the left-hand side of the machine"
    )
    first = OrderLineFactory(part__criticality="A", part__description=described)
    newest = OrderLineFactory(
        part__criticality="A", part__description=described.replace("left", "right"), order__account=first.order.account
    )
    contact_for(first, phone="+4915199999999", email="anna@site.example")
    ben = contact_for(newest, phone="+4915199999999", email="ben@site.example")

    # when the first ships during the window, the other a little later, and the window ends
    window = _both_ship_in_a_window(first, newest)

    # then the shared phone gets one catch-up, with one link: Ben's to the newest change's order
    [catch_up] = sms_to(twilio, "+4915199999999")
    url, link = status_link_in(catch_up["body"])
    assert (link.order, link.audience) == (newest.order, "customer")
    assert RecipientLink.objects.get(link=link).contact == ben
    # and the SMS keeps within two segments, cut before its link, which stays whole and opens
    assert sms_length(catch_up["body"]).segments == 2
    assert catch_up["body"].endswith("... " + url)
    assert opens(url, at=window.ends_at + timedelta(minutes=2)) == 200


def test_a_catch_up_email_links_each_order_with_the_link_its_own_messages_carry(rules, twilio, mailbox, contact_for):
    # given one person who requested two B parts on two orders (a contact on each order)
    pump = OrderLineFactory(part__criticality="B", part__description="Hydraulic pump")
    belt = OrderLineFactory(part__criticality="B", part__description="Drive belt", order__account=pump.order.account)
    on_pump = contact_for(pump, email="anna@site.example")
    on_belt = contact_for(belt, email="anna@site.example")

    # when both ship during a maintenance window (the belt last), and the window ends
    window = _both_ship_in_a_window(pump, belt)

    # then the one catch-up email gives each order the link of that order's own contact
    [catch_up] = mailbox.to("anna@site.example")
    lines = {line.split()[1].split("/")[0]: line for line in text_part(catch_up).splitlines() if "/s/" in line}
    pump_url, pump_link = status_link_in(lines[pump.order.number])
    _belt_url, belt_link = status_link_in(lines[belt.order.number])
    assert RecipientLink.objects.get(link=pump_link).contact == on_pump
    assert RecipientLink.objects.get(link=belt_link).contact == on_belt

    # and the next message about the pump carries that same link: one live link per order
    later = window.ends_at + timedelta(minutes=30)
    with freeze_time(later):
        move(pump, "out_for_delivery", later)
    with freeze_time(later + timedelta(minutes=11)):
        notifications_sweep()
    [_catch_up, next_message] = mailbox.to("anna@site.example")
    assert status_link_in(text_part(next_message))[0] == pump_url
    assert opens(pump_url, at=later + timedelta(minutes=12)) == 200
