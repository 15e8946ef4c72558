"""Templates: the locale fallback chain, versions in the delivery log, missing variables, SMS
length, email parts with a status link in the recipient's language, and the admin preview and
test send."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from notifications.models import MessageTemplate, Notification
from notifications.rendering import locale_chain, message_render
from notifications.services.batches import notifications_sweep
from notifications.sms_length import sms_length
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory, UserFactory
from tests.notifications.conftest import html_part, status_link_in, text_part

pytestmark = pytest.mark.django_db(transaction=True)


def ship_and_wait(line) -> None:
    """The part ships; the B-part email rule's 10-minute throttle window passes."""
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()


def test_the_locale_chain_falls_back_from_region_to_language_to_english():
    assert locale_chain("fr-CA") == ["fr-ca", "fr", "en"]
    assert locale_chain("de") == ["de", "en"]
    assert locale_chain("") == ["en"]


def test_a_canadian_french_recipient_gets_the_french_template_and_its_version_is_logged(
    rules, twilio, mailbox, contact_for
):
    # given a French email template (none for fr-CA) edited twice
    template = MessageTemplate.objects.create(
        event_kind="status_reached",
        channel="email",
        locale="fr",
        subject="Commande {{ order_number }} : {{ status }}",
        body_text="Bonjour {{ recipient_name }}, votre pièce {{ part_number }} : {{ status }}.",
    )
    template.body_text += " Merci."
    template.save()
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, language="fr-CA", name="Chloé")

    # when the part ships
    ship_and_wait(line)

    # then the email is the French template in French, and the log names its version
    [message] = mailbox.to(requester.email)
    assert message["Subject"] == f"Commande {line.order.number} : Expédié"
    assert text_part(message).startswith(f"Bonjour Chloé, votre pièce {line.part.number} : Expédié. Merci.")
    notification = Notification.objects.get(address=requester.email)
    assert notification.template_version == f"#{template.pk} v2 (fr)"
    assert template.history.count() == 2


def test_without_a_template_the_shipped_wording_speaks_the_recipients_language(rules, twilio, mailbox, contact_for):
    # given a German requester of a B part and no template in the database
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, language="de", time_zone="Europe/Berlin")

    # when the part ships
    ship_and_wait(line)

    # then the email is in German, with a text and an HTML part, each with the status link
    [message] = mailbox.to(requester.email)
    link, issued = status_link_in(text_part(message))
    assert (issued.order, issued.audience) == (line.order, "customer")
    assert f"Auftrag {line.order.number}" in message["Subject"]
    assert f'href="{link}"' in html_part(message)
    assert "Versandt" in text_part(message)


def test_the_html_part_shows_the_text_as_paragraphs_and_an_erp_description_as_text(rules, twilio, mailbox, contact_for):
    # given a part whose ERP description holds markup characters
    line = OrderLineFactory(part__criticality="B", part__description="Valve <b>X</b> & co")
    requester = contact_for(line)

    # when it ships and the email goes out
    ship_and_wait(line)

    # then the HTML part has real paragraphs, and the description shows as written, escaped once
    html = html_part(mailbox.to(requester.email)[0])
    assert "<p>Hello " in html
    assert "&lt;p&gt;" not in html
    assert "Valve &lt;b&gt;X&lt;/b&gt; &amp; co" in html


def test_a_template_that_names_an_unknown_variable_is_reported_and_left_blank():
    template = MessageTemplate(
        event_kind="status_reached", channel="sms", locale="en", body_text="{{ order_number }} {{ tracking_url }}"
    )

    rendered = message_render(
        kind="status_reached", channel="sms", locale="en", context={"order_number": "SO-1"}, template=template
    )

    assert rendered.missing == ["tracking_url"]
    assert rendered.text == "SO-1"


