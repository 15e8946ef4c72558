"""In a real browser: a planner asks to move a line backwards, a supervisor approves, and the
line's timeline names both of them."""

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from overrides.models import OverrideRequest
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _back_office_member(role: str, region):
    """Back-office people sign in on the back office's own login page: no admin access (is_staff) needed."""
    user = UserFactory(username=role)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, region)
    return user


def test_a_planner_asks_a_supervisor_approves_and_the_timeline_shows_both(page, live_server, log_in, advance):
    from playwright.sync_api import expect

    # given a line SAP has packed, a planner and a supervisor working on its region
    region = RegionFactory(code="emea")
    line = OrderLineFactory(order__account__region=region)
    advance(line, "released", "packed")
    _back_office_member("planner", region)
    _back_office_member("supervisor", region)
    line_path = f"/backoffice/lines/{line.pk}/"

    # when the planner asks, on the line page, to move the line back to picking
    log_in("planner", line_path)
    page.select_option("#id_target_status", "picking")
    page.select_option("#id_reason", "data_correction")
    page.fill("#id_justification", "Goods issue was posted on the wrong delivery; the part is still on the shelf.")
    page.fill("#id_evidence_reference", "INC-4711")
    page.get_by_role("button", name="Request the override").click()

    # then the page says it waits for approval, and why
    expect(page.locator(".bo-messages")).to_contain_text("waits for a second person's approval")
    expect(page.locator(".bo-messages")).to_contain_text("moves a line backwards")
    expect(page.locator("#line-status")).to_have_text("Packed")
    page.get_by_role("button", name="Log out").click()
    # (signed out, the back office's own sign-in page is shown)
    expect(page.locator("#id_username")).to_be_visible()

    # when the supervisor approves it on the approvals page
    request = OverrideRequest.objects.get()
    log_in("supervisor", "/backoffice/approvals/")
    row = page.locator(f"#request-{request.pk}")
    expect(row).to_contain_text("planner")
    expect(row).to_contain_text("moves a line backwards")
    row.get_by_role("textbox", name="Note").fill("Checked with the warehouse.")
    row.get_by_role("button", name="Approve…").click()
    # (what approving does now, judged against the line as it is, then confirmed)
    expect(page.locator("#approval-preview")).to_contain_text("Picking")
    page.get_by_role("button", name="Confirm the approval").click()
    expect(page.locator(".bo-messages")).to_contain_text("approved and applied")

    # then the line is back in picking, and its timeline shows the override by the planner, approved by the supervisor
    page.goto(f"{live_server.url}{line_path}")
    expect(page.locator("#line-status")).to_have_text("Picking")
    override_row = page.locator("#timeline tr.event", has_text="INC-4711")
    expect(override_row).to_have_count(1)
    expect(override_row.locator(".event-actor")).to_contain_text("planner")
    expect(override_row.locator(".event-approver")).to_have_text("supervisor")
