"""In a real browser: revoking a status link on the portal's order page asks first, in a dialog
naming the link by the same facts as the page that asks when JavaScript does not run."""

import pytest

from portal.models import LinkAudience, StatusLink
from portal.services.links import status_link_issue

pytestmark = pytest.mark.django_db(transaction=True)


def test_revoke_asks_in_a_dialog_naming_the_link(new_page, sign_in, server, order, showcase, customer):
    from playwright.sync_api import expect

    # given a link the customer made, which its recipient has opened
    issued = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER, issued_by=customer)
    new_page().goto(f"{server.url}{issued.path}")
    page = new_page()
    sign_in(page, "customer", f"/portal/orders/{order.public_id}/")
    row = page.locator(f"#link-{issued.link.public_id}")
    dialog = page.locator("#revoke-dialog")
    last_opened = row.locator(".link-last-opened").inner_text().strip()
    assert last_opened and last_opened != "—"

    # when the customer clicks Revoke, then thinks better of it
    row.get_by_role("button", name="Revoke").click()
    expect(dialog).to_be_visible()
    # the dialog names the link as the page asking without JavaScript does: order, for whom and
    # who made it, what it shows, until when, when it was last opened
    expect(dialog.locator("#revoke-dialog-facts")).to_contain_text(order.number)
    expect(dialog.locator('[data-revoke="for"]')).to_have_text("Anyone you send it to")
    expect(dialog.locator('[data-revoke="made-by"]')).to_have_text("Made by you")
    expect(dialog.locator('[data-revoke="shows"]')).to_have_text("Line 20 only")
    expect(dialog.locator('[data-revoke="expiry"]')).to_have_text(row.locator(".link-expiry time").inner_text())
    expect(dialog.locator('[data-revoke="last-opened"]')).to_have_text(last_opened)
    dialog.get_by_role("button", name="Keep the link").click()

    # then nothing happened
    expect(dialog).to_be_hidden()
    expect(row.locator(".link-state")).to_contain_text("Active")
    assert StatusLink.objects.get(pk=issued.link.pk).revoked_at is None

    # when they click Revoke again and confirm
    row.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke the link").click()

    # then the link is revoked
    expect(page.locator(f"#link-{issued.link.public_id} .link-state")).to_contain_text("Revoked")
    assert StatusLink.objects.get(pk=issued.link.pk).revoked_at is not None


def test_without_javascript_a_page_asks_first(new_page, sign_in, server, order, showcase, customer):
    from playwright.sync_api import expect

    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    page = new_page(java_script_enabled=False)
    sign_in(page, "customer", f"/portal/orders/{order.public_id}/")

    page.locator(f"#link-{issued.link.public_id}").get_by_role("button", name="Revoke").click()

    expect(page.locator("#revoke-question")).to_have_text("Revoke this status link?")
    expect(page.locator("#revoke-link")).to_contain_text("Anyone you send it to")
    assert StatusLink.objects.get(pk=issued.link.pk).revoked_at is None
    page.get_by_role("button", name="Revoke the link").click()
    expect(page.locator(f"#link-{issued.link.public_id} .link-state")).to_contain_text("Revoked")
