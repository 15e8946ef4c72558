"""In a real browser, a day in the back office: a planner finds a line by its tracking number,
opens its order (shipments, split children) and asks for an override; a supervisor in a second
browser sees that it conflicts with another request and approves it; the planner's page shows
the change without a reload (over the websocket, served over ASGI as in production). A German
supervisor reads German dates and reasons in Berlin time; a planner opening reconciliation gets
the styled refusal. Screenshots of the pages go to docs/."""

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from orders.models import UserProfile
from orders.services import Actor, SplitPart, split_line
from orders.services.shipments import ShipmentData, shipment_record
from overrides.models import OverrideRequest
from overrides.services.requests import override_request_create
from tests.e2e.asgi_server import AsgiServer
from tests.e2e.conftest import PASSWORD
from tests.factories import AssetFactory, OrderFactory, OrderLineFactory, PartFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parents[2] / "docs"
TRACKING = "1Z999AA10123456784"


@pytest.fixture
def site(live_server):
    """The site over ASGI (HTTP + websockets), on the test database."""
    server = AsgiServer().start()
    yield server.url
    server.stop()


def _member(role: str, region, username: str = ""):
    user = UserFactory(username=username or role)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, region)
    return user


def _sign_in(page, url: str, username: str, next_path: str) -> None:
    page.goto(f"{url}/backoffice/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}{next_path}")


def _context(browser, **options):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, **options)
    context.set_default_timeout(15_000)
    return context


def _shot(page, name: str) -> None:
    if os.environ.get("BACK_OFFICE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=False)


def test_find_see_ask_approve_and_watch_it_change_live(browser, site, advance, t0):
    from playwright.sync_api import expect

    # given an order whose line was split, one part shipped by UPS, the rest still packed, and a
    # request another planner already made for that rest
    region = RegionFactory(code="emea", name="Europe, Middle East and Africa")
    order = OrderFactory(
        account__region=region,
        account__name="Rheinland Tiefbau GmbH",
        number="SO-4500123",
        customer_reference="PO-778812",
        asset=AssetFactory(serial_number="EX300-0457"),
    )
    line = OrderLineFactory(order=order, number="10", quantity=3, part=PartFactory(number="HV-2201", criticality="B"))
    advance(line, "released")
    planner = _member("planner", region, "planner-emea")
    shipped, rest = split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.person(planner))
    advance(shipped, "packed", "shipped")
    shipment_record(
        line_id=shipped.pk,
        quantity=1,
        source_system="EWM-RTM",
        occurred_at=t0,
        data=ShipmentData(carrier="UPSN", tracking_number=TRACKING, bill_of_lading="BOL-557"),
    )
    advance(rest, "packed")
    first = override_request_create(
        user=_member("planner", region, "anna"),
        line_ids=[rest.pk],
        target_status="allocated",
        reason_code="data_correction",
        justification="Stock found short at the DC.",
    )
    _member("supervisor", region, "supervisor")
    planner_context, supervisor_context = _context(browser, locale="en-GB"), _context(browser, locale="en-GB")
    planner_page, supervisor_page = planner_context.new_page(), supervisor_context.new_page()

    # when the planner searches by the tracking number
    _sign_in(planner_page, site, "planner-emea", "/backoffice/")
    planner_page.get_by_role("searchbox", name="Search").fill(TRACKING.lower())
    planner_page.get_by_role("button", name="Search").click()

    # then the line it ships opens directly; its breadcrumb leads to the order
    planner_page.wait_for_url(f"{site}/backoffice/lines/{shipped.pk}/")
    planner_page.locator(".bo-breadcrumbs").get_by_role("link", name="Order SO-4500123").click()

    # and the order page shows the shipment with its carrier link and the split children
    planner_page.wait_for_url(f"{site}/backoffice/orders/{order.pk}/")
    shipments = planner_page.locator("#order-shipments")
    expect(shipments.get_by_role("link", name=TRACKING)).to_have_attribute(
        "href", f"https://www.ups.com/track?tracknum={TRACKING}"
    )
    expect(planner_page.locator(f"#line-{shipped.pk}")).to_contain_text("10.1")
    expect(planner_page.locator(f"#line-{rest.pk}")).to_contain_text("Packed")
    _shot(planner_page, "back-office-order.png")

    # when the planner asks to move the rest back to picking, from the order page
    planner_page.locator(f"#override-line-{rest.pk} summary").click()
    form = planner_page.locator(f"#override-line-{rest.pk} form")
    form.locator("select[name$=target_status]").select_option("picking")
    form.locator("select[name$=reason]").select_option("data_correction")
    form.locator("textarea[name$=justification]").fill("The pick was booked on the wrong delivery.")
    form.get_by_role("button", name="Request the override").click()

    # then the form warns that another request waits for the line, and asks first
    expect(planner_page.locator("#override-errors")).to_contain_text(f"Request #{first.pk} for this line")
    planner_page.get_by_label("Ask anyway").check()
    planner_page.get_by_role("button", name="Request the override").click()
    expect(planner_page.locator(".bo-messages")).to_contain_text("waits for a second person's approval")
    second = OverrideRequest.objects.exclude(pk=first.pk).get()

    # and the planner stays on the line page, which follows the order live
    planner_page.goto(f"{site}/backoffice/lines/{rest.pk}/")
    expect(planner_page.locator("body")).to_have_attribute("data-live-transport", "websocket")
    planner_page.evaluate("window.notReloaded = true")
    expect(planner_page.locator("#line-status")).to_have_text("Packed")

    # when the supervisor, in another browser, opens the approvals
    _sign_in(supervisor_page, site, "supervisor", "/backoffice/approvals/")
    row = supervisor_page.locator(f"#request-{second.pk}")

    # then the two requests on the same line are flagged as conflicting
    expect(row.locator(".conflict-flag")).to_contain_text(f"#{first.pk}")
    expect(row).to_contain_text("Packed → Picking")
    _shot(supervisor_page, "back-office-approvals.png")

    # when the supervisor approves it, sees what it does now and confirms
    row.get_by_role("button", name="Approve…").click()
    expect(supervisor_page.locator("#approval-preview")).to_contain_text("Picking")
    supervisor_page.get_by_role("button", name="Confirm the approval").click()
    expect(supervisor_page.locator(".bo-messages")).to_contain_text("approved and applied")

    # then the planner's page shows the new status without a reload
    expect(planner_page.locator("#line-status")).to_have_text("Picking")
    assert planner_page.evaluate("window.notReloaded") is True
    expect(planner_page.locator("#timeline")).to_contain_text("supervisor")
    planner_context.close()
    supervisor_context.close()


