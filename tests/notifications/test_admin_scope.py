"""The notification settings in the admin are scoped like everything else: a regional admin sees
and changes the maintenance windows, preferences and blocked numbers of their own orders' people
only, cannot mute every region, and sends test messages only to themselves (SMS: to a phone they
confirmed with a code), a few per hour."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import BlockedAddress, MaintenanceWindow, MessageTemplate, Notification, RecipientPreference
from tests.factories import OrderLineFactory, RegionFactory
from tests.notifications.conftest import region_member
from tests.notifications.factories import OrderContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db):
    """An EMEA admin; a contact on an EMEA order and one on an Americas order."""
    emea, americas = RegionFactory(code="emea"), RegionFactory(code="americas", name="Americas")
    admin_person = region_member("admin", emea, username="emea-admin", email="emea-admin@oem.example")
    ours = OrderContactFactory(
        order=OrderLineFactory(order__account__region=emea).order, email="Anna@Emea-Customer.example"
    )
    theirs = OrderContactFactory(
        order=OrderLineFactory(order__account__region=americas).order,
        email="ceo@americas-customer.example",
        phone="+1 555 123 0000",
    )
    return {"emea": emea, "americas": americas, "admin": admin_person, "ours": ours, "theirs": theirs}


def test_a_regional_admin_sees_the_preferences_of_their_orders_people_only(client, world):
    # given preferences of a contact on an EMEA order and of one on an Americas order
    ours = RecipientPreference.objects.create(email="anna@emea-customer.example", sms_enabled=False)
    theirs = RecipientPreference.objects.create(email="ceo@americas-customer.example", sms_enabled=False)
    client.force_login(world["admin"])

    # when the EMEA admin opens the list and both
    listing = client.get(reverse("admin:notifications_recipientpreference_changelist")).content.decode()
    mine = client.get(reverse("admin:notifications_recipientpreference_change", args=[ours.pk]))
    other = client.get(reverse("admin:notifications_recipientpreference_change", args=[theirs.pk]))

    # then only their own contact's preference is listed and opens; the other is not found
    assert "anna@emea-customer.example" in listing
    assert "ceo@americas-customer.example" not in listing
    assert (mine.status_code, other.status_code) == (200, 404)


def test_a_regional_admin_cannot_set_the_preferences_of_someone_outside_their_scope(client, world):
    client.force_login(world["admin"])

    answer = client.post(
        reverse("admin:notifications_recipientpreference_add"),
        {"email": "ceo@americas-customer.example", "sms_enabled": "", "email_enabled": "on", "digest_hour": 8},
    )

    assert answer.status_code == 200
    assert "No contact of an order in your scope" in answer.content.decode()
    assert not RecipientPreference.objects.exists()


def window_form(**fields) -> dict:
    return {
        "name": "ERP upgrade",
        "source_system": "",
        "starts_at_0": "2026-11-02",
        "starts_at_1": "09:00:00",
        "ends_at_0": "2026-11-02",
        "ends_at_1": "11:00:00",
        **fields,
    }


def test_a_regional_admin_cannot_schedule_a_window_that_mutes_every_region(client, world):
    client.force_login(world["admin"])
    url = reverse("admin:notifications_maintenancewindow_add")

    everything = client.post(url, window_form(name="mute everything"))
    other_region = client.post(url, window_form(name="mute them", region=world["americas"].pk))
    own_region = client.post(url, window_form(name="our ERP", region=world["emea"].pk))

    assert "only people who work on every region" in everything.content.decode()
    assert other_region.status_code == 200  # the form again: not a choice of theirs
    assert own_region.status_code == 302
    assert list(MaintenanceWindow.objects.values_list("name", flat=True)) == ["our ERP"]


def test_a_regional_admin_sees_no_window_of_another_region_nor_a_global_one(client, world):
    now = timezone.now()
    global_window = MaintenanceWindow.objects.create(
        name="Global", starts_at=now, ends_at=now + timezone.timedelta(hours=1)
    )
    theirs = MaintenanceWindow.objects.create(
        name="Americas ERP", region=world["americas"], starts_at=now, ends_at=now + timezone.timedelta(hours=1)
    )
    client.force_login(world["admin"])

    for window in (global_window, theirs):
        answer = client.get(reverse("admin:notifications_maintenancewindow_change", args=[window.pk]))
        assert answer.status_code == 404


def test_a_regional_admin_clears_only_the_blocks_of_their_orders_contacts(client, world):
    # given a STOP from the EMEA contact's number and one from the Americas contact's number
    now = timezone.now()
    ours = BlockedAddress.objects.create(address=world["ours"].phone, reason="opt_out", blocked_at=now)
    theirs = BlockedAddress.objects.create(address="+15551230000", reason="opt_out", blocked_at=now)
    client.force_login(world["admin"])

    # when the EMEA admin lists the blocks and clears both
    listing = client.get(reverse("admin:notifications_blockedaddress_changelist")).content.decode()
    client.post(
        reverse("admin:notifications_blockedaddress_changelist"),
        {"action": "clear", "_selected_action": [ours.pk, theirs.pk]},
    )

    # then only their own contact's number was listed and cleared
    assert ours.address in listing
    assert theirs.address not in listing
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.cleared_at is not None
    assert theirs.cleared_at is None


@pytest.fixture
def sms_template(db):
    return MessageTemplate.objects.create(
        event_kind="status_reached", channel="sms", locale="en", body_text="Order {{ order_number }}: {{ status }}"
    )


def test_a_test_sms_goes_only_to_a_phone_the_person_confirmed(client, world, twilio, sms_template):
    client.force_login(world["admin"])
    url = reverse("admin:notifications_messagetemplate_preview", args=[sms_template.pk])
    order = world["ours"].order.number

    # when they ask for a test SMS to a number they typed, without confirming it
    client.post(url, {"order": order, "phone": "+14155550199", "action": "test"})

    # then nothing is sent
    assert twilio.sent() == []

    # when they have a code sent to their phone and type it back
    client.post(url, {"order": order, "phone": "+49 151 2222 3333", "action": "send_code"})
    [code_sms] = twilio.sent()
    code = re.search(r"\b(\d{6})\b", code_sms["body"]).group(1)
    client.post(url, {"order": order, "code": code, "action": "verify"})

    # then a test goes to that phone, whatever number the form carries
    client.post(url, {"order": order, "phone": "+14155550199", "action": "test"})
    assert [message["to"] for message in twilio.sent()] == ["+4915122223333", "+4915122223333"]
    assert f"Order {order}" in twilio.sent()[1]["body"]
    assert RecipientPreference.objects.get(user=world["admin"]).phone_verified_at is not None


def test_a_wrong_code_confirms_nothing(client, world, twilio, sms_template):
    client.force_login(world["admin"])
    url = reverse("admin:notifications_messagetemplate_preview", args=[sms_template.pk])
    order = world["ours"].order.number
    client.post(url, {"order": order, "phone": "+4915122223333", "action": "send_code"})
    code = re.search(r"\b(\d{6})\b", twilio.sent()[0]["body"]).group(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answer = client.post(url, {"order": order, "code": wrong, "action": "verify"}, follow=True)

    assert "This code is not the one we sent." in answer.content.decode()
    assert not RecipientPreference.objects.filter(user=world["admin"], phone_verified_at__isnull=False).exists()


def test_test_messages_are_limited_per_hour(client, world, mailbox, settings):
    # given a limit of two test messages an hour
    settings.NOTIFICATIONS_TEST_SENDS_PER_HOUR = 2
    template = MessageTemplate.objects.create(
        event_kind="status_reached", channel="email", locale="en", subject="Test", body_text="Hi"
    )
    client.force_login(world["admin"])
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])

    # when they send five
    for _ in range(5):
        last = client.post(url, {"order": world["ours"].order.number, "action": "test"}, follow=True)

    # then two went out, and the page says why the others did not
    assert len(mailbox.to("emea-admin@oem.example")) == 2
    assert Notification.objects.filter(kind="test").count() == 2
    assert "try again later" in last.content.decode()
