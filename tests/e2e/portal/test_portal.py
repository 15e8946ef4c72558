"""In a real browser (Debian's Chromium) against a real ASGI server with websockets: a customer
finds and reads an order; a status link in German moves live when a source reports a change,
and answers 410 once revoked; a technician on a phone confirms delivery while offline, and the
customer sees it."""

import contextlib
import json
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from integrations.models import MessageFormat, SourceKind, SourceSystem, Transport
from integrations.signatures import signature_header
from orders.models import StatusEvent
from orders.read_models.freshness import views_changed
from orders.services import status_event_suppress
from portal.models import LinkAudience
from portal.services.links import status_link_issue, status_link_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_customer_searches_by_po_and_reads_the_order_without_internal_detail(
    new_page, sign_in, server, order, showcase, customer
):
    from playwright.sync_api import expect

    # given an event of line 10.2 hidden from customers
    supervisor = UserFactory(username="supervisor-e2e")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    hidden = StatusEvent.objects.get(line=showcase["10.2"], to_status="awaiting_part")
    status_event_suppress(
        event_id=hidden.pk, user=supervisor, reason_code="wrong", reason_text="Posted on the wrong line"
    )
    page = new_page()

    # when the customer signs in and searches by their PO
    sign_in(page, "customer", "/portal/")
    page.fill("#q", "PO-88123")
    page.get_by_role("button", name="Search").click()

    # then the order opens with its split children and the shipment
    page.wait_for_url(f"{server.url}/portal/orders/{order.public_id}/")
    expect(page.locator("#order-number")).to_have_text(order.number)
    expect(page.locator(f"#line-{showcase['10.1'].public_id} .line-number")).to_have_text("10.1")
    expect(page.locator(f"#line-{showcase['10.2'].public_id} .line-number")).to_have_text("10.2")
    expect(page.locator(".pt-shipment .shipment-tracking")).to_have_text("1Z999AA10123456784")
    expect(page.locator(".pt-shipment .shipment-carrier")).to_have_text("UPS (UPSN)")
    # line 20 is awaiting kitting inside: the customer sees "Being prepared", never the internal status
    expect(page.locator(f"#line-{showcase['20'].public_id} .line-status")).to_have_text("Being prepared")
    body = page.locator("body").inner_text()
    assert "kitting" not in body.lower()
    expect(page.locator(f'#timeline li[data-id="{showcase["10.2"].public_id}:{hidden.sequence}"]')).to_have_count(0)
    expect(page.locator("#timeline li")).not_to_have_count(0)


def _post_status(server, *, order, line: str, status: str, occurred_at) -> None:
    source = SourceSystem.objects.filter(code="wms-e2e").first() or SourceSystem.objects.create(
        code="wms-e2e",
        name="WMS",
        kind=SourceKind.WMS,
        transport=Transport.WEBHOOK,
        message_format=MessageFormat.CANONICAL_JSON,
        secret="e2e-secret-0123456789",
    )
    body = json.dumps(
        {
            "message_id": f"E2E-{uuid.uuid4()}",
            "statuses": [
                {"order": order.number, "line": line, "status": status, "occurred_at": occurred_at.isoformat()}
            ],
        }
    ).encode()
    request = urllib.request.Request(
        f"{server.url}/api/v1/inbound/{source.code}/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Signature": signature_header(secret=source.secret, source_code=source.code, body=body),
        },
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        assert response.status == 202


