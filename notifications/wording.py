"""The wording shipped with the product, per event and channel, translated in locale/.

Each text is a Django template (the same syntax as the templates edited in the admin); its
variables are listed in VARIABLES. A database template for the locale (or its fallback) wins.
"""

from django.utils.translation import gettext_lazy as _

from notifications.models import EventKind

VARIABLES = (
    "recipient_name",
    "order_number",
    "customer_reference",
    "line_number",
    "part_number",
    "part_description",
    "quantity",
    "status",
    "previous_status",
    "eta",
    "previous_eta",
    "site_name",
    "status_link",
    "alert_level",
    "discrepancy_summary",
    "window_name",
    "items_text",
    "items_count",
    "items_count_text",
)

# kind -> (email subject, email text, SMS text)
DEFAULTS = {
    EventKind.STATUS_REACHED: (
        _("Order {{ order_number }}: {{ status }}"),
        _(
            "Hello {{ recipient_name }},\n\nline {{ line_number }} of order {{ order_number }} "
            "({{ part_description }}, part {{ part_number }}) is now: {{ status }}."
            "{% if eta %}\nExpected: {{ eta }}.{% endif %}"
        ),
        _(
            "Order {{ order_number }}: {{ part_description }} is now “{{ status }}”."
            "{% if eta %} ETA {{ eta }}.{% endif %} {{ status_link }}"
        ),
    ),
    EventKind.ETA_SLIPPED: (
        _("Order {{ order_number }}: new expected date"),
        _(
            "Hello {{ recipient_name }},\n\n{{ part_description }} (part {{ part_number }}) of order "
            "{{ order_number }} will arrive later than planned.\nNow expected: {{ eta }} (was {{ previous_eta }})."
        ),
        _(
            "Order {{ order_number }}: {{ part_description }} is late. New ETA {{ eta }} "
            "(was {{ previous_eta }}). {{ status_link }}"
        ),
    ),
    EventKind.EXCEPTION: (
        _("Order {{ order_number }}: delayed"),
        _(
            "Hello {{ recipient_name }},\n\nsomething is holding up {{ part_description }} (part {{ part_number }}) "
            "of order {{ order_number }}. Our team is working on it and will keep you informed."
        ),
        _("Order {{ order_number }}: a problem holds up {{ part_description }}. We are on it. {{ status_link }}"),
    ),
    EventKind.ALERT_OPENED: (
        _("Stale: order {{ order_number }} line {{ line_number }}"),
        _(
            "Order {{ order_number }} line {{ line_number }} (part {{ part_number }}) has been “{{ status }}” "
            "for longer than its rule allows. Please look into it."
        ),
        _("Stale: order {{ order_number }} line {{ line_number }} ({{ part_number }}) is “{{ status }}” too long."),
    ),
    EventKind.ALERT_ESCALATED: (
        _("Escalated: order {{ order_number }} line {{ line_number }}"),
        _(
            "Nobody has acted on the stale line {{ line_number }} of order {{ order_number }} "
            "(part {{ part_number }}, “{{ status }}”): it is escalated to level {{ alert_level }}."
        ),
        _(
            "Escalated to level {{ alert_level }}: order {{ order_number }} line {{ line_number }} "
            "still “{{ status }}”."
        ),
    ),
    EventKind.DISCREPANCY_OPENED: (
        _("Discrepancy: order {{ order_number }} line {{ line_number }}"),
        _("A discrepancy was opened on line {{ line_number }} of order {{ order_number }}: {{ discrepancy_summary }}"),
        _("Discrepancy on order {{ order_number }} line {{ line_number }}: {{ discrepancy_summary }}"),
    ),
    EventKind.OVERRIDE_APPLIED: (
        _("Override: order {{ order_number }} line {{ line_number }}"),
        _(
            "An override set line {{ line_number }} of order {{ order_number }} (part {{ part_number }}) "
            "to “{{ status }}” (was “{{ previous_status }}”)."
        ),
        _("Override: order {{ order_number }} line {{ line_number }} set to “{{ status }}”."),
    ),
    EventKind.DELIVERY_VERIFIED: (
        _("Order {{ order_number }}: received on site"),
        _(
            "Hello {{ recipient_name }},\n\n{{ part_description }} (part {{ part_number }}) of order "
            "{{ order_number }} was delivered and confirmed on site."
        ),
        _("Order {{ order_number }}: {{ part_description }} was delivered and confirmed on site."),
    ),
    EventKind.LINK_RENEWAL: (
        _("Your link to follow order {{ order_number }}"),
        _("Hello {{ recipient_name }},\n\nhere is a fresh link to follow order {{ order_number }}."),
        _("Your new link to follow order {{ order_number }}: {{ status_link }}"),
    ),
    EventKind.DIGEST: (
        _("Your daily update: {{ items_count_text }}"),
        _("Hello {{ recipient_name }},\n\nwhere your parts stand now:\n\n{{ items_text }}"),
        _("Daily update: {{ items_text }}"),
    ),
    EventKind.MAINTENANCE_SUMMARY: (
        _("Catch-up after planned maintenance"),
        _(
            "Hello {{ recipient_name }},\n\nduring planned maintenance ({{ window_name }}) we held back our "
            "messages. Where your parts stand now:\n\n{{ items_text }}"
        ),
        _("After planned maintenance: {{ items_text }} {{ status_link }}"),
    ),
    EventKind.TEST: (
        _("Test message"),
        _("Hello {{ recipient_name }},\n\nthis is a test message about order {{ order_number }}."),
        _("Test message about order {{ order_number }}."),
    ),
}


def default_wording(kind: str, channel: str) -> tuple[str, str]:
    """(subject, text) of the shipped wording in the active language."""
    subject, email_text, sms_text = DEFAULTS[kind]
    if channel == "sms":
        return "", str(sms_text)
    return str(subject), str(email_text)
