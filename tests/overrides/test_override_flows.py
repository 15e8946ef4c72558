"""Override flows: what waits for a second person (four-eyes) and what applies at once, approval,
rejection, withdrawal, the timeline that names both people, and overrides held until a source
confirms them. Driven through the services and the back-office pages, never mocks."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from guardian.shortcuts import assign_perm

from orders.models import EventOutcome, OrderLine
from orders.services import apply_status_update
from overrides.models import Discrepancy, OverrideReason, OverrideRequest
from overrides.services.reasons import DEFAULT_REASONS, override_reasons_sync
from overrides.services.requests import (
    override_request_approve,
    override_request_create,
    override_request_reject,
    override_request_withdraw,
)
from tests.factories import OrderLineFactory, PartFactory, RegionFactory, UserFactory
from tests.overrides.approving import approve_through_preview

pytestmark = pytest.mark.django_db

JUSTIFICATION = "EWM was down; the warehouse confirmed by e-mail that the part left at 14:10."


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Production-strength hashing costs a good part of a second for every person a test makes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea")


def _person(role: str, region, username: str = ""):
    user = UserFactory(username=username or role)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, region)
    return user


@pytest.fixture
def planner(emea):
    return _person("planner", emea)


@pytest.fixture
def supervisor(emea):
    return _person("supervisor", emea)


def _line(region, criticality: str = "B"):
    return OrderLineFactory(order__account__region=region, part=PartFactory(criticality=criticality))


def _ask(user, lines, target_status: str, **kwargs) -> OverrideRequest:
    return override_request_create(
        user=user,
        line_ids=[line.pk for line in lines],
        target_status=target_status,
        reason_code=kwargs.pop("reason_code", "shipped_outside_system"),
        justification=JUSTIFICATION,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("criticality", "history", "target", "why"),
    [
        ("B", ["released", "packed"], "picking", "moves a line backwards"),
        ("B", ["released", "packed"], "shipped", "advances to Shipped without a source event"),
        ("A", ["released"], "allocated", "A-criticality part"),
    ],
    ids=["backwards", "shipped-without-source-event", "a-criticality"],
)
def test_risky_overrides_wait_for_a_second_person(emea, planner, advance, criticality, history, target, why):
    # given a line SAP has moved along
    line = _line(emea, criticality)
    advance(line, *history)

    # when a planner asks for the override
    request = _ask(planner, [line], target)

    # then it waits for approval, says why, and the line has not moved
    assert request.state == OverrideRequest.State.PENDING
    assert why in request.approval_reason_texts
    line.refresh_from_db()
    assert line.status == history[-1]


def test_a_bulk_override_waits_for_a_second_person(emea, planner, advance):
    # given two released B lines
    lines = [_line(emea), _line(emea)]
    for line in lines:
        advance(line, "released")

    # when a planner asks to allocate both at once
    request = _ask(planner, lines, "allocated")

    # then it waits: a bulk change is four-eyes even when each line alone would not be
    assert request.state == OverrideRequest.State.PENDING
    assert request.approval_reasons == [{"code": "bulk", "params": {"count": 2}}]
    assert request.approval_reason_texts == ["bulk override of 2 lines"]
    assert {line.status for line in request.lines.all()} == {"released"}


def test_a_simple_forward_override_on_a_b_part_with_a_source_event_applies_at_once(emea, planner, advance, sap, t0):
    # given a line SAP shipped and then put in exception, and a carrier scan "in transit" that
    # arrived late (older than the exception): the line stays in exception, remembering the scan
    line = _line(emea, "B")
    advance(line, "released", "shipped", "exception")
    late_scan = apply_status_update(
        line_id=line.pk, status="in_transit", occurred_at=t0 + timedelta(seconds=150), actor=sap
    )
    assert late_scan.outcome == EventOutcome.REMEMBERED

    # when the planner clears the exception by moving the line on to in transit
    request = _ask(planner, [line], "in_transit", reason_code="carrier_confirmed")

    # then no second person is needed: it is applied at once, by the planner alone
    assert (request.state, request.approval_reasons) == (OverrideRequest.State.APPLIED, [])
    line.refresh_from_db()
    assert line.status == "in_transit"
    event = line.events.order_by("sequence").last()
    assert (event.actor_user, event.approved_by, event.reason_code) == (planner, None, "carrier_confirmed")


def test_approval_applies_the_override_and_the_timeline_names_both_people(client, emea, planner, supervisor, advance):
    # given a planner's request to move a packed line back to picking
    line = _line(emea)
    advance(line, "released", "packed")
    request = _ask(planner, [line], "picking", reason_code="data_correction", evidence_reference="INC-4711")

    # when a supervisor approves it on the approvals page
    client.force_login(supervisor)
    response = approve_through_preview(client, request.pk, "Checked with the DC.")

    # then the line is back in picking, the event names the planner as actor and the supervisor as approver
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.status == "picking"
    event = line.events.get(to_status="picking")
    assert (event.actor_user, event.approved_by, event.reason_code, event.source_system) == (
        planner,
        supervisor,
        "data_correction",
        "INC-4711",
    )
    request.refresh_from_db()
    assert (request.state, request.decided_by, request.decision_note) == ("applied", supervisor, "Checked with the DC.")
    # and so does the line's timeline
    page = client.get(f"/backoffice/lines/{line.pk}/").content.decode()
    row = page.split(f'id="event-{event.pk}"')[1].split("</tr>")[0]
    assert '<td class="event-actor">planner' in row
    assert '<td class="event-approver">supervisor</td>' in row


def test_nobody_approves_their_own_request(emea, supervisor, advance):
    # given a supervisor's own backwards request
    line = _line(emea)
    advance(line, "released", "packed")
    request = _ask(supervisor, [line], "picking")

    # when they approve it themselves
    with pytest.raises(PermissionDenied, match="Someone else must approve"):
        override_request_approve(request_id=request.pk, user=supervisor)

    # then it still waits and the line has not moved
    request.refresh_from_db()
    assert request.state == OverrideRequest.State.PENDING
    line.refresh_from_db()
    assert line.status == "packed"


def test_a_planner_cannot_approve(emea, planner, advance):
    # given another planner's pending request
    line = _line(emea)
    advance(line, "released", "packed")
    request = _ask(_person("planner", emea, "other-planner"), [line], "picking")

    # when a planner tries to approve it
    with pytest.raises(PermissionDenied):
        override_request_approve(request_id=request.pk, user=planner)

    # then it still waits
    request.refresh_from_db()
    assert request.state == OverrideRequest.State.PENDING


@pytest.mark.parametrize("note", ["", "   "], ids=["empty", "blank"])
def test_a_rejection_needs_a_note(emea, planner, supervisor, advance, note):
    # given a pending request
    line = _line(emea)
    advance(line, "released", "packed")
    request = _ask(planner, [line], "picking")

    # when the supervisor rejects it without saying why
    with pytest.raises(ValidationError) as raised:
        override_request_reject(request_id=request.pk, user=supervisor, note=note)

    # then it is refused on the note, and the request still waits
    assert "note" in raised.value.message_dict
    request.refresh_from_db()
    assert request.state == OverrideRequest.State.PENDING


def test_a_rejection_with_a_note_leaves_the_line_alone(emea, planner, supervisor, advance):
    # given a pending request
    line = _line(emea)
    advance(line, "released", "packed")
    request = _ask(planner, [line], "picking")

    # when the supervisor rejects it, saying why
    override_request_reject(request_id=request.pk, user=supervisor, note="The pick list shows it packed.")

    # then it is rejected with the note and no event was written
    request.refresh_from_db()
    assert (request.state, request.decided_by, request.decision_note) == (
        "rejected",
        supervisor,
        "The pick list shows it packed.",
    )
    assert not line.events.filter(actor_kind="user").exists()


def test_only_the_requester_withdraws(emea, planner, supervisor, advance):
    # given a planner's pending request
    line = _line(emea)
    advance(line, "released", "packed")
    request = _ask(planner, [line], "picking")

    # when a supervisor tries to withdraw it, then the planner does
    with pytest.raises(PermissionDenied):
        override_request_withdraw(request_id=request.pk, user=supervisor)
    override_request_withdraw(request_id=request.pk, user=planner)

    # then it is withdrawn
    request.refresh_from_db()
    assert request.state == OverrideRequest.State.WITHDRAWN


def test_an_override_held_until_a_source_confirms_survives_a_contradiction_and_clears_on_confirmation(
    emea, planner, advance, sap, django_capture_on_commit_callbacks
):
    # given a line SAP released, which a planner allocates with "hold until a source confirms"
    line = _line(emea)
    advance(line, "released")
    request = _ask(planner, [line], "allocated", reason_code="data_correction", hold_until_source_confirms=True)
    assert request.state == OverrideRequest.State.APPLIED
    line.refresh_from_db()
    assert (line.status, line.held_status) == ("allocated", "allocated")

    # when SAP then says, after the override, that the part is on backorder (a contradiction)
    with django_capture_on_commit_callbacks(execute=True):
        contradiction = apply_status_update(
            line_id=line.pk, status="awaiting_part", occurred_at=timezone.now(), actor=sap
        )

    # then the line keeps the override, and a discrepancy is opened for someone to look at
    assert contradiction.outcome == EventOutcome.CONTESTED
    line.refresh_from_db()
    assert line.status == "allocated"
    assert Discrepancy.objects.filter(line=line, kind=Discrepancy.Kind.OVERRIDE_CONTESTED).exists()

    # when SAP reports picking (past the held status), the source confirms and the hold ends
    confirmation = apply_status_update(line_id=line.pk, status="picking", occurred_at=timezone.now(), actor=sap)
    assert confirmation.outcome == EventOutcome.APPLIED
    line.refresh_from_db()
    assert (line.status, line.held_status) == ("picking", "")


def test_a_held_override_asked_on_the_line_page_is_shown_as_held(client, emea, planner, advance):
    # given a released line
    line = _line(emea)
    advance(line, "released")
    client.force_login(planner)

    # when the planner allocates it on the page, holding it until a source confirms
    client.post(
        f"/backoffice/lines/{line.pk}/",
        {
            "target_status": "allocated",
            "reason": "data_correction",
            "justification": JUSTIFICATION,
            "hold_until_source_confirms": "on",
        },
    )

    # then the line holds it and the page says so
    line.refresh_from_db()
    assert line.held_status == "allocated"
    assert "held until a source confirms" in client.get(f"/backoffice/lines/{line.pk}/").content.decode()


def test_the_default_reasons_exist_after_migrate_and_syncing_again_changes_nothing(db):
    # given the reasons migrate created, one of which an administrator reworded
    OverrideReason.objects.filter(code="customer_request").update(label_en="Asked by the customer")

    # when the sync runs again (every migrate does)
    override_reasons_sync()

    # then every default reason is there once, active, and the reworded label is kept
    assert sorted(OverrideReason.objects.values_list("code", flat=True)) == sorted(code for code, _ in DEFAULT_REASONS)
    assert OverrideReason.objects.get(code="customer_request").label_en == "Asked by the customer"
    assert OverrideReason.objects.get(code="shipped_outside_system").label == "Part left outside any system process"
    assert not OverrideReason.objects.filter(active=False).exists()


def test_overrides_of_lines_out_of_scope_do_not_exist(emea, planner, advance):
    # given a line in another region
    line = OrderLineFactory(order__account__region=RegionFactory(code="apac", name="Asia Pacific"))
    advance(line, "released")

    # when the EMEA planner asks to override it
    with pytest.raises(OrderLine.DoesNotExist):
        _ask(planner, [line], "allocated")

    # then nothing was requested
    assert not OverrideRequest.objects.exists()
