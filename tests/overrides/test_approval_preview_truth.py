"""The approval preview tells what confirming will do, and confirming does exactly that: a line
split since the request is refused (never a crash, never "applied"), a line a source moved to
the target meanwhile is left alone, and another person's requests out of the approver's scope
stay out of sight."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from guardian.shortcuts import assign_perm

from orders.models import EventKind, StatusEvent
from orders.services import Actor, SplitPart, apply_status_update, split_line
from overrides.models import OverrideRequest
from overrides.services.requests import override_request_approve, override_request_create
from tests.factories import OrderLineFactory, PartFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Goods issue was posted on the wrong delivery."


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea", name="EMEA")


@pytest.fixture
def apac(db):
    return RegionFactory(code="apac", name="APAC")


def _person(role: str, *regions, username: str = ""):
    user = UserFactory(username=username or role)
    user.groups.add(Group.objects.get(name=role))
    for region in regions:
        assign_perm("orders.work_in_region", user, region)
    return user


def _ask(user, *lines, target: str = "picking") -> OverrideRequest:
    return override_request_create(
        user=user,
        line_ids=[line.pk for line in lines],
        target_status=target,
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).replace("&#x27;", "'")


def test_a_request_on_a_line_split_since_is_previewed_as_refused_and_confirming_changes_nothing(client, emea, advance):
    # given a request to move a packed line back to picking, and the line split afterwards
    line = OrderLineFactory(order__account__region=emea, quantity=4)
    advance(line, "packed")
    anna = _person("planner", emea, username="anna")
    request = _ask(anna, line)
    split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.person(anna))
    client.force_login(_person("supervisor", emea))

    # when the supervisor asks what approving does, then confirms anyway
    preview = client.post(f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok"})
    confirmed = client.post(
        f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok", "seen": preview.context["preview"].fingerprint}
    )

    # then the preview says the line was split and offers no confirmation; confirming is refused
    # with the same explanation, the request still waits and the line has no override
    assert preview.status_code == 200
    assert "was split since the request" in _text(preview)
    assert "Confirm the approval" not in _text(preview)
    assert confirmed.status_code == 200
    assert "was split since the request" in _text(confirmed)
    assert OverrideRequest.objects.get(pk=request.pk).state == OverrideRequest.State.PENDING
    assert not StatusEvent.objects.filter(line__order=line.order, kind=EventKind.OVERRIDE).exists()


def test_a_preview_seen_before_the_split_and_confirmed_after_it_shows_the_refusal(client, emea, advance):
    # given a supervisor looking at the preview of a request on a packed line
    line = OrderLineFactory(order__account__region=emea, quantity=4)
    advance(line, "packed")
    anna = _person("planner", emea, username="anna")
    request = _ask(anna, line)
    client.force_login(_person("supervisor", emea))
    preview = client.post(f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok"})

    # when the line is split before the confirmation arrives
    split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.person(anna))
    confirmed = client.post(
        f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok", "seen": preview.context["preview"].fingerprint}
    )

    # then the supervisor sees the new preview saying the line was split, and nothing is applied
    assert confirmed.status_code == 200
    assert "was split since the request" in _text(confirmed)
    assert OverrideRequest.objects.get(pk=request.pk).state == OverrideRequest.State.PENDING


def test_approving_a_request_on_a_split_line_is_refused_with_a_reason(emea, advance):
    # given a request on a line split since
    line = OrderLineFactory(order__account__region=emea, quantity=4)
    advance(line, "packed")
    anna = _person("planner", emea, username="anna")
    request = _ask(anna, line)
    split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.person(anna))

    # when a supervisor approves it without looking at a preview (a script, the API)
    with pytest.raises(ValidationError) as refused:
        override_request_approve(request_id=request.pk, user=_person("supervisor", emea))

    # then the refusal says why
    assert "split since the request" in " ".join(refused.value.messages)


def test_the_preview_predicts_the_lines_confirming_changes_and_those_it_leaves(client, emea, advance, sap, t0):
    # given a bulk request to advance two packed lines to shipped, and a source shipping the
    # second line on its own afterwards
    first = OrderLineFactory(order__account__region=emea, part=PartFactory(criticality="B"))
    second = OrderLineFactory(order=first.order, number="20", part=PartFactory(criticality="B"))
    advance(first, "packed")
    advance(second, "packed")
    request = _ask(_person("planner", emea, username="anna"), first, second, target="shipped")
    apply_status_update(line_id=second.pk, status="shipped", occurred_at=t0.replace(hour=12), actor=sap)
    client.force_login(_person("supervisor", emea))

    # when the supervisor previews and confirms
    preview = client.post(f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok"})
    rows = {row.line.pk: row for row in preview.context["preview"].lines}
    client.post(
        f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok", "seen": preview.context["preview"].fingerprint}
    )

    # then each line ends where the preview said it would
    for line in (first, second):
        line.refresh_from_db()
        assert line.status == rows[line.pk].status_after
    assert (first.status, rows[second.pk].outcome) == ("shipped", "unchanged")
    overridden = StatusEvent.objects.filter(line__order=first.order, kind=EventKind.OVERRIDE, outcome="applied")
    assert [event.line_id for event in overridden] == [
        pk for pk, row in rows.items() if row.outcome == "applied" and row.status_after != row.line.status
    ]


def test_requests_the_approver_may_not_see_are_not_named_anywhere(client, emea, apac, advance):
    # given a bulk request over an EMEA and an APAC line by a planner of both regions, and an
    # EMEA planner's request on the same EMEA line
    line = OrderLineFactory(order__account__region=emea)
    other = OrderLineFactory(order__account__region=apac)
    advance(line, "packed")
    advance(other, "packed")
    hidden = _ask(_person("planner", emea, apac, username="secret_apac_planner"), line, other)
    mine = _ask(_person("planner", emea, username="anna"), line)
    client.force_login(_person("supervisor", emea, username="emea_sup"))

    # when the EMEA supervisor previews the EMEA request, and opens the order and the line
    preview = client.post(f"/backoffice/approvals/{mine.pk}/approve/", {"note": ""})
    order_page = client.get(f"/backoffice/orders/{line.order_id}/")
    line_page = client.get(f"/backoffice/lines/{line.pk}/")

    # then the request reaching into APAC, and who asked for it, appear on none of them
    for page in (preview, order_page, line_page):
        assert page.status_code == 200
        assert "secret_apac_planner" not in page.content.decode()
        assert f"request-{hidden.pk}" not in page.content.decode()
    # while the request they may see is still named as waiting on the line
    assert f"request-{mine.pk}" in line_page.content.decode()
