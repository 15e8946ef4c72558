"""Revoking a status link on the portal's order page asks first: without JavaScript a page that
names the link (whom it is for, what it shows, until when) and revokes only when confirmed, a
POST with CSRF. (The order page's dialog, with JavaScript: tests/e2e/portal/test_link_revoke.py.)"""

import re
from datetime import UTC, datetime

import pytest
from django.test import Client

from portal.models import LinkAudience, StatusLink
from portal.services.links import status_link_issue
from tests.portal.fixtures import signed_in

pytestmark = pytest.mark.django_db


def _revoke_url(link) -> str:
    return f"/portal/links/{link.public_id}/revoke/"


def _fields(form: str) -> dict:
    """What a browser posts from `form`: its hidden inputs."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


@pytest.fixture
def issued(order, showcase, customer):
    issued = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER, issued_by=customer)
    StatusLink.objects.filter(pk=issued.link.pk).update(expires_at=datetime(2036, 1, 10, 20, 0, tzinfo=UTC))
    return issued


def test_revoke_asks_first_naming_the_link_and_revokes_once_confirmed(order, customer, issued):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer)
    browser.cookies["tz"] = "Asia/Tokyo"
    order_page = browser.get(f"/portal/orders/{order.public_id}/", {"links_page": "1"}).content.decode()
    row = order_page.split(f'id="link-{issued.link.public_id}"')[1].split("</tr>")[0]
    revoke_form = row.split('class="inline link-revoke">')[1].split("</form>")[0]

    # when the customer presses Revoke (without JavaScript)
    answer = browser.post(_revoke_url(issued.link), {**_fields(revoke_form), "links_page": "2"})

    # then a page asks, naming the link, and nothing is revoked yet
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "Revoke this status link?" in page
    facts = page.split('id="revoke-link"')[1].split("</dl>")[0]
    assert order.number in facts and "Anyone you send it to" in facts and "Made by you" in facts
    assert "Line 20 only" in facts
    assert "11 Jan 2036, 05:00 JST" in facts  # until when, in the viewer's time zone
    form = page.split('class="pt-confirm">')[1].split("</form>")[0]
    assert (
        f'href="/portal/orders/{order.public_id}/?links_page=2#status-links" id="revoke-cancel">Keep the link' in form
    )
    assert Client().get(issued.path).status_code == 200

    # when they confirm: without the form's CSRF token it is refused, with it the link is revoked
    confirmed = _fields(form)
    assert confirmed["confirmed"] == "1"
    forged = browser.post(_revoke_url(issued.link), {"confirmed": "1"})
    assert forged.status_code == 403 and Client().get(issued.path).status_code == 200
    done = browser.post(_revoke_url(issued.link), confirmed)
    assert done.status_code == 302
    assert done["Location"] == f"/portal/orders/{order.public_id}/?links_page=2#status-links"
    assert Client().get(issued.path).status_code == 410


def test_the_question_speaks_the_persons_language(customer, issued):
    page = signed_in(customer, "de").post(_revoke_url(issued.link)).content.decode()

    assert "Diesen Statuslink widerrufen?" in page and "Link widerrufen" in page and "Nur Position 20" in page
