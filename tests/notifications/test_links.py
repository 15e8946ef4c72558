"""The links messages carry: a customer's or technician's own token link in their language, a
planner's back-office page, and none issued by a preview."""

import pytest

from notifications.context import message_context, preview_context
from notifications.models import Notification
from orders.models import ContactRole
from portal.models import StatusLink
from tests.factories import OrderLineFactory
from tests.notifications.conftest import PUBLIC_BASE_URL, status_link_in
from tests.notifications.factories import OrderContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def public_address(settings):
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL


def _link_for(contact, line) -> str:
    notification = Notification(
        kind="status_reached",
        channel="email",
        order=line.order,
        line=line,
        contact=contact,
        role=contact.role,
        locale=contact.language,
        time_zone="UTC",
    )
    return message_context(notification)["status_link"]


def test_a_technician_gets_a_link_that_may_confirm_delivery_in_their_language():
    line = OrderLineFactory()
    technician = OrderContactFactory(order=line.order, role=ContactRole.TECHNICIAN, language="fr-CA")

    _url, link = status_link_in(_link_for(technician, line))

    assert (link.order, link.audience, link.purpose, link.language) == (line.order, "technician", "view_confirm", "fr")


def test_a_planner_is_sent_to_the_back_office_and_no_token_is_made():
    line = OrderLineFactory()
    planner = OrderContactFactory(order=line.order, role=ContactRole.PLANNER)

    url = _link_for(planner, line)

    assert url == f"{PUBLIC_BASE_URL}/backoffice/orders/{line.order.pk}/"
    assert not StatusLink.objects.exists()


def test_a_preview_shows_where_the_link_goes_without_issuing_one():
    line = OrderLineFactory()
    OrderContactFactory(order=line.order, role=ContactRole.REQUESTER)

    context = preview_context(order=line.order, kind="status_reached", channel="email", locale="de")

    assert context["status_link"].startswith(f"{PUBLIC_BASE_URL}/s/")
    assert not StatusLink.objects.exists()
