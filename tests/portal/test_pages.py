"""Portal pages: search within one's accounts, the list's queries, language and branding,
issuing a link from the order page, and the technician's incoming parts."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders.models import LineReference
from orders.services import apply_status_update
from orders.services.preferences import user_preferences_update
from portal.models import PortalProfile, StatusLink
from tests.e2e.conftest import PASSWORD
from tests.factories import OrderFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user, **headers) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


@pytest.mark.parametrize("query", ["PO-88123", "po-88123", "EX300-0042", "HV-2040", "PO-LINE-77"])
def test_search_by_reference_serial_part_or_line_po_opens_the_order(order, showcase, customer, query):
    LineReference.objects.create(line=showcase["30"], kind=LineReference.Kind.PURCHASE_ORDER, value="PO-LINE-77")

    response = _client(customer).get("/portal/", {"q": query})

    assert response.status_code == 302
    assert response["Location"] == f"/portal/orders/{order.public_id}/"


def test_search_by_order_number_and_no_match(order, showcase, customer):
    assert _client(customer).get("/portal/", {"q": order.number})["Location"].endswith(f"{order.public_id}/")
    assert "No order of yours matches" in _client(customer).get("/portal/", {"q": "SO-NOPE"}).content.decode()


def test_the_list_costs_the_same_queries_for_2_and_12_orders(customer, customer_account, sap, t0):
    client = _client(customer)

    def list_queries(count: int) -> int:
        for _ in range(count):
            OrderLineFactory(order=OrderFactory(account=customer_account))
        client.get("/portal/")  # labels cached, session warm
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/portal/").status_code == 200
        return len(queries)

    assert list_queries(2) == list_queries(10)


def test_the_order_page_is_in_the_browsers_language(order, showcase, customer):
    page = _client(customer, HTTP_ACCEPT_LANGUAGE="de").get(f"/portal/orders/{order.public_id}/").content.decode()

    assert '<html lang="de"' in page
    assert "Wird vorbereitet" in page  # "Being prepared", line 20 awaiting kitting


def test_the_order_page_uses_the_dealers_branding(order, showcase, customer, customer_account):
    PortalProfile.objects.create(account=None, brand_name="OEM Parts", colour_primary="#111111")
    PortalProfile.objects.create(
        account=customer_account.dealer,
        brand_name="Hansa Service",
        colour_primary="#aa0000",
        support_phone="+49 40 1234",
    )

    page = _client(customer).get(f"/portal/orders/{order.public_id}/").content.decode()

    assert "Hansa Service" in page and "--brand: #aa0000" in page and "+49 40 1234" in page
    assert "OEM Parts" not in page


def test_a_portal_person_issues_a_link_shown_once(order, showcase, customer):
    response = _client(customer).post(
        f"/portal/orders/{order.public_id}/", {"audience": "customer", "purpose": "view", "line": ""}
    )

    link = StatusLink.objects.get()
    assert (link.audience, link.purpose, link.issued_by) == ("customer", "view", customer)
    # back on the order page's own address (a reload or a language switch repeats nothing)
    assert response.status_code == 302
    assert response["Location"] == f"/portal/orders/{order.public_id}/#status-links"
    page = response.client.get(response["Location"]).content.decode()
    url = page.split('id="new-link" readonly value="')[1].split('"')[0]
    assert Client().get(url.replace("http://testserver", "")).status_code == 200
    # shown once
    assert 'id="new-link"' not in response.client.get(response["Location"]).content.decode()


def test_new_token_answers_on_the_order_page_and_a_reload_rotates_nothing(order, showcase, customer):
    client = _client(customer)
    client.post(f"/portal/orders/{order.public_id}/", {"audience": "customer", "purpose": "view", "line": ""})
    client.get(f"/portal/orders/{order.public_id}/")
    old = StatusLink.objects.get()

    response = client.post(f"/portal/links/{old.public_id}/rotate/")

    assert response.status_code == 302
    assert response["Location"] == f"/portal/orders/{order.public_id}/#status-links"
    old.refresh_from_db()
    assert old.revoked_by == customer and old.replaced_by is not None
    page = client.get(response["Location"]).content.decode()
    url = page.split('id="new-link" readonly value="')[1].split('"')[0]
    assert Client().get(url.replace("http://testserver", "")).status_code == 200
    # the language switch goes back to the order page, not to the action's address
    assert f'name="next" type="hidden" value="/portal/orders/{order.public_id}/"' in page
    # a resent POST of the old link's rotation makes no third link
    client.post(f"/portal/links/{old.public_id}/rotate/")
    assert StatusLink.objects.count() == 2


def test_a_customer_link_may_not_confirm_and_the_form_says_so(order, showcase, customer):
    response = _client(customer).post(
        f"/portal/orders/{order.public_id}/", {"audience": "customer", "purpose": "view_confirm", "line": ""}
    )

    assert response.status_code == 400
    assert "view_confirm is not one of the available choices" in response.content.decode()
    assert not StatusLink.objects.exists()


def test_the_technicians_parts_show_where_the_part_is(showcase, technician):
    page = _client(technician).get("/tech/").content.decode()

    assert "Venlo hub" in page  # the shipment's last known location
    assert "On its way" in page


def test_the_service_worker_is_served_for_the_technician_pages():
    response = Client().get("/tech/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript"
    assert response["Service-Worker-Allowed"] == "/tech/"


def test_logging_out_clears_what_the_device_kept_and_pages_name_their_person(showcase, technician, customer):
    client = _client(technician)
    own = client.get("/tech/")["X-Tech-Viewer"]
    assert own and own != _client(customer).get("/tech/")["X-Tech-Viewer"]
    assert str(technician.pk) != own

    response = client.post("/portal/logout/")

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/tech/").status_code == 302


def test_the_polling_fallback_sends_the_state_only_when_the_order_moved_on(order, showcase, customer, sap, t0):
    from datetime import timedelta

    from orders.services import apply_status_update

    client = _client(customer, HTTP_ACCEPT_LANGUAGE="fr")
    live = f"/portal/orders/{order.public_id}/live/"
    current = order.outbox_sequence

    unchanged = client.get(live, {"since": current}).json()
    apply_status_update(line_id=showcase["20"].pk, status="packed", occurred_at=t0 + timedelta(hours=2), actor=sap)
    moved = client.get(live, {"since": current}).json()

    assert unchanged == {"sequence": current}
    assert moved["sequence"] == current + 1
    line_20 = next(line for line in moved["state"]["lines"] if line["number"] == "20")
    assert (line_20["status"], line_20["label"]) == ("packed", "Prêt à être expédié")


def _sign_in(username, **data):
    client = Client()
    response = client.post("/portal/login/", {"username": username, "password": PASSWORD, **data})
    return client, response


def test_a_technician_signing_in_lands_on_the_incoming_parts(order, showcase, technician, customer):
    _client, response = _sign_in("technician")
    assert response["Location"] == "/tech/"
    # a customer lands on the orders, and a `next` is followed for anyone
    assert _sign_in("customer")[1]["Location"] == "/portal/"
    assert _sign_in("technician", next=f"/portal/orders/{order.public_id}/")[1]["Location"].startswith(
        "/portal/orders/"
    )


def test_pages_with_nothing_for_the_person_name_their_own_pages(order, showcase, technician, customer):
    supervisor = UserFactory(username="supervisor")
    supervisor.groups.add(Group.objects.get(name="supervisor"))

    technicians_orders = _client(technician).get("/portal/").content.decode()
    assert 'id="door-tech" href="/tech/"' in technicians_orders or 'href="/tech/" id="door-tech"' in technicians_orders
    customers_parts = _client(customer).get("/tech/").content.decode()
    assert 'href="/portal/" id="door-portal"' in customers_parts
    supervisors_orders = _client(supervisor).get("/portal/").content.decode()
    assert 'id="door-backoffice"' in supervisors_orders and 'id="door-tech"' not in supervisors_orders
    refused = _client(customer).get("/backoffice/")
    assert refused.status_code == 403
    assert 'href="/portal/" id="door-portal"' in refused.content.decode()
    # a customer's own list names no other door
    assert 'id="other-doors"' not in _client(customer).get("/portal/").content.decode()


def test_the_portals_language_switch_wins_over_the_profiles_language(order, showcase, customer):
    client = _client(customer)
    saved = client.post("/portal/preferences/", {"language": "es", "time_zone": "America/New_York"}, follow=True)
    page = saved.content.decode()
    assert '<html lang="es"' in page and "back office" not in page.lower()
    assert "Sus preferencias se han guardado." in page  # in the language just chosen

    client.post("/portal/language/", {"language": "de", "next": f"/portal/orders/{order.public_id}/"})

    assert '<html lang="de"' in client.get(f"/portal/orders/{order.public_id}/").content.decode()
    customer.profile.refresh_from_db()
    assert customer.profile.language == "de"


def test_the_time_zone_areas_are_named_in_the_customers_language(customer):
    # given a customer reading the portal in German, and in French with an old US zone saved
    german = _client(customer, HTTP_ACCEPT_LANGUAGE="de").get("/portal/preferences/").content.decode()
    user_preferences_update(user=customer, language="", time_zone="US/Eastern")
    french = _client(customer, HTTP_ACCEPT_LANGUAGE="fr").get("/portal/preferences/").content.decode()

    # then the areas are in their language, in its alphabetical order; the places stay as named
    assert '<optgroup label="Europa">' in german and '<optgroup label="Europe">' not in german
    assert german.index('<optgroup label="Amerika">') < german.index('<optgroup label="Indischer Ozean">')
    assert '<option value="Europe/Berlin">Berlin</option>' in german
    areas = re.findall(r'<optgroup label="([^"]+)">', french)
    assert areas.index("Asie") < areas.index("États-Unis") < areas.index("Europe")


def _zone_options(page: str) -> list[tuple[str, str]]:
    chooser = page.split('name="time_zone"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', chooser)


def test_the_time_zone_chooser_lists_each_place_once_under_its_current_name(customer):
    page = _client(customer).get("/portal/preferences/").content.decode()

    # then the places are there under the names the tz database lists them by, and UTC
    zones = dict(_zone_options(page))
    for current in ("Europe/Kyiv", "Asia/Kolkata", "Asia/Ho_Chi_Minh", "Africa/Asmara", "America/Nuuk", "UTC"):
        assert current in zones
    for place in ("Europe/Amsterdam", "Europe/Oslo", "America/Indiana/Knox", "Australia/Sydney"):
        assert place in zones
    # not the old names kept as links, nor the pseudo-areas that name a place again
    for old in ("Europe/Kiev", "Asia/Calcutta", "Asia/Saigon", "Africa/Asmera", "America/Godthab"):
        assert old not in zones
    for link in ("US/Eastern", "America/Knox_IN", "Australia/ACT", "Australia/NSW", "Australia/North"):
        assert link not in zones
    assert not [zone for zone in zones if zone.startswith(("US/", "Brazil/", "Canada/", "Chile/", "Mexico/"))]
    assert "Brazil/General" not in zones and "Asia/Istanbul" not in zones and "Europe/Nicosia" not in zones
    places = [place for zone, place in _zone_options(page) if zone]
    assert places.count("Istanbul") == 1 and places.count("Nicosia") == 1
    assert len(zones) < 450


def test_a_saved_time_zone_under_an_old_name_stays_chosen_and_saves_again(customer):
    # given a customer whose profile holds an old name of a zone (saved before the list was pruned)
    user_preferences_update(user=customer, language="en", time_zone="Europe/Kiev")
    client = _client(customer)

    page = client.get("/portal/preferences/").content.decode()

    # then the chooser shows it chosen, and saving the form unchanged keeps it
    chooser = page.split('name="time_zone"')[1].split("</select>")[0]
    assert '<option value="Europe/Kiev" selected>Kiev</option>' in chooser
    assert '<option value="Europe/Kyiv">Kyiv</option>' in chooser
    saved = client.post("/portal/preferences/", {"language": "de", "time_zone": "Europe/Kiev"})
    assert saved.status_code == 302
    customer.profile.refresh_from_db()
    assert (customer.profile.language, customer.profile.time_zone) == ("de", "Europe/Kiev")


def test_a_cancelled_line_shows_a_dash_as_delivered_not_0(order, showcase, customer, sap, t0):
    # given line 20 was cancelled
    line = showcase["20"]
    apply_status_update(line_id=line.pk, status="cancelled", occurred_at=t0 + timedelta(hours=2), actor=sap)

    page = _client(customer).get(f"/portal/orders/{order.public_id}/").content.decode()

    # then its Delivered cell says nothing was to be delivered, not that 0 were
    row = re.search(rf'<tr id="line-{line.public_id}".*?</tr>', page, re.S).group(0)
    assert re.search(r'<td class="line-delivered"[^>]*>(.*?)</td>', row, re.S).group(1) == "—"


def test_the_order_status_is_explained_in_words_a_phone_shows(order, showcase, customer):
    page = _client(customer).get(f"/portal/orders/{order.public_id}/").content.decode()

    help_text = page.split('id="order-status-help">')[1].split("</small>")[0]
    assert len(help_text) > 10  # the customer's explanation of the status, not only a tooltip


def test_a_part_received_on_site_is_no_longer_offered_for_confirmation(order, showcase, technician, sap, t0):
    from datetime import timedelta

    from orders.services import apply_status_update

    apply_status_update(line_id=showcase["30"].pk, status="verified", occurred_at=t0 + timedelta(days=1), actor=sap)

    page = _client(technician).get(f"/tech/parts/{showcase['10.1'].public_id}/").content.decode()

    select = page.split('id="confirm-line"')[1].split("</select>")[0]
    assert f'value="{showcase["10.1"].public_id}"' in select
    assert f'value="{showcase["30"].public_id}"' not in select


def test_the_header_names_the_person_and_leads_to_their_preferences(order, showcase, customer):
    customer.first_name, customer.last_name = "Clara", "Customer"
    customer.save()

    page = _client(customer).get("/portal/").content.decode()

    assert 'href="/portal/preferences/" title="My preferences">Clara Customer</a>' in page
