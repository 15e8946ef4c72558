"""The Django admin as every role: who may open which order-related page, in and out of scope.

The admin is for configuration people (admin and integration roles, superusers); planners and
supervisors work in the back office. Every person below is staff anyway (the worst case: someone
was given admin access), scoped to EMEA with a guardian grant; each order-related model has one
record in EMEA and one in the Americas. Out of scope answers 404 to anyone who may see that kind
of record at all, and 403 first to anyone who may not; a list shows only what is in scope; the
dry run and the sheet upload treat a line out of scope as unknown.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from integrations.models import InboundMessage, SourceSystem, StatusMapping
from orders.models import EventSuppression, OutboxDelivery, OutboxEvent
from orders.services import Actor, apply_status_update
from orders.services.events import Provenance
from overrides.models import Discrepancy, ReconciliationItem, ReconciliationRun, StaleAlert, StaleStatusRule
from overrides.services.requests import override_request_create
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "not staff", "viewer", "planner", "supervisor", "auditor", "integration", "admin", "superuser")
IN, OUT = "in scope", "out of scope"

# (in scope, out of scope) per role, in the order of ROLES. "not staff" is a planner without admin
# access, as the back-office people are. A list or a form page has one code for both scopes; what
# a list shows is checked below the table.
# 200 shown · 302 sent to the admin login · 403 may not see this kind of record · 404 out of scope
EXPECTED = {
    #                        anonymous   not staff   viewer      planner     supervisor  auditor     integration admin       superuser
    "order list":           ((302, 302), (302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200), (200, 200)),
    "order page":           ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "order history":        ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "line list":            ((302, 302), (302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200), (200, 200)),
    "line page":            ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "line history":         ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "line version":         ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "status event list":    ((302, 302), (302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200), (200, 200)),
    "status event page":    ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "suppression list":     ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (200, 200)),
    "suppression page":     ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (200, 200)),
    "outbox event list":    ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (200, 200), (200, 200)),
    "outbox event page":    ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (200, 404), (200, 200)),
    "outbox delivery list": ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (200, 200), (200, 200)),
    "outbox delivery page": ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (403, 403), (200, 404), (200, 200)),
    "stale alert list":     ((302, 302), (302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200), (200, 200)),
    "stale alert page":     ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "discrepancy list":     ((302, 302), (302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200), (200, 200)),
    "discrepancy page":     ((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "override request list":((302, 302), (302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200), (200, 200)),
    "override request page":((302, 302), (302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    # a run is in scope when it lists a mismatch on a line in scope (or the person started it)
    "reconciliation list":  ((302, 302), (302, 302), (403, 403), (403, 403), (200, 200), (200, 200), (403, 403), (200, 200), (200, 200)),
    "reconciliation page":  ((302, 302), (302, 302), (403, 403), (403, 403), (200, 404), (200, 404), (403, 403), (200, 404), (200, 200)),
    "inbound message list": ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (200, 200), (200, 200), (200, 200)),
    "inbound message page": ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (200, 404), (200, 404), (200, 200)),
    "dry run":              ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (200, 200), (200, 200), (200, 200)),
    "sheet upload":         ((302, 302), (302, 302), (403, 403), (403, 403), (403, 403), (403, 403), (200, 200), (200, 200), (200, 200)),
}  # fmt: skip

# page kind -> (admin URL name prefix, the key of the world's record it opens)
MODELS = {
    "order": ("orders_order", "order"),
    "line": ("orders_orderline", "line"),
    "status event": ("orders_statusevent", "event"),
    "suppression": ("orders_eventsuppression", "suppression"),
    "outbox event": ("orders_outboxevent", "outbox"),
    "outbox delivery": ("orders_outboxdelivery", "delivery"),
    "stale alert": ("overrides_stalealert", "alert"),
    "discrepancy": ("overrides_discrepancy", "discrepancy"),
    "override request": ("overrides_overriderequest", "request"),
    "reconciliation": ("overrides_reconciliationrun", "run"),
    "inbound message": ("integrations_inboundmessage", "message"),
}
FORM_PAGES = {"dry run": "admin:integrations_dry_run", "sheet upload": "admin:integrations_upload_sheet"}
ORDER_NUMBERS = {IN: "SO-EMEA-0001", OUT: "SO-AMER-0001"}

SCOPES = {page: (IN,) if page.endswith(" list") else (IN, OUT) for page in EXPECTED}
# A form page "in scope" is tried with a message (or sheet) about the line in scope, "out of
# scope" with one about the other region's line: that line must behave as unknown.
UNKNOWN = "no line matches"


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Production-strength hashing costs a good part of a second for every person a test makes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, advance, t0):
    """Per region, a packed line whose first step came from an inbound message, with an open
    stale alert, a discrepancy, a pending override request, a hidden event, an outbox row with its
    delivery and a reconciliation run that lists the line."""
    emea = RegionFactory(code="emea", name="Europe, Middle East and Africa")
    americas = RegionFactory(code="americas", name="Americas")
    requester = _member("planner", "requester")
    source = SourceSystem.objects.create(code="ewm-test", name="EWM", kind="wms", message_format="canonical_json")
    depot = SourceSystem.objects.create(
        code="depot-test", name="Depot", kind="depot", message_format="csv_depot", transport="file"
    )
    StatusMapping.objects.create(source=depot, external_code="VERS", status="shipped")
    rule = StaleStatusRule.objects.create(status="packed", threshold=timedelta(hours=4))
    now = timezone.now()
    world = {"emea": emea, "sources": {"dry run": source, "sheet upload": depot}, "shipped_at": t0 + timedelta(days=1)}
    for scope, region in ((IN, emea), (OUT, americas)):
        assign_perm("orders.work_in_region", requester, region)
        line = OrderLineFactory(order__number=ORDER_NUMBERS[scope], order__account__region=region)
        message = InboundMessage.objects.create(
            source=source,
            message_id=f"msg-{line.order.number}",
            transport="webhook",
            raw=f'{{"order": "{line.order.number}"}}',
        )
        apply_status_update(
            line_id=line.pk,
            status="released",
            occurred_at=t0,
            actor=Actor.integration(source.code),
            provenance=Provenance(source_system=source.code, inbound_message_id=message.pk),
        )
        advance(line, "packed")
        event = line.events.get(to_status="packed")
        run = ReconciliationRun.objects.create(source_code=source.code, since=t0, until=t0 + timedelta(hours=1))
        ReconciliationItem.objects.create(
            run=run, line=line, current_status="packed", proposed_status="shipped", proposed_occurred_at=t0
        )
        world[scope] = {
            "order": line.order,
            "line": line,
            "event": event,
            "message": message,
            "suppression": EventSuppression.objects.create(
                event=line.events.get(to_status="released"), suppressed_by=requester, reason_code="duplicate_event"
            ),
            "outbox": OutboxEvent.objects.filter(order=line.order).first(),
            "delivery": OutboxDelivery.objects.filter(event__order=line.order).first(),
            "alert": StaleAlert.objects.create(
                line=line, rule=rule, status="packed", status_since=now - timedelta(hours=6), opened_at=now
            ),
            "discrepancy": Discrepancy.objects.create(
                kind=Discrepancy.Kind.SOURCES_DISAGREE,
                line=line,
                summary="EWM shipped, SAP not",
                opened_at=now,
                due_at=now + timedelta(hours=2),
                fingerprint=f"fp-{line.pk}",
            ),
            "request": override_request_create(
                user=requester,
                line_ids=[line.pk],
                target_status="picking",
                reason_code="data_correction",
                justification="Goods issue booked on the wrong delivery.",
            ),
            "run": run,
        }
    return world


def _member(role: str, username: str, *, is_staff: bool = True):
    user = UserFactory(username=username, is_staff=is_staff)
    user.groups.add(Group.objects.get(name=role))
    return user


def _url(page: str, target: dict) -> str:
    if page in FORM_PAGES:
        return reverse(FORM_PAGES[page])
    if page == "line version":
        line = target["line"]
        return reverse("admin:orders_orderline_simple_history", args=[line.pk, line.history.first().history_id])
    kind, view = page.rsplit(" ", 1)
    prefix, key = MODELS[kind]
    if view == "list":
        return reverse(f"admin:{prefix}_changelist")
    return reverse(f"admin:{prefix}_{'change' if view == 'page' else 'history'}", args=[target[key].pk])


def _change_url(page: str, target: dict) -> str:
    prefix, key = MODELS[page.removesuffix(" list")]
    return reverse(f"admin:{prefix}_change", args=[target[key].pk])


@pytest.mark.parametrize("page", EXPECTED)
def test_admin_permission_matrix(client, world, page):
    # given a staff person in each role, working on EMEA only (and a superuser, and nobody)
    people = _people(world["emea"])
    answers, leaks = {}, []
    for role in ROLES:
        client.logout()
        if people[role] is not None:
            client.force_login(people[role])
        for scope in SCOPES[page]:
            url = _url(page, world[scope])

            # when they open the admin page of a record in or out of their scope (or try a
            # message about a line in or out of their scope)
            if page in FORM_PAGES:
                response = client.post(url, _form(page, world, world[scope]["line"]))
            else:
                response = client.get(url)

            answers[role, scope] = response.status_code
            leaks += _leaks(page, role, url, response, world, scope)

    # then each answer is the one in the table, and a page shows nothing out of scope
    expected = {(role, scope): EXPECTED[page][ROLES.index(role)][scope == OUT] for role, scope in answers}
    assert answers == expected
    assert leaks == []


def _people(emea) -> dict:
    people = {"anonymous": None, "superuser": UserFactory(username="root", is_staff=True, is_superuser=True)}
    for role in ROLES[1:-1]:
        person = _member("planner" if role == "not staff" else role, role, is_staff=role != "not staff")
        assign_perm("orders.work_in_region", person, emea)
        people[role] = person
    return people


def _form(page: str, world: dict, line) -> dict:
    """A dry run of a canonical message, or of a depot sheet, shipping `line`."""
    source, shipped_at = world["sources"][page], world["shipped_at"]
    if page == "dry run":
        status = {"order": line.order.number, "line": line.number, "status": "shipped"}
        return {
            "source": source.pk,
            "payload": json.dumps({"statuses": [{**status, "occurred_at": shipped_at.isoformat()}]}),
        }
    sheet = f"order,line,status,time\n{line.order.number},{line.number},VERS,{shipped_at:%Y-%m-%d %H:%M}\n"
    return {"source": source.pk, "sheet": SimpleUploadedFile("sheet.csv", sheet.encode()), "dry_run": "1"}


def _leaks(page: str, role: str, url: str, response, world, scope: str = IN) -> list[tuple[str, str]]:
    """What a page shows that it should not (or misses), as (role, what) pairs."""
    if response.status_code == 302:
        return [] if response["Location"] == f"/admin/login/?next={url}" else [(role, response["Location"])]
    if response.status_code != 200:
        return []
    content, leaks = response.content.decode(), []
    if page in FORM_PAGES:
        # the other region's line is unknown to the person (the form echoes what they typed)
        hidden = scope == OUT and role != "superuser"
        if (UNKNOWN in content) != hidden:
            leaks.append((role, f"{scope} line {'known' if hidden else 'unknown'}"))
        return leaks
    if page.endswith(" list"):
        # a list shows the record in scope, and the other only to someone whose scope is everything
        if _change_url(page, world[IN]) not in content:
            leaks.append((role, "in-scope record missing"))
        if (_change_url(page, world[OUT]) in content) != (role == "superuser"):
            leaks.append((role, "out-of-scope record listed"))
    if role != "superuser" and ORDER_NUMBERS[OUT] in content:
        # nothing of the other region's order shows anywhere, not even inside a record in scope
        leaks.append((role, "out-of-scope order number shown"))
    return leaks
