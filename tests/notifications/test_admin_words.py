"""The notification admin as a new user reads it: rules list their criticalities, priorities and
recipients in words, a template names the variables it may use, and a maintenance window's
source system is chosen among the registered ones (a typo would hold nothing)."""

import pytest
from django.urls import reverse

from integrations.models import MessageFormat, SourceKind, SourceSystem, Transport
from notifications.defaults import default_rules_seed
from notifications.models import MaintenanceWindow, MessageTemplate

pytestmark = pytest.mark.django_db


def test_the_rule_list_says_what_each_rule_covers_in_words(client, boss):
    default_rules_seed()

    page = client.get(reverse("admin:notifications_notificationrule_changelist")).content.decode()

    assert "A: equipment down or unsafe" in page
    assert "Field technician" in page
    assert "any" in page
    assert '["A"]' not in page and "[&quot;A&quot;]" not in page


def test_a_template_names_the_variables_it_may_use(client, boss):
    template = MessageTemplate.objects.create(event_kind="status_reached", channel="email", locale="en", body_text="Hi")

    page = client.get(reverse("admin:notifications_messagetemplate_change", args=[template.pk])).content.decode()

    for name in ("order_number", "status_link", "eta", "recipient_name"):
        assert f"{{{{ {name} }}}}" in page


def window(**fields) -> dict:
    return {
        "name": "ERP upgrade",
        "starts_at_0": "2026-11-02",
        "starts_at_1": "09:00:00",
        "ends_at_0": "2026-11-02",
        "ends_at_1": "11:00:00",
        **fields,
    }


def test_a_window_holds_a_registered_source_only(client, boss):
    SourceSystem.objects.create(
        code="SAP-ERP",
        name="SAP",
        kind=SourceKind.ERP,
        transport=Transport.WEBHOOK,
        message_format=MessageFormat.CANONICAL_JSON,
        secret="s" * 32,
    )
    url = reverse("admin:notifications_maintenancewindow_add")

    typo = client.post(url, window(source_system="SAP ERP"))
    known = client.post(url, window(source_system="SAP-ERP"))

    assert typo.status_code == 200 and "Select a valid choice" in typo.content.decode()
    assert known.status_code == 302
    assert list(MaintenanceWindow.objects.values_list("source_system", flat=True)) == ["SAP-ERP"]