def test_sms_length_counts_segments_by_encoding():
    assert (sms_length("a" * 160).segments, sms_length("a" * 161).segments) == (1, 2)
    assert (sms_length("€" * 80).segments, sms_length("€" * 81).segments) == (
        1,
        2,
    )  # an extension character counts twice in GSM-7
    assert (sms_length("ł" * 70).encoding, sms_length("ł" * 71).segments) == ("UCS-2", 2)


def test_a_long_sms_is_cut_to_two_segments_and_keeps_its_link():
    template = MessageTemplate(
        event_kind="status_reached", channel="sms", locale="en", body_text="x" * 400 + " {{ status_link }}"
    )

    rendered = message_render(
        kind="status_reached",
        channel="sms",
        locale="en",
        context={"status_link": "https://p.example/o/1/"},
        template=template,
    )

    assert rendered.sms.segments == 2
    assert rendered.text.endswith("https://p.example/o/1/")


def test_every_shipped_sms_wording_fits_whole_in_plain_gsm_in_every_language(rules, contact_for, settings):
    from notifications.context import preview_context
    from notifications.models import EventKind

    # given an order of a part with a German description, and status links of the real length
    settings.PUBLIC_BASE_URL = "https://parts.example.com"
    line = OrderLineFactory(part__criticality="A", part__description="Hydraulikventil für Bagger")
    contact_for(line)
    for kind in EventKind.values:
        for locale in ("en", "de", "fr", "es"):
            # when each shipped SMS wording is rendered
            context = preview_context(order=line.order, kind=kind, channel="sms", locale=locale)
            rendered = message_render(kind=kind, channel="sms", locale=locale, context=context, lookup=False)

            # then it is GSM-7 (no typographic quote turns it into UCS-2) and nothing was cut
            assert rendered.error == ""
            assert rendered.sms.encoding == "GSM-7", (kind, locale, rendered.text)
            assert not rendered.cut, (kind, locale, rendered.text)


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es"])
def test_a_critical_sms_keeps_status_eta_and_link_and_shortens_only_the_description(
    rules, contact_for, settings, locale
):
    from datetime import UTC, datetime

    from notifications.context import preview_context

    # given a shipped A part with an ETA and an ERP description far too long for an SMS
    settings.PUBLIC_BASE_URL = "https://parts.service-network.example.com"
    description = ("Hydraulic valve DN50 for excavator arm, " * 5).strip()  # the longest a part has
    line = OrderLineFactory(
        part__criticality="A", part__description=description, eta=datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    )
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    contact_for(line)

    # when the SMS is rendered in the recipient's language
    context = preview_context(order=line.order, kind="status_reached", channel="sms", locale=locale)
    rendered = message_render(kind="status_reached", channel="sms", locale=locale, context=context, lookup=False)

    # then it fits two GSM-7 segments with the status, the ETA and the link; the description gave way
    assert rendered.sms.encoding == "GSM-7"
    assert rendered.sms.segments <= 2
    assert context["status"] in rendered.text
    assert context["eta"] in rendered.text
    assert rendered.text.endswith(context["status_link"])
    assert "Hydraulic valve DN50" in rendered.text
    assert description.strip() not in rendered.text


@pytest.fixture
def configurer(db):
    """An admin-role person scoped to everything."""
    from django.contrib.auth.models import Group

    user = UserFactory(username="configurer", is_staff=True, email="configurer@oem.example")
    user.groups.add(Group.objects.get(name="admin"))
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="work_in_region"))
    return user


def test_the_admin_previews_a_template_on_a_real_order_in_every_locale(client, configurer, contact_for):
    # given a Spanish SMS template that names a variable that does not exist
    line = OrderLineFactory(part__criticality="A")
    contact_for(line)
    template = MessageTemplate.objects.create(
        event_kind="status_reached", channel="sms", locale="es", body_text="Pedido {{ order_number }}: {{ estado }}"
    )
    client.force_login(configurer)

    # when they preview it on the order
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    page = client.get(url, {"order": line.order.number}).content.decode()

    # then each locale shows its rendering, the missing variable is named, the SMS length shown
    for locale in ("en", "de", "fr", "es"):
        assert f'id="preview-{locale}"' in page
    assert f"Pedido {line.order.number}:" in page
    assert "Missing variables: estado" in page
    assert re.search(r"\d+ characters \(GSM-7\): 1 segment\b", page)


