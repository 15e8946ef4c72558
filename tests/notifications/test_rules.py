"""The shipped rules with a fixed clock: who hears of what, by which channel, and when.

Status facts go through the core (apply_status_update), its outbox delivers them to the
notifications handler, and messages leave through the real Twilio client (to the fake) and SMTP
(to a local server). The clock is frozen: the test decides when the scheduler's sweep runs.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from freezegun import freeze_time

from notifications.models import MaintenanceWindow, Notification, NotificationStatus, RecipientPreference
from notifications.services.batches import notifications_sweep
from tests.factories import OrderLineFactory
from tests.notifications.conftest import MONDAY_9_UTC, move, sms_to, text_part

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_a_part_that_ships_is_an_sms_at_once(rules, twilio, mailbox, contact_for):
    # given an order line of an A part (machine down) with a requester who has a phone
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, phone="+4915110000001")

    # when the warehouse books the goods issue
    with freeze_time(MONDAY_9_UTC):
        move(line, "shipped", MONDAY_9_UTC)

    # then the requester has an SMS at once, through Twilio, naming the order
    [sms] = sms_to(twilio, requester.phone)
    assert line.order.number in sms["body"]
    assert "Shipped" in sms["body"]
    notification = Notification.objects.get(address=requester.phone)
    assert notification.status == NotificationStatus.QUEUED
    assert notification.provider_id == sms["sid"]
    assert mailbox.messages == []


def test_a_c_part_waits_for_the_digest_hour_and_goes_out_as_one_email(rules, twilio, mailbox, contact_for):
    # given a routine C part whose requester reads a digest at 08:00 Berlin time
    line = OrderLineFactory(part__criticality="C", part__description="Filter cartridge")
    requester = contact_for(line, time_zone="Europe/Berlin")

    # when it ships on Monday at 10:00 Berlin time and is delivered later that day
    with freeze_time(MONDAY_9_UTC):
        move(line, "shipped", MONDAY_9_UTC)
    with freeze_time(MONDAY_9_UTC + timedelta(hours=5)):
        move(line, "delivered", MONDAY_9_UTC + timedelta(hours=5))
        notifications_sweep()

    # then nothing is sent that day
    assert mailbox.messages == []
    assert twilio.sent() == []

    # and the next morning at 08:00 Berlin time (07:00 UTC) one digest email shows the latest state
    with freeze_time(datetime(2026, 11, 3, 6, 59, tzinfo=UTC)):
        notifications_sweep()
    assert mailbox.messages == []
    with freeze_time(datetime(2026, 11, 3, 7, 0, tzinfo=UTC)):
        notifications_sweep()
    [digest] = mailbox.to(requester.email)
    assert digest["Subject"] == "Your daily update: 1 order line"
    assert "Filter cartridge: Delivered" in text_part(digest)
    assert "Shipped" not in text_part(digest)


def test_quiet_hours_defer_a_routine_email_until_they_end(rules, twilio, mailbox, contact_for):
    # given a B part whose requester keeps quiet hours from 22:00 to 07:00 in Berlin
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, time_zone="Europe/Berlin")
    RecipientPreference.objects.create(email=requester.email, quiet_start=time(22), quiet_end=time(7))

    # when it ships at 23:30 Berlin time (22:30 UTC)
    late = datetime(2026, 11, 2, 22, 30, tzinfo=UTC)
    with freeze_time(late):
        move(line, "shipped", late)
        notifications_sweep()
    with freeze_time(datetime(2026, 11, 3, 5, 59, tzinfo=UTC)):
        notifications_sweep()

    # then nothing goes out during the night, and the email leaves at 07:00 Berlin time
    assert mailbox.messages == []
    with freeze_time(datetime(2026, 11, 3, 6, 0, tzinfo=UTC)):
        notifications_sweep()
    [message] = mailbox.to(requester.email)
    assert line.order.number in message["Subject"]


def test_a_critical_sms_bypasses_quiet_hours(rules, twilio, mailbox, contact_for):
    # given an A part whose requester keeps quiet hours from 22:00 to 07:00
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, time_zone="Europe/Berlin")
    RecipientPreference.objects.create(phone=requester.phone, quiet_start=time(22), quiet_end=time(7))

    # when the part ships at 23:30 Berlin time
    late = datetime(2026, 11, 2, 22, 30, tzinfo=UTC)
    with freeze_time(late):
        move(line, "shipped", late)

    # then the SMS goes at once: the machine is down
    assert len(sms_to(twilio, requester.phone)) == 1


def test_a_maintenance_window_holds_then_sends_one_catch_up_summary_with_the_latest_state(
    rules, twilio, mailbox, contact_for
):
    # given a maintenance window of the order's region from 09:00 to 11:00 UTC
    line = OrderLineFactory(part__criticality="B", part__description="Hydraulic valve")
    other = OrderLineFactory(order=line.order, part__criticality="B", part__description="Seal kit")
    requester = contact_for(line)
    MaintenanceWindow.objects.create(
        name="ERP upgrade",
        region=line.order.region,
        starts_at=MONDAY_9_UTC,
        ends_at=MONDAY_9_UTC + timedelta(hours=2),
    )

    # when both lines ship during the window and one is delivered before it ends
    with freeze_time(MONDAY_9_UTC + timedelta(minutes=10)):
        move(line, "shipped", MONDAY_9_UTC)
        move(other, "shipped", MONDAY_9_UTC)
    with freeze_time(MONDAY_9_UTC + timedelta(minutes=50)):
        move(line, "delivered", MONDAY_9_UTC + timedelta(minutes=40))
        notifications_sweep()

    # then nothing is sent while the window runs
    assert mailbox.messages == []

    # and when it has ended, one summary goes out, showing where each line is now
    with freeze_time(MONDAY_9_UTC + timedelta(hours=2, minutes=1)):
        notifications_sweep()
        notifications_sweep()
    [summary] = mailbox.to(requester.email)
    text = text_part(summary)
    assert "ERP upgrade" in text
    assert "Hydraulic valve: Delivered" in text
    assert "Seal kit: Shipped" in text
    held = Notification.objects.filter(held_by__name="ERP upgrade", kind="status_reached")
    assert {n.status for n in held} == {NotificationStatus.FOLDED}


def test_a_window_that_lets_critical_messages_through_does_not_hold_an_a_part_sms(rules, twilio, contact_for):
    # given a window that lets critical messages through
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    MaintenanceWindow.objects.create(
        name="WMS patch",
        starts_at=MONDAY_9_UTC,
        ends_at=MONDAY_9_UTC + timedelta(hours=2),
        lets_critical_through=True,
    )

    # when the A part ships during it
    with freeze_time(MONDAY_9_UTC + timedelta(minutes=5)):
        move(line, "shipped", MONDAY_9_UTC)

    # then the SMS goes at once
    assert len(sms_to(twilio, requester.phone)) == 1


def test_a_window_holds_even_a_critical_sms_unless_it_says_so(rules, twilio, contact_for):
    # given a window that does not let critical messages through
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    MaintenanceWindow.objects.create(
        name="SAP cutover", starts_at=MONDAY_9_UTC, ends_at=MONDAY_9_UTC + timedelta(hours=1)
    )

    # when the A part ships during it, then the window ends
    with freeze_time(MONDAY_9_UTC + timedelta(minutes=5)):
        move(line, "shipped", MONDAY_9_UTC)
    assert sms_to(twilio, requester.phone) == []
    with freeze_time(MONDAY_9_UTC + timedelta(hours=1, minutes=1)):
        notifications_sweep()
        notifications_sweep()

    # then the catch-up comes by SMS, as the held message would have
    [summary] = sms_to(twilio, requester.phone)
    assert "After planned maintenance" in summary["body"]


def test_a_burst_of_twenty_updates_on_one_order_is_one_message_with_the_latest_state(twilio, mailbox, contact_for):
    # given a rule that emails every step of a B part, throttled to one message per 10 minutes
    from notifications.models import NotificationRule

    NotificationRule.objects.create(
        name="every step",
        event_kind="status_reached",
        statuses=[
            "released",
            "allocated",
            "picking",
            "packed",
            "shipped",
            "in_transit",
            "out_for_delivery",
            "delivered",
            "verified",
            "awaiting_part",
        ],
        criticalities=["B"],
        roles=["requester"],
        channel="email",
        throttle=timedelta(minutes=10),
    )
    first = OrderLineFactory(part__criticality="B", part__description="Pump seal")
    second = OrderLineFactory(order=first.order, part__criticality="B", part__description="Gasket")
    requester = contact_for(first)
    steps = [
        "released",
        "awaiting_part",
        "allocated",
        "picking",
        "packed",
        "shipped",
        "in_transit",
        "out_for_delivery",
        "delivered",
        "verified",
    ]

    # when 20 updates arrive within two minutes (10 steps of each line)
    for index, status in enumerate(steps):
        moment = MONDAY_9_UTC + timedelta(seconds=6 * index)
        with freeze_time(moment):
            move(first, status, moment)
            move(second, status, moment + timedelta(seconds=1))
            notifications_sweep()
    assert Notification.objects.filter(address=requester.email).count() == 20
    assert mailbox.messages == []

    # then after the throttle window one email goes out, with the latest state of both lines
    with freeze_time(MONDAY_9_UTC + timedelta(minutes=10, seconds=1)):
        notifications_sweep()
    [message] = mailbox.to(requester.email)
    text = text_part(message)
    assert "Pump seal: Received on site" in text
    assert "Gasket: Received on site" in text


def test_quiet_hours_end_at_seven_local_time_on_the_night_the_clocks_go_back(rules, twilio, mailbox, contact_for):
    # given quiet hours from 22:00 to 07:00 in Berlin, and a B part that ships at 23:30 summer
    # time on the night summer time ends (25 October 2026, 03:00 CEST becomes 02:00 CET)
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, time_zone="Europe/Berlin")
    RecipientPreference.objects.create(email=requester.email, quiet_start=time(22), quiet_end=time(7))
    late = datetime(2026, 10, 24, 21, 30, tzinfo=UTC)
    with freeze_time(late):
        move(line, "shipped", late)

    # when the sweep runs before and at 07:00 winter time (06:00 UTC, not 05:00)
    with freeze_time(datetime(2026, 10, 25, 5, 30, tzinfo=UTC)):
        notifications_sweep()
    assert mailbox.messages == []
    with freeze_time(datetime(2026, 10, 25, 6, 0, tzinfo=UTC)):
        notifications_sweep()

    # then the email leaves at 07:00 on the recipient's clock
    assert len(mailbox.to(requester.email)) == 1


def test_a_digest_hour_the_clocks_skip_goes_out_at_the_first_hour_that_exists(rules, twilio, mailbox, contact_for):
    # given a C part whose requester reads the digest at 02:00 in Berlin, on the night summer
    # time starts (29 March 2026: 02:00 CET becomes 03:00 CEST, 02:00 never happens)
    line = OrderLineFactory(part__criticality="C")
    requester = contact_for(line, time_zone="Europe/Berlin")
    RecipientPreference.objects.create(email=requester.email, digest_hour=2)
    with freeze_time(datetime(2026, 3, 28, 12, 0, tzinfo=UTC)):
        move(line, "shipped", datetime(2026, 3, 28, 12, 0, tzinfo=UTC))

    # when the sweep runs through that night
    with freeze_time(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)):
        notifications_sweep()
    assert mailbox.messages == []
    with freeze_time(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)):  # 03:00 CEST
        notifications_sweep()

    # then the digest goes out once, at 03:00 summer time
    assert len(mailbox.to(requester.email)) == 1
