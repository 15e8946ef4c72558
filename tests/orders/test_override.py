"""line_status_override: the one way back, for people with the permission and a written reason."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from guardian.shortcuts import assign_perm

from orders.models import StatusEvent
from orders.services import Actor, LineIsSplit, SplitPart, line_status_override, split_line
from tests.factories import OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db

REASON = "Goods issue posted on the wrong delivery; the part is still on the shelf."


@pytest.fixture
def planner(db, line):
    """May override the status of `line` only, through an object permission."""
    user = UserFactory(username="planner")
    assign_perm("orders.override_line_status", user, line)
    return user


def _override(line, user, *, status="picking", reason_text=REASON):
    return line_status_override(
        line_id=line.pk,
        status=status,
        actor=Actor.person(user),
        reason_code="wrong_goods_issue",
        reason_text=reason_text,
        reference="INC-1234",
    )


def test_a_supervisor_moves_a_line_backwards(line, advance, supervisor):
    # given a shipped line, which no source fact can move back to picking
    assert advance(line, "shipped", "picking").outcome == "stale"

    # when a supervisor overrides it to picking
    result = _override(line, supervisor)

    # then the line is back in picking
    assert result.outcome == "applied"
    assert (result.event.from_status, result.event.to_status) == ("shipped", "picking")
    line.refresh_from_db()
    assert line.status == "picking"


def test_the_override_event_records_the_person_and_the_reason(line, advance, supervisor):
    # given a shipped line
    advance(line, "shipped")

    # when a supervisor overrides it
    result = _override(line, supervisor)

    # then the event names the person, the reason and the reference given
    event = StatusEvent.objects.get(pk=result.event.pk)
    assert (event.actor_kind, event.actor_user, event.actor_label) == ("user", supervisor, "supervisor")
    assert (event.reason_code, event.reason_text) == ("wrong_goods_issue", REASON)
    assert event.source_system == "INC-1234"
    assert event.applied_at is not None


@pytest.mark.parametrize("reason_text", ["", "   \n"], ids=["empty", "whitespace"])
def test_an_override_without_a_written_justification_is_refused(line, advance, supervisor, reason_text):
    # given a shipped line
    advance(line, "shipped")

    # when a supervisor overrides it without saying why
    with pytest.raises(ValidationError) as raised:
        _override(line, supervisor, reason_text=reason_text)

    # then it is refused, naming the justification, and the line stays shipped
    assert "reason_text" in raised.value.message_dict
    line.refresh_from_db()
    assert line.status == "shipped"


def test_an_override_needs_a_person(line, advance):
    # given a shipped line
    advance(line, "shipped")

    # when an integration tries to override it
    with pytest.raises(ValidationError):
        line_status_override(
            line_id=line.pk, status="picking", actor=Actor.integration("SAP-ERP"), reason_code="x", reason_text=REASON
        )

    # then the line stays shipped
    line.refresh_from_db()
    assert line.status == "shipped"


def test_an_override_without_the_permission_is_denied(line, advance, outsider):
    # given a shipped line and a person without the override permission
    advance(line, "shipped")
    events_before = StatusEvent.objects.filter(line=line).exclude(kind="start").count()

    # when that person overrides it
    with pytest.raises(PermissionDenied):
        _override(line, outsider)

    # then nothing changes and nothing is recorded
    line.refresh_from_db()
    assert line.status == "shipped"
    assert StatusEvent.objects.filter(line=line).exclude(kind="start").count() == events_before


def test_an_object_permission_allows_overriding_that_line(line, advance, planner):
    # given a shipped line the planner holds the override permission on
    advance(line, "shipped")

    # when the planner overrides it
    result = _override(line, planner)

    # then it applies
    assert result.outcome == "applied"
    line.refresh_from_db()
    assert line.status == "picking"


def test_an_object_permission_does_not_reach_other_lines(line, advance, planner):
    # given another shipped line the planner holds no permission on
    other = OrderLineFactory()
    advance(other, "shipped")

    # when the planner overrides it
    with pytest.raises(PermissionDenied):
        _override(other, planner)

    # then it stays shipped
    other.refresh_from_db()
    assert other.status == "shipped"


def test_an_override_to_the_current_status_is_refused(line, advance, supervisor):
    # given a shipped line
    advance(line, "shipped")

    # when a supervisor "overrides" it to shipped
    with pytest.raises(ValidationError) as raised:
        _override(line, supervisor, status="shipped")

    # then it is refused as no change at all
    assert "status" in raised.value.message_dict


def test_an_override_to_an_unknown_status_is_refused(line, supervisor):
    # given a line
    # when a supervisor overrides it to a status that does not exist
    with pytest.raises(ValidationError) as raised:
        _override(line, supervisor, status="teleported")

    # then it is refused, naming the status
    assert "status" in raised.value.message_dict
    assert not line.events.exclude(kind="start").exists()


def test_a_split_parent_cannot_be_overridden(line, supervisor):
    # given a split line
    split_line(line_id=line.pk, parts=[SplitPart(quantity=3)], actor=Actor.system("test"))

    # when a supervisor overrides the parent
    with pytest.raises(LineIsSplit):
        _override(line, supervisor, status="shipped")

    # then the parent still shows its children's status
    line.refresh_from_db()
    assert line.status == "received"