def test_the_admin_sends_a_test_to_themselves(client, configurer, mailbox, contact_for):
    # given an email template and an order
    line = OrderLineFactory()
    contact_for(line)
    template = MessageTemplate.objects.create(
        event_kind="status_reached", channel="email", locale="en", subject="Test {{ order_number }}", body_text="Hi"
    )
    client.force_login(configurer)

    # when they send a test
    url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
    client.post(url, {"order": line.order.number})

    # then it reaches their own address, through the delivery log
    [message] = mailbox.to("configurer@oem.example")
    assert message["Subject"] == f"Test {line.order.number}"
    assert Notification.objects.get(kind="test").created_by == configurer


def test_the_preview_of_an_order_out_of_scope_is_refused(client, contact_for):
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    from tests.factories import RegionFactory

    emea, americas = RegionFactory(code="emea"), RegionFactory(code="americas", name="Americas")
    person = UserFactory(username="emea-admin", is_staff=True)
    person.groups.add(Group.objects.get(name="admin"))
    assign_perm("orders.work_in_region", person, emea)
    line = OrderLineFactory(order__account__region=americas)
    template = MessageTemplate.objects.create(event_kind="status_reached", channel="email", locale="en", body_text="Hi")
    client.force_login(person)

    page = client.get(
        reverse("admin:notifications_messagetemplate_preview", args=[template.pk]), {"order": line.order.number}
    )

    assert "No order with this number in your scope." in page.content.decode()
    assert line.order.number not in page.content.decode().replace(f'value="{line.order.number}"', "")


def test_the_admin_refuses_a_template_that_dumps_the_server_state_or_loops_in_loops(client, configurer):
    client.force_login(configurer)
    url = reverse("admin:notifications_messagetemplate_add")
    form = {"event_kind": "status_reached", "channel": "email", "locale": "en", "subject": "Hi", "is_active": "on"}

    debug = client.post(url, {**form, "body_text": "{% debug %}"})
    loops = client.post(
        url, {**form, "body_text": "{% for a in order_number %}{% for b in order_number %}x{% endfor %}{% endfor %}"}
    )

    assert "The {% debug %} tag is not allowed in a message." in debug.content.decode()
    assert "A {% for %} loop inside another is not allowed in a message." in loops.content.decode()
    assert not MessageTemplate.objects.exists()


def test_a_stored_template_that_would_render_megabytes_is_reported_not_rendered():
    # given a template stored before the checks (written straight to the database)
    template = MessageTemplate(
        event_kind="status_reached",
        channel="email",
        locale="en",
        subject="Hi",
        body_text="{% for a in x %}{% for b in x %}{% for c in x %}{{ x }}{% endfor %}{% endfor %}{% endfor %}",
    )

    rendered = message_render(
        kind="status_reached", channel="email", locale="en", context={"x": "y" * 100}, template=template
    )

    assert "not allowed" in rendered.error
    assert rendered.text == ""


def test_a_summary_email_lists_its_items_once_in_the_html_and_speaks_the_recipients_language(contact_for):
    from notifications.context import preview_context

    # (numbers set: the factory's next one could be 200, whose reference contains that of 20)
    line = OrderLineFactory(number="10")
    OrderLineFactory(order=line.order, number="20")
    contact_for(line, language="de")
    context = preview_context(order=line.order, kind="maintenance_summary", channel="email", locale="de")

    rendered = message_render(kind="maintenance_summary", channel="email", locale="de", context=context)

    assert '<html lang="de">' in rendered.html
    for item in context["items"]:
        reference = f"{item['order_number']}/{item['line_number']}"
        assert rendered.html.count(reference) == 1  # in the table, not again as a paragraph
        assert reference in rendered.text
