"""The order page's table of status links, as a customer reads it: whom each link is for, what it
allows and shows, in plain words in their language; whether it still works (active, expired,
revoked) and until when, in their time zone; the form's errors readable above the form; and
"Replace link" where it once said "New token"."""

import re
from datetime import UTC, datetime, timedelta
from importlib import import_module

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from guardian.shortcuts import assign_perm

from notifications.services.batches import notifications_sweep
from orders.models import ContactRole, OrderContact
from portal.models import LinkAudience, StatusLink
from portal.services.links import (
    status_link_issue,
    status_link_revoke,
    status_link_rotate,
    status_link_sent_record,
)
from tests.factories import OrderLineFactory, UserFactory
from tests.notifications.conftest import ship, sms_to, status_link_in, text_part
from tests.portal.fixtures import signed_in

pytestmark = pytest.mark.django_db


def _page(client, order, **params) -> str:
    response = client.get(f"/portal/orders/{order.public_id}/", params)
    assert response.status_code == 200
    return response.content.decode()


def _row(page: str, link: StatusLink) -> str:
    return page.split(f'id="link-{link.public_id}"')[1].split("</tr>")[0]


def _cell(row: str, css_class: str) -> str:
    return re.search(rf'class="{css_class}">(.*?)</td>', row, re.S).group(1)


def test_each_link_says_whom_it_is_for_what_it_allows_and_what_it_shows(order, showcase, customer, customer_account):
    colleague = UserFactory(username="kim.colleague", first_name="Kim", last_name="Colleague")
    assign_perm("orders.follow_account_orders", colleague, customer_account)
    mine = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER, issued_by=customer)
    sent = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)  # by a message, or the service team
    theirs = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=colleague)

    page = _page(signed_in(customer), order)

    assert "<th>Who it is for</th><th>What it allows</th><th>What it shows</th>" in page
    mine_row, sent_row, theirs_row = (_row(page, issued.link) for issued in (mine, sent, theirs))
    assert "Anyone you send it to" in mine_row and "Made by you" in mine_row
    assert "See the order&#x27;s progress" in mine_row and "Line 20 only" in mine_row
    assert "Sent by our service team" in sent_row and "The whole order" in sent_row
    assert "Made by someone else" in theirs_row
    assert "Kim" not in theirs_row and "kim.colleague" not in theirs_row  # nobody is named
    for row in (mine_row, sent_row, theirs_row):
        assert ">Customer<" not in row and ">View<" not in row  # the back office's words


def test_a_link_the_service_team_replaced_is_the_service_teams(order, showcase, customer):
    # given the customer made a link, and a planner in the back office replaced it
    planner = UserFactory(username="pat.planner", first_name="Pat", is_staff=True)
    made = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    replacement = status_link_rotate(link=made.link, rotated_by=planner)

    row = _row(_page(signed_in(customer), order), replacement.link)

    assert "Sent by our service team" in row and "Pat" not in row
    assert "Made by someone else" not in row


@pytest.mark.parametrize("role", ["planner", "supervisor"])
def test_a_link_a_back_office_person_made_is_the_service_teams(order, showcase, customer, customer_account, role):
    # given a back-office person (a role, not a configuration person of the admin: no is_staff)
    # replaced the customer's link, and a dealer's colleague of the customer made another
    person = UserFactory(username=f"{role}.person", first_name="Robin", is_staff=False)
    person.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_for_account", person, order.account)
    colleague = UserFactory(username="kim.colleague", first_name="Kim")
    assign_perm("orders.follow_account_orders", colleague, customer_account)
    made = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    replacement = status_link_rotate(link=made.link, rotated_by=person)
    theirs = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=colleague)

    page = _page(signed_in(customer), order)

    # then the back office's link is the service team's, unnamed; the colleague's is someone else's
    row = _row(page, replacement.link)
    assert "Sent by our service team" in row and "Robin" not in row
    assert "Made by someone else" in _row(page, theirs.link)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("de", ["Für wen", "Alle, denen Sie ihn senden", "Von Ihnen erstellt", "Nur Position 20", "Aktiv"]),
        ("fr", ["Pour qui", "Toute personne à qui vous l’envoyez", "Créé par vous", "Ligne 20 uniquement", "Actif"]),
        ("es", ["Para quién", "Cualquiera a quien lo envíe", "Creado por usted", "Solo la línea 20", "Activo"]),
    ],
)
def test_the_table_speaks_the_persons_language(order, showcase, customer, language, words):
    issued = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER, issued_by=customer)

    page = _page(signed_in(customer, language), order)

    row = _row(page, issued.link)
    for word in words:
        assert word in page
    assert "Active" not in row and "Anyone you send it to" not in row


