"""The roles of the back office as Django groups, each with the permissions it needs and no more.

Planners, supervisors, viewers and auditors work in the back office (/backoffice/); the Django
admin is for configuration people (the admin and integration roles, superusers), and even there
every order-related page is limited to the person's scope.

Scope (which regions, sites and accounts) is granted per person with object permissions:
orders.work_in_region / work_at_site / work_for_account (django-guardian).
"""

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

VIEW = [
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_statusevent",
    "overrides.view_stalealert",
    "overrides.view_discrepancy",
    "overrides.view_overriderequest",
    "portal.view_statuslink",  # the order's status links on its page
]
PLANNER = [
    *VIEW,
    "orders.override_line_status",  # direct overrides that policy lets through without a second person
    "overrides.add_overriderequest",
    "overrides.change_stalealert",  # acknowledge
    "overrides.change_discrepancy",  # take, resolve
    "portal.change_statuslink",  # revoke or replace a status link
]
SUPERVISOR = [
    *PLANNER,
    "overrides.approve_overriderequest",
    "orders.suppress_statusevent",
    "overrides.view_reconciliationrun",
    "overrides.add_reconciliationrun",
    "overrides.apply_reconciliationrun",
]
AUDITOR = [
    *VIEW,
    "overrides.view_reconciliationrun",
    "overrides.view_accessreview",
    "overrides.add_accessreview",
    "overrides.change_accessreviewitem",
]
INTEGRATION = [
    "integrations.add_inboundmessage",
    "integrations.view_inboundmessage",
    "integrations.view_sourcesystem",
    "integrations.dry_run_inboundmessage",  # the admin's dry run (takes row locks, then rolls back)
    "integrations.upload_depot_sheet",  # the admin's depot sheet upload
]
ADMIN = [
    *SUPERVISOR,
    *AUDITOR,
    *INTEGRATION,
    "integrations.change_sourcesystem",
    "integrations.add_sourcesystem",
    "integrations.add_statusmapping",
    "integrations.change_statusmapping",
    "integrations.view_statusmapping",
    # The outbox in the admin: each handler's deliveries, dead ones delivered again.
    "orders.view_outboxevent",
    "orders.view_outboxdelivery",
    "orders.redeliver_outboxdelivery",
    # The people of an order (who hears of it): seen and kept up to date in the admin, scoped.
    *(f"orders.{action}_ordercontact" for action in ("add", "change", "view", "delete")),
    "overrides.add_stalestatusrule",
    "overrides.change_stalestatusrule",
    "overrides.view_stalestatusrule",
    "overrides.add_escalationstep",
    "overrides.change_escalationstep",
    "overrides.view_escalationstep",
    "overrides.add_discrepancyrule",
    "overrides.change_discrepancyrule",
    "overrides.view_discrepancyrule",
    "overrides.add_overridereason",
    "overrides.change_overridereason",
    "overrides.view_overridereason",
    # Notifications: rules, templates, windows and recipients are configuration; the delivery
    # log is read-only (scoped to the orders in the person's scope).
    *(
        f"notifications.{action}_{model}"
        for model in (
            "notificationrule",
            "messagetemplate",
            "maintenancewindow",
            "recipientpreference",
            "blockedaddress",
        )
        for action in ("add", "change", "view")
    ),
    "notifications.view_notification",
    "notifications.view_deliverylogentry",
]

# The role groups' names as people read them, in their language.
ROLE_LABELS = {
    "viewer": _("viewer"),
    "planner": _("planner"),
    "supervisor": _("supervisor"),
    "auditor": _("auditor"),
    "integration": _("integration"),
    "admin": _("administrator"),
}


def role_label(name: str) -> str:
    return str(ROLE_LABELS.get(name, name))


ROLES: dict[str, list[str]] = {
    "viewer": VIEW,
    "planner": PLANNER,
    "supervisor": SUPERVISOR,
    "auditor": AUDITOR,
    "integration": INTEGRATION,
    "admin": ADMIN,
}


def roles_sync() -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    for name, codes in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(codes))


def _permissions(codes: list[str]) -> list[Permission]:
    wanted = {tuple(code.split(".", 1)) for code in codes}
    found = list(
        Permission.objects.filter(content_type__app_label__in={app for app, _ in wanted}).select_related("content_type")
    )
    permissions = [p for p in found if (p.content_type.app_label, p.codename) in wanted]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in permissions}
    if missing:
        raise LookupError(f"unknown permissions for the roles: {sorted(missing)}")
    return permissions
