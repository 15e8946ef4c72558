"""Back-office demo: stale-status rules, an escalation ladder, a discrepancy rule and one demo
person per role (development only), then a first scan so the exception queue has work in it."""

import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from guardian.shortcuts import assign_perm

from orders.models import Region
from overrides.models import DiscrepancyRule, EscalationStep, StaleStatusRule
from overrides.services.alerts import stale_alerts_scan
from overrides.services.discrepancies import discrepancies_scan

# status, criticality, threshold in hours (the glossary: A parts are machine-down, every hour counts)
STALE_RULES = [
    ("awaiting_part", "A", 4),
    ("awaiting_part", "B", 24),
    ("awaiting_part", "C", 48),
    ("picking", "A", 2),
    ("packed", "A", 4),
    ("in_transit", "A", 24),
    ("on_hold", "", 24),
    ("exception", "", 8),
]
LADDER = [(1, "planner", 1), (2, "supervisor", 4), (3, "admin", 12)]
# username, role, regions in scope (None: every region)
PEOPLE = [
    ("planner-emea", "planner", ["emea"]),
    ("planner-amer", "planner", ["amer"]),
    ("supervisor", "supervisor", None),
    # A second supervisor: a reconciliation one of them starts, the other applies (four eyes).
    ("supervisor-2", "supervisor", None),
    ("auditor", "auditor", None),
    ("integrator", "integration", None),
]
# The roles that work in the Django admin (configuration); the others sign in to the back office.
STAFF_ROLES = {"admin", "integration"}


class Command(BaseCommand):
    help = "Create the back-office demo configuration and demo people (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="Where the site is served: print the start line naming it.")
        parser.add_argument(
            "--start-line",
            action="store_true",
            help="Only print the start line (with --url), once the local Twilio fake started beside the server "
            "answers: `make run` prints it last, right before the server's own lines.",
        )

    def handle(self, *args, url: str = "", start_line: bool = False, **options):
        if not start_line:
            self._configure()
        elif settings.TWILIO_API_URL:
            _wait_until_listening(settings.TWILIO_API_URL)
        if url:
            self.stdout.write(self.style.SUCCESS(start_line_text(url.rstrip("/"))))

    @transaction.atomic
    def _configure(self):
        if not StaleStatusRule.objects.exists():
            StaleStatusRule.objects.bulk_create(
                StaleStatusRule(status=status, criticality=criticality, threshold=timedelta(hours=hours))
                for status, criticality, hours in STALE_RULES
            )
        for level, group, hours in LADDER:
            EscalationStep.objects.get_or_create(
                level=level,
                defaults={"assignee_group": Group.objects.get(name=group), "response_time": timedelta(hours=hours)},
            )
        DiscrepancyRule.objects.get_or_create(
            name="EWM Rotterdam shipped, SAP not",
            defaults={"leading_source": "EWM-RTM", "ledger_source": "SAP-ERP", "grace": timedelta(minutes=30)},
        )
        if settings.DEBUG:
            self._people()
        alerts = stale_alerts_scan()
        cases = discrepancies_scan()
        self.stdout.write(f"Back office: {alerts.opened} stale-status alert(s) and {cases} discrepancy case(s) open.")

    def _people(self) -> None:
        users = get_user_model()
        for username, role, regions in PEOPLE:
            if users.objects.filter(username=username).exists():
                continue
            user = users.objects.create_user(username=username, password="demo", is_staff=role in STAFF_ROLES)
            user.groups.add(Group.objects.get(name=role))
            if regions is None:
                assign_perm("orders.work_in_region", user)  # a global scope grant: every region
            for region in Region.objects.filter(code__in=regions or []):
                assign_perm("orders.work_in_region", user, region)
            self.stdout.write(f"Demo person {username} / demo ({role}) created (development only).")


def _wait_until_listening(url: str, *, seconds: float = 20) -> None:
    """Until a local helper (the Twilio fake) accepts connections, so that its own start-up
    line is printed before ours; a remote address or a helper that never comes is not awaited."""
    address = urlsplit(url)
    if address.hostname not in ("127.0.0.1", "localhost") or not address.port:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address.hostname, address.port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)


def start_line_text(url: str) -> str:
    """Where to go and as whom: the back office, each demo person by role, the admin, the portal
    and the technician pages (their people are seed_demo_portal's)."""
    by_role: dict[str, list[str]] = {}
    for username, role, _regions in PEOPLE:
        by_role.setdefault(role, []).append(username)
    back_office = [f"{', '.join(by_role[role])} ({role})" for role in by_role if role not in STAFF_ROLES]
    admin = [*(name for role in sorted(STAFF_ROLES) for name in by_role.get(role, [])), "demo (superuser)"]
    if not settings.DEBUG:
        return f"Serving on {url}/ : back office {url}/backoffice/ , admin {url}/admin/"
    return (
        f"Serving on {url}/ : back office {url}/backoffice/ as {'; '.join(back_office)}; "
        f"admin {url}/admin/ as {', '.join(admin)}; customer portal {url}/portal/ as customer, dealer; "
        f"technician pages {url}/tech/ as technician; every password: demo. API docs: {url}/api/docs/"
    )
