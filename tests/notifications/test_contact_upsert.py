"""A source names the people of an order in its order upsert: the requester it sends is set,
replaced on a later upsert, and messages go to them; a bad email or phone refuses the upsert
with a reason naming the field, never a half-written order."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from freezegun import freeze_time

from integrations.models import InboundMessage, MessageFormat, MessageState, SourceKind, SourceSystem, Transport
from integrations.services.inbox import inbound_message_receive
from integrations.services.processing import inbound_message_process
from notifications.models import Notification
from notifications.services.batches import notifications_sweep
from orders.models import ContactRole, Order, OrderContact
from orders.services import Actor, ContactData, LineData, OrderData, Provenance, apply_status_update, order_upsert
from tests.factories import AccountFactory, UserFactory
from tests.notifications.conftest import text_part
from tests.notifications.factories import OrderContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def erp(db):
    return SourceSystem.objects.create(
        code="sap-erp",
        name="SAP ERP",
        kind=SourceKind.ERP,
        transport=Transport.WEBHOOK,
        message_format=MessageFormat.CANONICAL_JSON,
        secret="s" * 32,
    )


def message(account, number: str, contacts: list[dict], *, message_id: str) -> str:
    return json.dumps(
        {
            "message_id": message_id,
            "orders": [
                {
                    "number": number,
                    "account": {"number": account.number},
                    "lines": [{"number": "10", "part": {"number": "HV-2040", "criticality": "B"}, "quantity": 1}],
                    "contacts": contacts,
                }
            ],
        }
    )


def received(source, raw: str) -> InboundMessage:
    inbound, _new = inbound_message_receive(source=source, raw=raw, transport="webhook")
    inbound_message_process(message_id=inbound.pk)
    inbound.refresh_from_db()
    return inbound


def test_a_source_sets_the_requester_and_a_later_upsert_replaces_it(erp):
    account = AccountFactory()
    first = {"name": "Anna Berg", "email": "anna@customer.example", "phone": "+49 151 1234 5678", "language": "de"}
    second = {
        "name": "Chloé Martin",
        "email": "chloe@customer.example",
        "language": "fr-CA",
        "time_zone": "America/Montreal",
    }

    assert received(erp, message(account, "4500000001", [first], message_id="m1")).state == MessageState.PROCESSED
    [anna] = OrderContact.objects.filter(order__number="4500000001")
    assert (anna.role, anna.name, anna.phone, anna.language) == ("requester", "Anna Berg", "+4915112345678", "de")

    assert received(erp, message(account, "4500000001", [second], message_id="m2")).state == MessageState.PROCESSED
    [chloe] = OrderContact.objects.filter(order__number="4500000001")
    assert (chloe.name, chloe.email, chloe.language, chloe.time_zone) == (
        "Chloé Martin",
        "chloe@customer.example",
        "fr-ca",
        "America/Montreal",
    )


def test_a_requester_sent_again_keeps_its_portal_account_and_other_roles_stay(erp):
    # given an order whose requester is linked to a portal account, and a technician added by a person
    account = AccountFactory()
    received(erp, message(account, "4500000002", [{"name": "Anna", "email": "anna@customer.example"}], message_id="a"))
    order = Order.objects.get(number="4500000002")
    portal_user = UserFactory(username="anna")
    OrderContact.objects.filter(order=order).update(user=portal_user)
    technician = OrderContactFactory(order=order, role=ContactRole.TECHNICIAN)

    # when the source sends the requester again with a new phone number
    received(
        erp,
        message(
            account,
            "4500000002",
            [{"name": "Anna Berg", "email": "Anna@Customer.example", "phone": "+4915199990000"}],
            message_id="b",
        ),
    )

    # then it is the same contact, updated, and the technician is still there
    requester = OrderContact.objects.get(order=order, role="requester")
    assert (requester.user, requester.name, requester.phone) == (portal_user, "Anna Berg", "+4915199990000")
    assert OrderContact.objects.filter(pk=technician.pk).exists()


@pytest.mark.parametrize(
    ("contact", "field"),
    [
        ({"name": "Anna", "phone": "0151 1234567"}, "orders/0/contacts/0/phone"),
        ({"name": "Anna", "email": "anna(at)customer"}, "orders/0/contacts/0/email"),
        (
            {"name": "Anna", "email": "anna@customer.example", "time_zone": "Mars/Olympus"},
            "orders/0/contacts/0/time_zone",
        ),
        ({"name": "Anna"}, "orders/0/contacts/0/email"),
    ],
)
def test_a_bad_contact_refuses_the_message_with_a_reason_naming_the_field(erp, contact, field):
    account = AccountFactory()

    inbound = received(erp, message(account, "4500000003", [contact], message_id="bad"))

    assert inbound.state == MessageState.DEAD
    assert field in inbound.last_error
    assert not Order.objects.filter(number="4500000003").exists()


def test_the_core_refuses_a_bad_phone_from_any_caller_naming_the_contact_and_field():
    account = AccountFactory()

    with pytest.raises(ValidationError) as refused:
        order_upsert(
            data=OrderData(
                number="SO-1",
                account_number=account.number,
                lines=(LineData(number="10", part_number="P-1", quantity=1),),
                contacts=(ContactData(name="Anna", email="anna@customer.example", phone="12345"),),
            ),
            actor=Actor.integration("SAP"),
            provenance=Provenance(source_system="sap"),
        )

    assert list(refused.value.message_dict) == ["contacts[0].phone"]


def test_the_requester_a_source_names_hears_of_the_order_in_their_language(erp, rules, twilio, mailbox):
    # given an order whose requester came with the ERP's upsert, in Spanish
    account = AccountFactory()
    received(
        erp,
        message(
            account,
            "4500000004",
            [{"name": "Lucía", "email": "lucia@cliente.example", "language": "es"}],
            message_id="es",
        ),
    )
    line = Order.objects.get(number="4500000004").lines.get()

    # when the (B) part ships and the throttle window passes
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()

    # then Lucía has an email in Spanish
    [email] = mailbox.to("lucia@cliente.example")
    assert "Enviado" in text_part(email)
    assert Notification.objects.get(address="lucia@cliente.example").locale == "es"