def test_each_link_says_whether_it_still_works(order, showcase, customer):
    active = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer).link
    expired = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer).link
    StatusLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    revoked = status_link_revoke(
        link=status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer).link,
        revoked_by=customer,
    )

    page = _page(signed_in(customer), order)

    assert "<strong>Active</strong>" in _cell(_row(page, active), "link-state")
    assert "<strong>Expired</strong>" in _cell(_row(page, expired), "link-state")
    assert "<strong>Revoked</strong>" in _cell(_row(page, revoked), "link-state")
    # an expired link can be replaced (a working one instead), a revoked one is done with
    assert "/rotate/" in _row(page, expired) and "/revoke/" not in _row(page, expired)
    assert "/rotate/" not in _row(page, revoked) and "/revoke/" not in _row(page, revoked)


def test_the_expiry_is_shown_in_the_viewers_time_zone(order, showcase, customer):
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer).link
    StatusLink.objects.filter(pk=link.pk).update(expires_at=datetime(2036, 1, 10, 20, 0, tzinfo=UTC))
    client = signed_in(customer)
    client.cookies["tz"] = "Asia/Tokyo"

    expiry = _cell(_row(_page(client, order), link), "link-expiry")

    assert 'datetime="2036-01-10T20:00:00+00:00"' in expiry
    assert "11 Jan 2036, 05:00 JST" in expiry  # the next morning in Tokyo


def test_a_link_that_expires_while_its_page_is_cached_shows_expired(order, showcase, customer):
    with freeze_time(timezone.now()) as clock:
        link = status_link_issue(
            order=order, audience=LinkAudience.CUSTOMER, issued_by=customer, expires_in=timedelta(seconds=2)
        ).link
        client = signed_in(customer)
        assert "<strong>Active</strong>" in _row(_page(client, order), link)
        assert "<strong>Active</strong>" in _row(_page(client, order), link)  # the cached page

        clock.move_to(link.expires_at + timedelta(milliseconds=100))

        assert "<strong>Expired</strong>" in _row(_page(client, order), link)


def test_the_forms_errors_are_one_full_width_block_above_the_form_naming_the_field(order, showcase, customer):
    response = signed_in(customer).post(
        f"/portal/orders/{order.public_id}/", {"audience": "customer", "purpose": "view", "line": "99"}
    )

    page = response.content.decode()
    assert response.status_code == 400
    errors = page.split('id="link-form-errors"')[1].split("</div>")[0]
    form = page.split('id="link-form"')[1].split("</form>")[0]
    assert page.index('id="link-form-errors"') < page.index('id="link-form"')
    assert '<div class="pt-form-errors" id="link-form-errors" role="alert"' in page
    assert '<label for="id_line">Line</label>: This order has no line 99.' in errors
    assert "This order has no line 99." not in form and "errorlist" not in form  # not in a grid column
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*name="line"[^>]*>', form).group(0)


def test_a_link_limit_reached_is_said_above_the_form_too(order, showcase, customer, settings):
    settings.STATUS_LINK_ISSUES_PER_HOUR = 1
    client = signed_in(customer)
    client.post(f"/portal/orders/{order.public_id}/", {"audience": "customer", "purpose": "view", "line": ""})

    page = client.post(
        f"/portal/orders/{order.public_id}/", {"audience": "customer", "purpose": "view", "line": ""}
    ).content.decode()

    errors = page.split('id="link-form-errors"')[1].split("</div>")[0]
    assert "You have reached the limit of 1 status link an hour." in errors


REPLACE = {"en": "Replace link", "de": "Link ersetzen", "fr": "Remplacer le lien", "es": "Reemplazar el enlace"}


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_replace_link_says_what_it_does_in_the_portal_and_the_back_office(order, showcase, customer, language):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    planner = UserFactory(username="planner")
    planner.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_for_account", planner, order.account)

    portal_page = _page(signed_in(customer, language), order)
    back_office_page = signed_in(planner, language).get(f"/backoffice/orders/{order.pk}/").content.decode()

    for page in (portal_page, back_office_page):
        assert f'<button type="submit">{REPLACE[language]}</button>' in _row(page, issued.link)
        for jargon in ("New token", "Neues Token", "Nouveau jeton", "Token nuevo", "new token"):
            assert jargon not in page


