"""The rule set shipped with the product: loaded by `manage.py seed_notification_rules` (which
`make run` calls); rules that exist by name are left as people edited them."""

from datetime import timedelta

from django.db import transaction

from notifications.models import EventKind, NotificationRule, RuleChannel

REQUESTER, TECHNICIAN, PLANNER = "requester", "technician", "planner"
ON_THE_WAY = ["shipped", "out_for_delivery", "delivered"]

DEFAULT_RULES = [
    {
        "name": "A parts: SMS at once when the part moves",
        "event_kind": EventKind.STATUS_REACHED,
        "statuses": ["awaiting_part", *ON_THE_WAY],
        "criticalities": ["A"],
        "roles": [REQUESTER, TECHNICIAN],
        "channel": RuleChannel.SMS,
        "critical": True,
    },
    {
        "name": "P1 orders: SMS at once when the part ships or arrives",
        "event_kind": EventKind.STATUS_REACHED,
        "statuses": ["shipped", "delivered"],
        "priorities": ["P1"],
        "roles": [REQUESTER],
        "channel": RuleChannel.SMS,
        "critical": True,
    },
    {
        "name": "B parts: email when the part ships or arrives",
        "event_kind": EventKind.STATUS_REACHED,
        "statuses": ON_THE_WAY,
        "criticalities": ["B"],
        "roles": [REQUESTER],
        "channel": RuleChannel.EMAIL,
        "throttle": timedelta(minutes=10),
    },
    {
        "name": "C parts: daily digest",
        "event_kind": EventKind.STATUS_REACHED,
        "statuses": ["awaiting_part", *ON_THE_WAY],
        "criticalities": ["C"],
        "roles": [REQUESTER],
        "channel": RuleChannel.DIGEST,
    },
    {
        "name": "A parts: SMS when the ETA slips by more than 2 hours",
        "event_kind": EventKind.ETA_SLIPPED,
        "criticalities": ["A"],
        "roles": [REQUESTER, TECHNICIAN],
        "channel": RuleChannel.SMS,
        "critical": True,
        "eta_tolerance": timedelta(hours=2),
    },
    {
        "name": "B and C parts: email when the ETA slips by more than a day",
        "event_kind": EventKind.ETA_SLIPPED,
        "criticalities": ["B", "C"],
        "roles": [REQUESTER],
        "channel": RuleChannel.EMAIL,
        "eta_tolerance": timedelta(days=1),
        "throttle": timedelta(minutes=30),
    },
    {
        "name": "A parts: SMS on an exception",
        "event_kind": EventKind.EXCEPTION,
        "criticalities": ["A"],
        "roles": [REQUESTER, PLANNER],
        "channel": RuleChannel.SMS,
        "critical": True,
    },
    {
        "name": "B and C parts: email on an exception",
        "event_kind": EventKind.EXCEPTION,
        "criticalities": ["B", "C"],
        "roles": [REQUESTER, PLANNER],
        "channel": RuleChannel.EMAIL,
        "throttle": timedelta(minutes=10),
    },
    {
        "name": "Stale alert: email the planner",
        "event_kind": EventKind.ALERT_OPENED,
        "roles": [PLANNER],
        "channel": RuleChannel.EMAIL,
    },
    {
        "name": "Escalated alert on an A part: SMS the planner",
        "event_kind": EventKind.ALERT_ESCALATED,
        "criticalities": ["A"],
        "roles": [PLANNER],
        "channel": RuleChannel.SMS,
        "critical": True,
    },
    {
        "name": "Escalated alert: email the planner",
        "event_kind": EventKind.ALERT_ESCALATED,
        "criticalities": ["B", "C"],
        "roles": [PLANNER],
        "channel": RuleChannel.EMAIL,
    },
    {
        "name": "Discrepancy: email the planner",
        "event_kind": EventKind.DISCREPANCY_OPENED,
        "roles": [PLANNER],
        "channel": RuleChannel.EMAIL,
    },
    {
        "name": "Override: email the planner",
        "event_kind": EventKind.OVERRIDE_APPLIED,
        "roles": [PLANNER],
        "channel": RuleChannel.EMAIL,
        "throttle": timedelta(minutes=10),
    },
    {
        "name": "Delivery verified: email the requester and planner",
        "event_kind": EventKind.DELIVERY_VERIFIED,
        "roles": [REQUESTER, PLANNER],
        "channel": RuleChannel.EMAIL,
    },
]


def default_rules_seed() -> int:
    """Create the shipped rules that do not exist yet (by name). Returns how many it created."""
    created = 0
    with transaction.atomic():
        existing = set(NotificationRule.objects.values_list("name", flat=True))
        for fields in DEFAULT_RULES:
            if fields["name"] in existing:
                continue
            rule = NotificationRule(**fields)
            rule.full_clean()
            rule.save()
            created += 1
    return created