def test_a_status_link_in_german_moves_live_and_is_gone_once_revoked(new_page, server, order, showcase, t0):
    from playwright.sync_api import expect

    # lines 10.1, 10.2 and 20 are planned for the 4th, 7th and 5th of November
    for number, days in (("10.1", 2), ("10.2", 5), ("20", 3)):
        showcase[number].eta = t0 + timedelta(days=days)
        showcase[number].save(update_fields=["eta"])
    views_changed(order.pk)
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    page = new_page(locale="de-DE", timezone_id="Europe/Berlin")

    # when the link is opened in a German browser
    page.goto(f"{server.url}{issued.path}")

    # then the order page is in German, and follows the order live
    expect(page.locator("html")).to_have_attribute("lang", "de")
    line_20 = page.locator(f"#line-{showcase['20'].public_id} .line-status")
    expect(line_20).to_have_text("Wird vorbereitet")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "connected")
    # in the browser's time zone (told by the page's script, which loads the page once more)
    expect(page.locator("html")).to_have_attribute("data-time-zone", "Europe/Berlin")
    expect(page.locator("#timeline li").last.locator("time")).to_contain_text("09:00")

    progress_before = page.locator("#order-progress").get_attribute("aria-valuenow")

    # when the warehouse reports line 20 packed through the webhook
    _post_status(server, order=order, line="20", status="packed", occurred_at=t0 + timedelta(hours=3))

    # then the page shows it without a reload, the progress bar saying what it measures
    expect(line_20).to_have_text("Versandbereit")
    bar = page.locator("#order-progress")
    expect(bar).not_to_have_attribute("aria-valuenow", progress_before)
    expect(bar).to_have_attribute("title", f"Fortschritt bis zur Lieferung: {bar.get_attribute('aria-valuenow')} %")
    expect(bar).to_have_attribute(
        "aria-valuetext", f"Fortschritt bis zur Lieferung: {bar.get_attribute('aria-valuenow')} %"
    )
    newest = page.locator("#timeline li").first
    expect(newest.locator(".event-status")).to_have_text("Versandbereit")
    expect(newest.locator("time")).to_contain_text("12:00")  # 11:00 UTC in Berlin

    # when the carrier delivers line 10.1, the part expected first
    order_eta = page.locator("#order-eta")
    expect(order_eta).to_contain_text("nächstes Teil: 4. November 2026")
    _post_status(server, order=order, line="10.1", status="delivered", occurred_at=t0 + timedelta(hours=4))

    # then its row says when it arrived instead of an ETA, and the header expects the next part
    line_10_1 = page.locator(f"#line-{showcase['10.1'].public_id}")
    expect(line_10_1.locator(".line-delivered")).to_contain_text("3 · ")
    expect(line_10_1.locator(".line-delivered time")).to_contain_text("13:00")  # 12:00 UTC in Berlin
    expect(line_10_1.locator(".line-eta")).to_have_text("")
    expect(order_eta).to_contain_text("Voraussichtlich vollständig: 7. November 2026")
    expect(order_eta).to_contain_text("nächstes Teil: 5. November 2026")

    # when the link is revoked, the same link answers 410 with a way to a fresh link
    status_link_revoke(link=issued.link)
    response = page.goto(f"{server.url}{issued.path}")
    assert response.status == 410
    expect(page.locator("#ask-fresh-link")).to_be_visible()


def test_live_pages_drop_etas_that_no_longer_hold_and_say_when_an_unshipped_part_arrived(
    new_page, server, order, showcase, t0
):
    from playwright.sync_api import expect

    from orders.services.shipments import ShipmentData, shipment_track

    # given the carrier gave the UPS shipment (line 10.1) an ETA, line 10.2 is planned for the 7th,
    # and two links are open: the whole order's, and line 20's (nothing of it has shipped)
    shipment_track(shipment_id=order.shipments.get().pk, data=ShipmentData(eta=t0 + timedelta(days=2)), occurred_at=t0)
    showcase["10.2"].eta = t0 + timedelta(days=5)
    showcase["10.2"].save(update_fields=["eta"])
    views_changed(order.pk)
    whole = new_page()
    whole.goto(f"{server.url}{status_link_issue(order=order, audience=LinkAudience.CUSTOMER).path}")
    one_line = new_page()
    one_line.goto(
        f"{server.url}{status_link_issue(order=order, line=showcase['20'], audience=LinkAudience.CUSTOMER).path}"
    )
    for page in (whole, one_line):
        expect(page.locator("#live-state")).to_have_attribute("data-state", "connected")
    shipment = whole.locator(".pt-shipment")
    expect(shipment.locator(".shipment-eta")).to_contain_text("2026")
    line_10_2 = whole.locator(f"#line-{showcase['10.2'].public_id}")
    expect(line_10_2.locator(".line-eta")).to_contain_text("2026")
    shipments = one_line.locator("#shipments")
    expect(shipments).to_have_text("Nothing has shipped yet.")

    # when the carrier delivers line 10.1 and the ERP cancels line 10.2
    _post_status(server, order=order, line="10.1", status="delivered", occurred_at=t0 + timedelta(hours=4))
    _post_status(server, order=order, line="10.2", status="cancelled", occurred_at=t0 + timedelta(hours=5))

    # then the shipment shows its delivery instead of an ETA, and the cancelled line no ETA and
    # a dash, not 0, as delivered
    expect(shipment.locator(".shipment-delivered-at time")).to_contain_text("2026")
    expect(shipment.locator(".shipment-eta")).to_have_count(0)
    expect(shipment).to_contain_text("Delivered 3 / 3 · ")
    expect(line_10_2.locator(".line-status")).to_have_text("Cancelled")
    expect(line_10_2.locator(".line-eta")).to_have_text("")
    expect(line_10_2.locator(".line-delivered")).to_have_text("—")

    # when the dealer reports line 20 delivered, no shipment of it ever recorded
    _post_status(server, order=order, line="20", status="delivered", occurred_at=t0 + timedelta(hours=7))

    # then line 20's page says when it arrived, not that nothing has shipped
    expect(shipments.locator("time")).to_have_attribute("datetime", (t0 + timedelta(hours=7)).isoformat())
    expect(shipments).to_contain_text("Line 20 arrived ")
    expect(shipments).not_to_contain_text("Nothing has shipped")
    # and the whole order's page names it beside the UPS shipment, with line 30 (delivered
    # without a shipment record before the page opened)
    beside = whole.locator("#no-shipments")
    expect(beside).to_contain_text("Line 20 arrived ")
    expect(beside).to_contain_text("Line 30 arrived ")
    expect(beside).not_to_contain_text("Line 10.1")
    expect(whole.locator(".pt-shipment")).to_have_count(1)