def test_a_link_our_messages_sent_says_to_whom_masked_and_that_our_messages_made_it(
    order, showcase, customer, rules, mailbox, twilio, django_capture_on_commit_callbacks
):
    # given the order's requester on file, with an email address and a mobile number
    OrderContact.objects.create(
        order=order,
        role=ContactRole.REQUESTER,
        name="Clara Berg",
        email="clara.berg@nordhafen.example",
        phone="+4915112345678",
    )
    customer_made = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer).link
    b_part = OrderLineFactory(order=order, number="40", part__criticality="B")
    a_part = OrderLineFactory(order=order, number="50", part__criticality="A")

    # when a B part ships (an email, once its throttle has passed) and an A part ships (an SMS)
    with django_capture_on_commit_callbacks(execute=True):  # the outbox's handlers, the sending
        ship(b_part)
    with freeze_time(timezone.now() + timedelta(minutes=11)), django_capture_on_commit_callbacks(execute=True):
        notifications_sweep()
    [email] = mailbox.to("clara.berg@nordhafen.example")
    sent = status_link_in(text_part(email))[1]
    emailed = _row(_page(signed_in(customer), order), sent)
    with django_capture_on_commit_callbacks(execute=True):
        ship(a_part)
    [sms] = sms_to(twilio, "+4915112345678")
    assert status_link_in(sms["body"])[1] == sent  # one link per recipient and order
    both = _row(_page(signed_in(customer), order), sent)

    # then the link our messages carry says how it went and to whom (masked), and who made it
    assert "Sent by email to the contact on file (c•••@n•••.example)" in _cell(emailed, "link-for")
    assert "Made by our automatic messages" in emailed
    assert "Sent by email and SMS to the contact on file (c•••@n•••.example, +49•••78)" in both
    for row in (emailed, both):
        assert "clara.berg" not in row and "12345678" not in row and "Clara" not in row and "nordhafen" not in row
        assert "Anyone you send it to" not in row and "Sent by our service team" not in row
    # and the customer's own link still reads as theirs
    mine = _row(_page(signed_in(customer), order), customer_made)
    assert "Anyone you send it to" in mine and "Made by you" in mine


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("anna@berg-family.de", "a•••@b•••.de"),  # a personal domain names the family
        ("a@berg.de", "a•••@b•••.de"),  # a one-letter name is not shown whole
        ("clara@mail.berg-family.co.uk", "c•••@m•••.uk"),
        ("+15551234567", "+1•••67"),  # one-digit country code: no digit of the number itself
        ("+4915112345678", "+49•••78"),
        ("+35312345678", "+353•••78"),
        ("015112345678", "•••78"),  # no country code to show
    ],
)
def test_a_sent_to_address_names_neither_the_person_nor_their_domain(order, showcase, customer, address, shown):
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    status_link_sent_record(link=link, channel="email" if "@" in address else "sms", address=address)

    row = _row(_page(signed_in(customer), order), link)

    assert f"({shown})" in _cell(row, "link-for")


def test_a_replaced_link_stays_listed_as_replaced_right_after_its_successor(order, showcase, customer):
    # given the customer made a link, then another, then replaced the first one on the order page
    first = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    StatusLink.objects.filter(pk=first.link.pk).update(issued_at=timezone.now() - timedelta(days=2))
    later = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer).link
    StatusLink.objects.filter(pk=later.pk).update(issued_at=timezone.now() - timedelta(days=1))
    client = signed_in(customer)
    client.get(f"/portal/orders/{order.public_id}/")  # the page as it was, cached

    client.post(f"/portal/links/{first.link.public_id}/rotate/")

    # then the page lists the new link, the replaced one right after it, then the other one
    page = _page(client, order)
    first.link.refresh_from_db()
    successor = first.link.replaced_by
    assert re.findall(r'<tr id="link-([0-9a-f-]+)"', page) == [
        str(successor.public_id),
        str(first.link.public_id),
        str(later.public_id),
    ]
    replaced = _row(page, first.link)
    state = _cell(replaced, "link-state")
    assert "<strong>Replaced</strong>" in state
    assert f'datetime="{first.link.revoked_at.isoformat()}"' in state  # when
    assert f'href="#link-{successor.public_id}"' in state  # by which link
    assert "/rotate/" not in replaced and "/revoke/" not in replaced
    assert "<strong>Active</strong>" in _row(page, successor)
    # and the replaced address still opens nothing
    assert Client().get(first.path).status_code == 410


def test_links_our_messages_sent_before_links_recorded_it_say_to_whom_too(
    order, showcase, customer, rules, twilio, django_capture_on_commit_callbacks
):
    from django.apps import apps

    # given an SMS our messages sent with a link, from before links recorded whom they went to
    OrderContact.objects.create(order=order, role=ContactRole.REQUESTER, name="Clara Berg", phone="+4915112345678")
    with django_capture_on_commit_callbacks(execute=True):
        ship(OrderLineFactory(order=order, number="50", part__criticality="A"))
    [sms] = sms_to(twilio, "+4915112345678")
    sent = status_link_in(sms["body"])[1]
    StatusLink.objects.filter(pk=sent.pk).update(sent_by_email_to="", sent_by_sms_to="")

    # when the migration reads the stored messages
    import_module("notifications.migrations.0005_status_links_sent_to").links_sent_to(apps, None)

    # then the link says whom it was sent to, and that our messages made it
    row = _row(_page(signed_in(customer), order), sent)
    assert "Sent by SMS to the contact on file (+49•••78)" in row and "Made by our automatic messages" in row