def test_a_german_supervisor_reads_german_dates_and_reasons_in_berlin_time(browser, live_server, advance):
    from playwright.sync_api import expect

    # given a backwards request on a line SAP packed at 08:02 UTC, and a supervisor who reads German in Berlin
    region = RegionFactory(code="emea")
    line = OrderLineFactory(order__account__region=region)
    advance(line, "released", "packed")
    override_request_create(
        user=_member("planner", region, "anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification="Falsche Lieferung gebucht.",
    )
    supervisor = _member("supervisor", region, "aufsicht")
    UserProfile.objects.create(user=supervisor, language="de", time_zone="Europe/Berlin")
    context = _context(browser, locale="en-US", timezone_id="America/Chicago")
    page = context.new_page()

    # when they open the approvals and the line (their browser says English and Chicago)
    _sign_in(page, live_server.url, "aufsicht", "/backoffice/approvals/")

    # then the reasons are in German, and the line's times are German dates in Berlin time
    expect(page.locator("#pending-requests")).to_contain_text("setzt eine Position zurück")
    expect(page.locator("#pending-requests")).to_contain_text("Datenkorrektur")
    page.goto(f"{live_server.url}/backoffice/lines/{line.pk}/")
    expect(page.locator("#timeline")).to_contain_text("02.11.2026 09:02 CET")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    _shot(page, "back-office-line-de.png")
    context.close()


def test_a_planner_opening_reconciliation_gets_the_styled_refusal(browser, live_server):
    from playwright.sync_api import expect

    region = RegionFactory(code="emea")
    _member("planner", region, "planner-emea")
    context = _context(browser, locale="en-GB")
    page = context.new_page()
    _sign_in(page, live_server.url, "planner-emea", "/backoffice/")

    # the navigation offers no reconciliation; opening it anyway gives the styled page with a way back
    expect(page.locator(".bo-nav")).not_to_contain_text("Reconciliation")
    response = page.goto(f"{live_server.url}/backoffice/reconciliations/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator("#refusal-reason")).to_contain_text("Your role does not include this page")
    page.get_by_role("link", name="Back to the exceptions").click()
    page.wait_for_url(f"{live_server.url}/backoffice/")
    context.close()


def test_the_api_docs_load_nothing_from_outside(browser, live_server):
    context = _context(browser)
    page = context.new_page()
    answered, refused = [], []
    page.on("response", lambda response: answered.append(response.url))
    page.on("requestfailed", lambda request: refused.append((request.url, request.failure)))
    for path in ("/api/docs/", "/api/redoc/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    context.close()

    # every answer came from this site (blob: and data: URLs are made in the page itself); what
    # a bundle would fetch from elsewhere (ReDoc's footer logo) the page's policy refuses
    fetched = [url for url in answered if url.startswith(("http://", "https://"))]
    assert f"{live_server.url}/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in fetched
    assert [url for url in fetched if not url.startswith(live_server.url)] == []
    assert {failure for url, failure in refused if not url.startswith(live_server.url)} <= {"csp"}
