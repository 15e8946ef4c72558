"""In a real browser on a phone: the technician's parts are there offline from the first visit
(also those never opened), and once the technician logs out nothing of theirs is readable offline."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

KEPT = "(url) => caches.match(url).then((answer) => !!answer)"
PAGE_CACHES = "() => caches.keys().then((keys) => keys.filter((key) => key.startsWith('tech-pages-')).length)"


def test_parts_are_kept_offline_until_the_technician_logs_out(new_page, sign_in, server, order, showcase, technician):
    from playwright.sync_api import Error, expect

    page = new_page(phone=True)
    context = page.context
    sign_in(page, "technician", "/tech/")
    never_opened = f"/tech/parts/{showcase['20'].public_id}/"

    # the list and every part's page are kept as soon as the list was shown once
    for _attempt in range(100):
        if page.evaluate(KEPT, "/tech/") and page.evaluate(KEPT, never_opened):
            break
        page.wait_for_timeout(100)
    context.set_offline(True)
    page.goto(f"{server.url}{never_opened}")
    expect(page.locator("body")).to_contain_text("SK-118")
    page.goto(f"{server.url}/tech/")
    expect(page.locator("#parts")).to_contain_text("FL-900")

    # when the technician logs out (online)
    context.set_offline(False)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server.url}/portal/login/")
    assert page.evaluate(PAGE_CACHES) == 0

    # then offline, neither the list nor a part opens any more
    context.set_offline(True)
    for path in ("/tech/", never_opened):
        with pytest.raises(Error):
            page.goto(f"{server.url}{path}")


def test_a_refused_barcode_leaves_what_was_typed_to_be_corrected(new_page, sign_in, order, showcase, technician):
    from playwright.sync_api import expect

    page = new_page(phone=True)
    sign_in(page, "technician", f"/tech/parts/{showcase['10.1'].public_id}/")

    page.fill("#confirm-code", "XX-0000")
    page.fill("#confirm-quantity", "2")
    page.fill("#confirm-note", "Handed over at the pit gate")
    page.get_by_role("button", name="Confirm delivery").click()

    expect(page.locator("#confirm-result")).to_contain_text("Not sent")
    expect(page.locator("#confirm-code")).to_have_value("XX-0000")
    expect(page.locator("#confirm-quantity")).to_have_value("2")
    expect(page.locator("#confirm-note")).to_have_value("Handed over at the pit gate")