def test_a_technician_on_a_phone_confirms_delivery_offline_once(
    new_page, sign_in, order, showcase, technician, customer
):
    from playwright.sync_api import expect

    line = showcase["10.1"]  # 3 pieces in transit
    page = new_page(phone=True)
    context = page.context
    sign_in(page, "technician", f"/tech/parts/{line.public_id}/")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")

    # when the phone loses its connection and the technician confirms delivery
    context.set_offline(True)
    expect(page.locator("#network-state")).to_have_text("Offline")
    page.fill("#confirm-code", "HV-2040")
    expect(page.locator("#confirm-quantity")).to_have_value("3")
    page.fill("#confirm-note", "Handed over at the pit gate")
    page.get_by_role("button", name="Confirm delivery").click()

    # then it waits on the device, and nothing reached the server
    expect(page.locator("#confirm-queue li")).to_have_count(1)
    expect(page.locator("#confirm-result")).to_contain_text("Saved on this device")
    assert not StatusEvent.objects.filter(line=line, to_status="verified").exists()

    # when the connection comes back, it is sent, once
    context.set_offline(False)
    expect(page.locator("#confirm-result")).to_have_text("Delivery confirmed on site.")
    expect(page.locator("#confirm-queue li")).to_have_count(0)
    page.reload()  # the queue is empty: a reload sends nothing again
    expect(page.locator("#confirm-queue li")).to_have_count(0)
    (verified,) = StatusEvent.objects.filter(line=line, to_status="verified")
    assert verified.actor_user == technician
    context.close()

    # and the customer sees it on their order page
    customer_page = new_page()
    sign_in(customer_page, "customer", f"/portal/orders/{order.public_id}/")
    expect(customer_page.locator(f"#line-{line.public_id} .line-status")).to_have_text("Received on site")


def test_an_eta_and_tracking_edited_in_the_admin_show_on_an_open_technician_page(
    new_page, sign_in, server, showcase, technician
):
    from playwright.sync_api import expect

    from orders.models import OrderLine
    from tests.e2e.conftest import sign_in_at

    # given a technician's page of line 20 open, following it live
    line = showcase["20"]
    page = new_page(phone=True)
    sign_in(page, "technician", f"/tech/parts/{line.public_id}/")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "connected")
    row = page.locator(f"#line-{line.public_id}")
    expect(row.locator(".line-eta")).to_have_text("")

    # when a planner changes its planned ETA, carrier and tracking number in the admin
    UserFactory(username="planner", is_staff=True, is_superuser=True)
    admin = new_page()
    sign_in_at(admin, server.url, "/admin/login/", "planner", f"/admin/orders/orderline/{line.pk}/change/")
    admin.fill("#id_eta_0", "2026-12-01")
    admin.fill("#id_eta_1", "09:30:00")
    admin.fill("#id_carrier", "DHLF")
    admin.fill("#id_tracking_number", "JD0142")
    admin.click("input[name=_save]")
    admin.wait_for_url(f"{server.url}/admin/orders/orderline/")

    # then the technician's page shows them without a reload
    eta = OrderLine.objects.get(pk=line.pk).eta.isoformat()
    expect(row.locator(".line-eta time")).to_have_attribute("datetime", eta)
    expect(row.locator(".line-carrier")).to_have_text("DHL Freight (DHLF) JD0142")
    expect(row.locator(".line-carrier .tracking-number")).to_have_text("JD0142")  # kept whole, as the page writes it


def test_after_signing_out_the_phone_keeps_no_technician_page_offline(new_page, sign_in, server, showcase, technician):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    line = showcase["10.1"]
    page = new_page(phone=True)
    context = page.context
    part_path = f"/tech/parts/{line.public_id}/"
    sign_in(page, "technician", part_path)
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now through the service worker, which keeps a copy
    expect(page.locator("body")).to_contain_text("Tomas Field")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server.url}/portal/login/")
    kept_pages = "caches.keys().then((keys) => keys.filter((key) => key.startsWith('tech-pages')))"
    for _ in range(50):  # the sign-in page clears the copies as it opens (it may reload once)
        try:
            if not page.evaluate(kept_pages):
                break
        except PlaywrightError:  # the page navigated meanwhile: ask the next one
            pass
        page.wait_for_timeout(100)
    context.set_offline(True)
    with contextlib.suppress(Exception):  # no copy: the offline navigation fails, as it should
        page.goto(f"{server.url}{part_path}")
    with contextlib.suppress(Exception):
        page.wait_for_load_state()

    shown = ""
    for _ in range(20):
        try:
            shown = page.content()
            break
        except PlaywrightError:  # still navigating
            page.wait_for_timeout(100)
    assert "Tomas Field" not in shown


def test_status_link_revocation_is_checked_before_the_page_is_served(server, order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, expires_in=timedelta(days=1))
    status_link_revoke(link=issued.link)

    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(f"{server.url}{issued.path}", timeout=10)

    assert gone.value.code == 410
    assert timezone.now() < issued.link.expires_at
