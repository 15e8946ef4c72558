"""End to end: a requester's notification email, captured by a real SMTP server, carries a status
link that opens the order's page in the requester's language in a real browser."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from notifications.services.batches import notifications_sweep
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory
from tests.notifications.conftest import status_link_in, text_part

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_emailed_status_link_opens_the_order_in_the_requesters_language(
    new_page,
    server,
    settings,
    rules,
    twilio,
    mailbox,
    contact_for,
):
    from playwright.sync_api import expect

    # given a Spanish requester of a B part, and links that point at this server
    line = OrderLineFactory(part__criticality="B", part__description="Junta hidráulica")
    requester = contact_for(line, language="es", time_zone="Europe/Madrid")
    settings.PUBLIC_BASE_URL = server.url
    apply_status_update(line_id=line.pk, status="released", occurred_at=timezone.now(), actor=Actor.integration("SAP"))

    # when the part ships and the email rule's throttle window has passed
    apply_status_update(
        line_id=line.pk,
        status="shipped",
        occurred_at=timezone.now() + timedelta(seconds=1),
        actor=Actor.integration("SAP"),
    )
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()

    # then the SMTP server has the email, with a status link to this server
    [message] = mailbox.to(requester.email)
    link, issued = status_link_in(text_part(message).replace(server.url, "https://parts.example.com"))
    assert issued.order == line.order
    url = link.replace("https://parts.example.com", server.url)

    # and a browser that asks for English opens it as the requester reads: in Spanish
    page = new_page()
    response = page.goto(url)
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("body")).to_contain_text(line.order.number)
    expect(page.locator("body")).to_contain_text("Enviado")
