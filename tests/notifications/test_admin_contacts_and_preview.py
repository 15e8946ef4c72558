"""The admin shows and edits an order's contacts (scoped like the order), and previews an HTML
email only inside a sandboxed frame, never as part of the admin page."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from notifications.models import MessageTemplate
from orders.models import OrderContact
from tests.factories import OrderLineFactory, RegionFactory, UserFactory
from tests.notifications.conftest import region_member
from tests.notifications.factories import OrderContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(db):
    emea, americas = RegionFactory(code="emea"), RegionFactory(code="americas", name="Americas")
    person = region_member("admin", emea, username="emea-admin", email="emea-admin@oem.example")
    ours = OrderContactFactory(order=OrderLineFactory(order__account__region=emea).order, name="Anna Amsel")
    theirs = OrderContactFactory(order=OrderLineFactory(order__account__region=americas).order, name="Carl Crane")
    return {"person": person, "ours": ours, "theirs": theirs}


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.starts: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.starts.append((tag, dict(attrs)))

    def of(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.starts if name == tag]


def tags_of(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    return parser


def test_an_orders_contacts_are_shown_on_its_admin_page_with_how_to_reach_them(client, world):
    ours = world["ours"]
    client.force_login(world["person"])

    page = client.get(reverse("admin:orders_order_change", args=[ours.order.pk])).content.decode()

    assert "Anna Amsel" in page
    assert ours.email in page and ours.phone in page
    assert "Europe/Berlin" in page


def test_contacts_are_listed_and_opened_in_scope_only(client, world):
    client.force_login(world["person"])

    listing = client.get(reverse("admin:orders_ordercontact_changelist")).content.decode()
    mine = client.get(reverse("admin:orders_ordercontact_change", args=[world["ours"].pk]))
    other = client.get(reverse("admin:orders_ordercontact_change", args=[world["theirs"].pk]))

    assert "Anna Amsel" in listing and "Carl Crane" not in listing
    assert (mine.status_code, other.status_code) == (200, 404)


def _contact_form(contact, **changes) -> dict:
    fields = {
        "order": contact.order.pk,
        "role": contact.role,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "language": contact.language,
        "time_zone": contact.time_zone,
        "user": "",
    }
    return {**fields, **changes}


def test_a_contact_is_edited_with_its_phone_checked_and_stored_in_e164(client, world):
    ours = world["ours"]
    client.force_login(world["person"])
    url = reverse("admin:orders_ordercontact_change", args=[ours.pk])

    refused = client.post(url, _contact_form(ours, phone="0151 1234567"))
    saved = client.post(url, _contact_form(ours, phone="+49 (151) 222-33344", language="fr-CA"))

    assert refused.status_code == 200
    assert "is not a phone number with its country code" in refused.content.decode()
    assert saved.status_code == 302
    ours.refresh_from_db()
    assert (ours.phone, ours.language) == ("+4915122233344", "fr-ca")


def test_a_contact_cannot_be_put_on_an_order_out_of_scope(client, world):
    client.force_login(world["person"])
    theirs = world["theirs"]

    answer = client.post(
        reverse("admin:orders_ordercontact_add"), _contact_form(theirs, name="Mallory", email="m@example.com")
    )

    assert answer.status_code == 200  # the form again: not a choice
    assert not OrderContact.objects.filter(name="Mallory").exists()


def test_a_contact_cannot_be_linked_to_an_account_nobody_in_scope_knows(client, world):
    # given a user account named on no order of the person's scope (one that could then open
    # the order's technician pages)
    stranger = UserFactory(username="stranger")
    client.force_login(world["person"])
    ours = world["ours"]

    answer = client.post(
        reverse("admin:orders_ordercontact_change", args=[ours.pk]),
        _contact_form(ours, role="technician", user=stranger.pk),
    )

    assert answer.status_code == 200
    ours.refresh_from_db()
    assert ours.user is None


def test_the_html_preview_is_framed_in_a_sandbox_and_never_part_of_the_admin_page(client, world):
    # given an HTML template with a script, an event handler and quotes, and a default-wording
    # email template (its HTML part is built from the shipped layout)
    hostile = MessageTemplate.objects.create(
        event_kind="status_reached",
        channel="email",
        locale="en",
        subject="Order {{ order_number }}",
        body_text="Hi",
        body_html='<p onclick="steal()">"Order" {{ order_number }}</p><script>steal()</script>',
    )
    plain = MessageTemplate.objects.create(
        event_kind="exception", channel="email", locale="en", subject="Order {{ order_number }}", body_text="Hi"
    )
    client.force_login(world["person"])
    number = world["ours"].order.number

    for template in (hostile, plain):
        page = client.get(
            reverse("admin:notifications_messagetemplate_preview", args=[template.pk]), {"order": number}
        ).content.decode()
        tags = tags_of(page)

        # then each locale's HTML is an iframe's srcdoc, sandboxed without scripts
        frames = tags.of("iframe")
        assert len(frames) == 4
        for frame in frames:
            assert "sandbox" in frame and "allow-scripts" not in (frame["sandbox"] or "")
            assert "Order" in frame["srcdoc"]
            if template is plain:
                assert frame["srcdoc"].rstrip().endswith("</html>")  # the whole email, in the frame
        # and nothing of the email reached the admin page itself
        assert (len(tags.of("html")), len(tags.of("body")), len(tags.of("title"))) == (1, 1, 1)
        assert not [attrs for attrs in tags.of("p") if "onclick" in attrs]
        assert "<script>steal()" not in page
    assert any(
        "<script>steal()</script>" in frame["srcdoc"]
        for frame in tags_of(
            client.get(
                reverse("admin:notifications_messagetemplate_preview", args=[hostile.pk]), {"order": number}
            ).content.decode()
        ).of("iframe")
    )
