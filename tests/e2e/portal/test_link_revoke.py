"""In a real browser: revoking a status link on the portal's order page asks first, in a dialog
naming the link when JavaScript runs, on a page of its own when it does not."""

import pytest

from portal.models import LinkAudience, StatusLink
from portal.services.links import status_link_issue

pytestmark = pytest.mark.django_db(transaction=True)


def test_revoke_asks_in_a_dialog_naming_the_link(new_page, sign_in, server, order, showcase, customer):
    from playwright.sync_api import expect

    issued = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER, issued_by=customer)
    page = new_page()
    sign_in(page, "customer", f"/portal/orders/{order.public_id}/")
    row = page.locator(f"#link-{issued.link.public_id}")
    dialog = page.locator("#revoke-dialog")

    # when the customer clicks Revoke, then thinks better of it
    row.get_by_role("button", name="Revoke").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator('[data-revoke="for"]')).to_have_text("Anyone you send it to")
    expect(dialog.locator('[data-revoke="shows"]')).to_have_text("Line 20 only")
    expect(dialog.locator('[data-revoke="expiry"]')).to_have_text(row.locator(".link-expiry time").inner_text())
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
