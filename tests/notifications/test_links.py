"""The links messages carry: a customer's or technician's own token link in their language, a
planner's back-office page, and none issued by a preview."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from notifications.context import message_context, preview_context
from notifications.models import Notification
from orders.models import ContactRole
from portal.models import StatusLink
from portal.services.links import status_link_revoke
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


def test_one_recipient_keeps_one_link_across_messages_about_the_same_order():
    # given a requester and a technician on one order
    line = OrderLineFactory()
    requester = OrderContactFactory(order=line.order, role=ContactRole.REQUESTER)
    technician = OrderContactFactory(order=line.order, role=ContactRole.TECHNICIAN)

    # when three messages go to the requester and one to the technician
    urls = [_link_for(requester, line) for _ in range(3)]
    theirs = _link_for(technician, line)

    # then the requester's messages carry one link, and the technician has their own
    assert len(set(urls)) == 1
    assert theirs != urls[0]
    assert StatusLink.objects.count() == 2
    _url, link = status_link_in(urls[0])
    assert link.is_usable()


def test_a_link_past_half_its_life_is_replaced_and_the_old_one_revoked():
    line = OrderLineFactory()
    requester = OrderContactFactory(order=line.order, role=ContactRole.REQUESTER)
    first_url, first = status_link_in(_link_for(requester, line))
    validity = first.expires_at - first.issued_at

    # while more than half its validity is left, it is reused
    with freeze_time(timezone.now() + validity * 0.4):
        assert _link_for(requester, line) == first_url

    # past half its validity, the next message brings a fresh link and the old one stops working
    with freeze_time(timezone.now() + validity * 0.6):
        second_url, second = status_link_in(_link_for(requester, line))
    first.refresh_from_db()
    assert second_url != first_url
    assert first.revoked_at is not None and first.replaced_by == second
    assert second.is_usable(now=timezone.now() + validity * 0.6 + timedelta(days=1))
    assert StatusLink.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_revoked_link_is_never_reused_and_a_new_language_gets_its_own_link():
    line = OrderLineFactory()
    requester = OrderContactFactory(order=line.order, role=ContactRole.REQUESTER, language="de")
    _url, first = status_link_in(_link_for(requester, line))
    status_link_revoke(link=first)

    _url, second = status_link_in(_link_for(requester, line))
    requester.language = "es"
    requester.save()
    _url, third = status_link_in(_link_for(requester, line))

    assert len({first.pk, second.pk, third.pk}) == 3
    assert (second.language, third.language) == ("de", "es")
    second.refresh_from_db()
    assert second.revoked_at is not None  # one live link per recipient and order
