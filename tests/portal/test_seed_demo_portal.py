"""`manage.py seed_demo_portal`: demo people, a showcase order and working status links, twice."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from orders.models import Order
from tests.factories import RegionFactory, SiteFactory

pytestmark = pytest.mark.django_db


def test_seed_creates_people_and_prints_working_links_on_every_run(settings):
    settings.DEBUG = True
    SiteFactory(region=RegionFactory(code="amer"))
    emea_site = SiteFactory(region=RegionFactory(code="emea"))
    first, second = io.StringIO(), io.StringIO()

    call_command("seed_demo_portal", stdout=first)
    call_command("seed_demo_portal", stdout=second)

    order = Order.objects.get(number="SO-DEMO-4711")
    # a German customer, in Europe's region, its parts from a European site
    assert order.region.code == "emea" and order.account.region.code == "emea"
    assert {line.site_id for line in order.lines.all()} == {emea_site.pk}
    assert {line.number for line in order.lines.all()} == {"10", "10.1", "10.2", "20", "30"}
    paths = re.findall(r"(/s/[A-Za-z0-9_-]+/)", second.getvalue())
    assert len(paths) == 2
    assert all(Client().get(path).status_code == 200 for path in paths)
    customer = Client()
    assert customer.login(username="customer", password="demo")
    assert customer.get(f"/portal/orders/{order.public_id}/").status_code == 200
    dealer = Client()
    assert dealer.login(username="dealer", password="demo")
    assert dealer.get(f"/portal/orders/{order.public_id}/").status_code == 200
    technician = Client()
    assert technician.login(username="technician", password="demo")
    assert "HV-2040" in technician.get("/tech/").content.decode()
