"""Who may do what, where: every role (the groups migrate creates) × every back-office action ×
a line in the person's scope and one outside it, against an explicit table of status codes.

Scope is one region (guardian object permission orders.work_in_region on EMEA); the Americas
line is out of scope and must look like it does not exist (404) to anyone allowed to act at all.
On list pages (queue, approvals) scope decides what is listed, not the status code.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from guardian.shortcuts import assign_perm

from overrides.models import OverrideRequest, StaleAlert, StaleStatusRule
from overrides.services.requests import override_request_create
from tests.factories import OrderLineFactory, RegionFactory, UserFactory
from tests.overrides.approving import approve_through_preview

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "viewer", "planner", "supervisor", "auditor", "integration", "admin")
IN, OUT = "in scope", "out of scope"

# (in scope, out of scope) per role, in the order of ROLES.
# 200 shown · 302 done (or, for anonymous, sent to the back-office login) · 403 not allowed · 404 out of scope
EXPECTED = {
    #                    anonymous   viewer      planner     supervisor  auditor     integration admin
    "view queue":       ((302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200)),
    "view line":        ((302, 302), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404)),
    "request override": ((302, 302), (403, 403), (302, 404), (302, 404), (403, 403), (403, 403), (302, 404)),
    "approve override": ((302, 302), (403, 403), (403, 403), (302, 404), (403, 403), (403, 403), (302, 404)),
    "suppress event":   ((302, 302), (403, 403), (302, 404), (302, 404), (403, 403), (403, 403), (302, 404)),
    "view approvals":   ((302, 302), (200, 200), (200, 200), (200, 200), (200, 200), (403, 403), (200, 200)),
    "API order detail": ((403, 403), (200, 404), (200, 404), (200, 404), (200, 404), (403, 403), (200, 404)),
}  # fmt: skip

CASES = [
    pytest.param(role, action, scope, codes[ROLES.index(role)][scope == OUT], id=f"{role}-{action}-{scope}")
    for action, codes in EXPECTED.items()
    for role in ROLES
    for scope in (IN, OUT)
]


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Production-strength hashing costs a good part of a second for every person a test makes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db, advance):
    """A packed line in EMEA and one in the Americas, each with an open stale alert and a
    backwards override waiting for approval, asked by a planner who works on both regions."""
    emea = RegionFactory(code="emea", name="Europe, Middle East and Africa")
    americas = RegionFactory(code="americas", name="Americas")
    requester = _member("planner", "requester")
    lines = {}
    for scope, region in ((IN, emea), (OUT, americas)):
        assign_perm("orders.work_in_region", requester, region)
        line = OrderLineFactory(order__account__region=region)
        advance(line, "released", "packed")
        _open_alert(line)
        request = override_request_create(
            user=requester,
            line_ids=[line.pk],
            target_status="picking",
            reason_code="data_correction",
            justification="Goods issue booked on the wrong delivery.",
        )
        assert request.state == OverrideRequest.State.PENDING
        lines[scope] = {"line": line, "request": request, "event": line.events.get(to_status="packed")}
    return {"emea": emea, **lines}


def _member(role: str, username: str):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    return user


def _open_alert(line) -> StaleAlert:
    rule, _created = StaleStatusRule.objects.get_or_create(status="packed", threshold=timedelta(hours=4))
    now = timezone.now()
    return StaleAlert.objects.create(
        line=line, rule=rule, status="packed", status_since=now - timedelta(hours=6), opened_at=now
    )


def _act(client, action: str, target: dict):
    line, request, event = target["line"], target["request"], target["event"]
    justification = "The carrier confirmed the pick-up by phone."
    if action == "view queue":
        return client.get("/backoffice/")
    if action == "view line":
        return client.get(f"/backoffice/lines/{line.pk}/")
    if action == "request override":
        post = {"target_status": "picking", "reason": "data_correction", "justification": justification}
        # the line has a pending request already: the form asks to confirm asking anyway
        return client.post(f"/backoffice/lines/{line.pk}/", {**post, "confirm_conflict": "on"})
    if action == "approve override":
        return approve_through_preview(client, request.pk, "Checked.")
    if action == "suppress event":
        post = {"event": event.pk, "reason": "duplicate_event", "justification": justification}
        return client.post(f"/backoffice/lines/{line.pk}/hide-event/", post)
    if action == "view approvals":
        return client.get("/backoffice/approvals/")
    if action == "API order detail":
        return client.get(f"/api/v1/orders/{line.order.public_id}/")
    raise AssertionError(action)


@pytest.mark.parametrize(("role", "action", "scope", "expected"), CASES)
def test_permission_matrix(client, world, role, action, scope, expected):
    # given a person in the role, working on EMEA only
    if role != "anonymous":
        person = _member(role, role)
        assign_perm("orders.work_in_region", person, world["emea"])
        client.force_login(person)
    target = world[scope]

    # when they act on the line in or out of their scope
    response = _act(client, action, target)

    # then the answer is the one in the table
    assert response.status_code == expected
    if role == "anonymous" and expected == 302:
        assert response["Location"].startswith("/backoffice/login/?next=")
    if action in ("view queue", "view approvals") and expected == 200:
        # a list page shows the line only when it is in scope
        label = f"{target['line'].order.number}/{target['line'].number}"
        text = re.sub(r"<[^>]+>", "", response.content.decode())  # the order and line numbers are two links
        assert (label in text) == (scope == IN)
