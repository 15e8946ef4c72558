"""What a technician's status link shows besides the customer's view: the site and carrier per
line and the order's contacts (as the /tech/ part page does); and shipped lines' ETA is the
carrier's, on every page and in the order's header."""

from datetime import timedelta

import pytest
from django.test import Client

from orders.services.shipments import ShipmentData, shipment_track
from portal.models import LinkAudience, LinkPurpose
from portal.services.links import status_link_issue

pytestmark = pytest.mark.django_db


def test_a_technician_link_shows_the_orders_contacts_a_customer_link_does_not(order, showcase, technician):
    technicians = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM)
    customers = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    technician_page = Client().get(technicians.path).content.decode()
    customer_page = Client().get(customers.path).content.decode()

    assert 'id="contacts"' in technician_page
    assert "Tomas Field" in technician_page and 'href="tel:+4915112345678"' in technician_page
    assert "Tomas Field" not in customer_page and "+4915112345678" not in customer_page


def test_a_shipped_line_shows_the_carriers_eta(order, showcase, customer, t0):
    line = showcase["10.1"]
    line.eta = t0 + timedelta(days=3, hours=4)
    line.save(update_fields=["eta"])
    carrier_eta = t0 + timedelta(days=2)
    shipment_track(shipment_id=order.shipments.get().pk, data=ShipmentData(eta=carrier_eta), occurred_at=t0)
    client = Client()
    client.force_login(customer)

    live = client.get(f"/portal/orders/{order.public_id}/live/").json()

    line_10_1 = next(item for item in live["state"]["lines"] if item["number"] == "10.1")
    assert live["state"]["shipments"][0]["eta"] == carrier_eta.isoformat()
    assert line_10_1["eta"] == carrier_eta.isoformat()
    page = client.get(f"/portal/orders/{order.public_id}/").content.decode()
    row = page.split(f'id="line-{line.public_id}"')[1].split("</tr>")[0]
    eta_cell = row.split('class="line-eta"')[1].split(">", 1)[1].split("</td>")[0]
    assert "4 Nov 2026" in eta_cell and "5 Nov" not in eta_cell


def test_a_technician_reads_the_customers_reference_as_theirs_not_as_their_own(order, showcase):
    order.customer_reference = "PO-77120"
    order.save(update_fields=["customer_reference"])
    technicians = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN)
    customers = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    technician_page = " ".join(Client().get(technicians.path).content.decode().split())
    customer_page = " ".join(Client().get(customers.path).content.decode().split())

    assert "Customer reference</dt><dd" in technician_page and "Your reference" not in technician_page
    assert "Your reference</dt><dd" in customer_page


def test_a_link_to_one_line_says_it_shows_that_line_only(order, showcase):
    one_line = status_link_issue(order=order, line=showcase["10"], audience=LinkAudience.CUSTOMER)
    whole = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    page = Client(HTTP_ACCEPT_LANGUAGE="de").get(one_line.path).content.decode()
    english = Client().get(one_line.path).content.decode()

    assert "This link shows line 10 of the order only." in english
    assert 'id="link-scope"' in page and "This link shows" not in page  # in German
    assert 'id="link-scope"' not in Client().get(whole.path).content.decode()
