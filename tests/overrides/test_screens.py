"""Back-office screens: the exception queue (filters, order, constant queries), the line page
(scope, timeline, override and hide forms with their errors) and the approvals page."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from orders.services import Actor, Provenance, SplitPart, apply_status_update, split_line
from overrides.models import Discrepancy, OverrideRequest, StaleAlert, StaleStatusRule
from overrides.services.discrepancies import discrepancy_open
from overrides.services.requests import override_request_create, override_request_reject
from tests.factories import OrderLineFactory, PartFactory, RegionFactory, UserFactory
from tests.overrides.approving import approve_through_preview

pytestmark = pytest.mark.django_db

JUSTIFICATION = "The carrier confirmed pick-up by phone; EWM was down for maintenance."
QUEUE = "/backoffice/"
APPROVALS = "/backoffice/approvals/"


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Production-strength hashing costs a good part of a second for every person a test makes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea", name="Europe, Middle East and Africa")


@pytest.fixture
def americas(db):
    return RegionFactory(code="americas", name="Americas")


def _person(role: str, *regions, username: str = ""):
    """A member of a role group created by migrate, working on the given regions."""
    user = UserFactory(username=username or role)
    user.groups.add(Group.objects.get(name=role))
    for region in regions:
        assign_perm("orders.work_in_region", user, region)
    return user


def _line(region, criticality: str = "B", **kwargs):
    return OrderLineFactory(order__account__region=region, part=PartFactory(criticality=criticality), **kwargs)


def _stale_alert(line, *, hours_ago: int, status: str = "allocated"):
    rule, _created = StaleStatusRule.objects.get_or_create(status=status, threshold=timedelta(hours=2))
    now = timezone.now()
    return StaleAlert.objects.create(
        line=line,
        rule=rule,
        status=status,
        status_since=now - timedelta(hours=hours_ago),
        opened_at=now - timedelta(hours=hours_ago - 2),
        due_at=now + timedelta(minutes=30),
        assignee_group=Group.objects.get(name="planner"),
    )


def _discrepancy(line, *, hours_ago: int, kind: str = Discrepancy.Kind.SOURCES_DISAGREE):
    return discrepancy_open(
        kind=kind,
        line=line,
        summary="EWM says shipped, SAP still says packed",
        evidence=[],
        fingerprint=f"test:{line.pk}:{kind}",
        now=timezone.now() - timedelta(hours=hours_ago),
    )


def _row_links(response) -> list[str]:
    """The order/line labels of the queue's rows, in order."""
    return [f"{row.line.order.number}/{row.line.number}" for row in response.context["rows"]]


def _label(line) -> str:
    return f"{line.order.number}/{line.number}"


def test_the_queue_needs_a_login(client):
    # when someone not logged in opens the queue
    response = client.get(QUEUE)

    # then they are sent to the back-office login page, and back afterwards
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/login/?next=/backoffice/"


def test_the_queue_shows_open_alerts_and_discrepancies_of_the_users_scope_only(client, emea, americas):
    # given an alert and a discrepancy in EMEA, one of each in the Americas, and a resolved alert
    planner = _person("planner", emea)
    alert = _stale_alert(_line(emea), hours_ago=5)
    discrepancy = _discrepancy(_line(emea), hours_ago=3)
    resolved = _stale_alert(_line(emea), hours_ago=9)
    StaleAlert.objects.filter(pk=resolved.pk).update(resolved_at=timezone.now())
    _stale_alert(_line(americas), hours_ago=5)
    _discrepancy(_line(americas), hours_ago=3)
    client.force_login(planner)

    # when the EMEA planner opens the queue
    response = client.get(QUEUE)

    # then exactly the two open EMEA cases are listed, each linking to its line
    assert response.status_code == 200
    assert sorted(_row_links(response)) == sorted([_label(alert.line), _label(discrepancy.line)])
    page = response.content.decode()
    assert f'href="/backoffice/lines/{alert.line.pk}/"' in page
    assert f'href="/backoffice/lines/{discrepancy.line.pk}/"' in page
    assert "EWM says shipped, SAP still says packed" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=stale", ["a-alert", "c-alert-americas"]),
        ("kind=sources", ["b-discrepancy"]),
        ("kind=contested", ["contested"]),
        ("criticality=A", ["a-alert"]),
        ("criticality=C", ["c-alert-americas"]),
        ("region=americas", ["c-alert-americas"]),
        ("kind=stale&region=emea", ["a-alert"]),
        ("kind=nonsense", ["a-alert", "b-discrepancy", "c-alert-americas", "contested"]),
    ],
)
def test_the_queue_filters_by_kind_criticality_and_region(client, emea, americas, query, expected):
    # given four cases of different kinds, criticalities and regions
    cases = {
        "a-alert": _stale_alert(_line(emea, "A"), hours_ago=4).line,
        "b-discrepancy": _discrepancy(_line(emea, "B"), hours_ago=4).line,
        "c-alert-americas": _stale_alert(_line(americas, "C"), hours_ago=4).line,
        "contested": _discrepancy(_line(emea, "B"), hours_ago=4, kind=Discrepancy.Kind.OVERRIDE_CONTESTED).line,
    }
    client.force_login(_person("supervisor", emea, americas))

    # when the queue is filtered
    response = client.get(f"{QUEUE}?{query}")

    # then only the matching cases are listed (an unknown filter value is ignored, not a 500)
    assert response.status_code == 200
    assert sorted(_row_links(response)) == sorted(_label(cases[name]) for name in expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("criticality", ["A-new", "B-old", "C-oldest"]),
        ("", ["A-new", "B-old", "C-oldest"]),
        ("age", ["C-oldest", "B-old", "A-new"]),
        ("region", ["C-oldest", "A-new", "B-old"]),
    ],
)
def test_the_queue_sorts_by_criticality_age_and_region(client, emea, americas, sort, expected):
    # given an A alert opened lately in EMEA, an older B discrepancy in EMEA, the oldest C alert in the Americas
    cases = {
        "A-new": _stale_alert(_line(emea, "A"), hours_ago=3).line,
        "B-old": _discrepancy(_line(emea, "B"), hours_ago=10).line,
        "C-oldest": _stale_alert(_line(americas, "C"), hours_ago=30).line,
    }
    client.force_login(_person("supervisor", emea, americas))

    # when the queue is sorted
    response = client.get(f"{QUEUE}?sort={sort}")

    # then the rows come in that order (criticality by default; region by name, Americas first)
    assert _row_links(response) == [_label(cases[name]) for name in expected]


def test_the_queue_runs_the_same_number_of_queries_for_3_or_30_cases(client, emea):
    # given a planner and three open cases
    client.force_login(_person("planner", emea))
    for hours in range(3):
        _stale_alert(_line(emea), hours_ago=hours + 3)
    client.get(QUEUE)  # the person's preferences are read once, then cached
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE).status_code == 200

    # when there are ten times as many cases, of both kinds
    for hours in range(12):
        _stale_alert(_line(emea, "A"), hours_ago=hours + 3)
        _discrepancy(_line(emea, "C"), hours_ago=hours + 3)
    with CaptureQueriesContext(connection) as many:
        response = client.get(QUEUE)

    # then the page needs no more queries
    assert len(response.context["rows"]) == 27
    assert len(many) == len(few)


def test_the_line_page_shows_the_line_its_split_children_and_the_whole_timeline(client, emea, advance):
    # given a line released by SAP through an inbound message, then split in two
    planner = _person("planner", emea)
    line = _line(emea, quantity=4)
    apply_status_update(
        line_id=line.pk,
        status="released",
        occurred_at=timezone.now() - timedelta(hours=2),
        actor=Actor.integration("SAP-ERP"),
        provenance=Provenance(source_system="SAP-ERP", inbound_message_id=4242),
    )
    children = split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.person(planner))
    advance(children[0], "allocated")
    client.force_login(planner)

    # when the planner opens the line
    response = client.get(f"/backoffice/lines/{line.pk}/")

    # then it shows the order, the part, the split lines and every event with its source and message link
    page = response.content.decode()
    assert response.status_code == 200
    assert line.order.number in page and line.part.number in page
    for child in children:
        assert f'href="/backoffice/lines/{child.pk}/"' in page
    assert "SAP-ERP" in page
    assert 'href="/admin/integrations/inboundmessage/4242/change/"' in page
    assert len(response.context["events"]) >= 3
    # and a split line cannot be overridden itself
    assert 'id="override-form"' not in page


def test_a_line_out_of_scope_answers_404_like_a_line_that_does_not_exist(client, emea, americas):
    # given an EMEA planner and a line in the Americas
    client.force_login(_person("planner", emea))
    elsewhere = _line(americas)

    # when the planner opens it, or a line that does not exist
    out_of_scope = client.get(f"/backoffice/lines/{elsewhere.pk}/")
    missing = client.get("/backoffice/lines/999999/")

    # then both are not found
    assert (out_of_scope.status_code, missing.status_code) == (404, 404)


def test_a_viewer_sees_the_line_without_the_override_and_hide_actions(client, emea, advance):
    # given a released line
    line = _line(emea)
    advance(line, "released")

    # when a viewer and a planner open it
    client.force_login(_person("viewer", emea))
    seen_by_viewer = client.get(f"/backoffice/lines/{line.pk}/").content.decode()
    client.force_login(_person("planner", emea))
    seen_by_planner = client.get(f"/backoffice/lines/{line.pk}/").content.decode()

    # then only the planner gets the buttons
    assert 'id="override-form"' not in seen_by_viewer and "Hide from customers" not in seen_by_viewer
    assert 'id="override-form"' in seen_by_planner and "Hide from customers" in seen_by_planner


def _override_post(**overrides) -> dict:
    return {
        "target_status": "allocated",
        "reason": "data_correction",
        "justification": JUSTIFICATION,
        "evidence_reference": "",
        **overrides,
    }


@pytest.mark.parametrize(
    ("post", "field", "message"),
    [
        (_override_post(justification=""), "justification", "This field is required."),
        (_override_post(justification="   "), "justification", "This field is required."),
        (_override_post(reason="made_up"), "reason", "Select a valid choice."),
        (_override_post(target_status="teleported"), "target_status", "Select a valid choice."),
        (_override_post(target_status="released"), "target_status", "released is not one of the available choices"),
        (_override_post(evidence_reference="x" * 201), "evidence_reference", "at most 200 characters"),
    ],
    ids=["no-justification", "blank-justification", "unknown-reason", "unknown-status", "same-status", "long-ref"],
)
def test_bad_override_input_is_shown_on_the_form(client, emea, advance, post, field, message):
    # given a released line and a planner
    line = _line(emea)
    advance(line, "released")
    client.force_login(_person("planner", emea))

    # when the planner sends a bad override request
    response = client.post(f"/backoffice/lines/{line.pk}/", post)

    # then the page comes back with the error on the field, and nothing is requested
    assert response.status_code == 200
    assert message in " ".join(response.context["override_form"].errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not OverrideRequest.objects.exists()


def test_a_service_refusal_without_a_form_field_is_shown_above_the_form(client, emea):
    # given a split line whose child is a different line
    planner = _person("planner", emea)
    line = _line(emea, quantity=2)
    [child, _rest] = split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.person(planner))
    client.force_login(planner)

    # when the planner posts an override for the split line itself (a stale page)
    response = client.post(f"/backoffice/lines/{line.pk}/", _override_post())

    # then the service's reason is shown as a form error
    assert response.status_code == 200
    assert "override the children" in " ".join(response.context["override_form"].non_field_errors())


def test_an_override_applied_at_once_says_so(client, emea, advance):
    # given a released B line
    line = _line(emea)
    advance(line, "released")
    client.force_login(_person("planner", emea))

    # when the planner moves it forward to allocated (no source step, no approval needed)
    response = client.post(f"/backoffice/lines/{line.pk}/", _override_post(), follow=True)

    # then the line is allocated and the message says the override is applied
    line.refresh_from_db()
    assert line.status == "allocated"
    assert "Override applied: the line is now Allocated." in response.content.decode()


def test_an_override_needing_approval_says_why_and_keeps_the_evidence(client, emea, advance, settings, tmp_path):
    # given a packed line and a planner with a POD scan
    settings.MEDIA_ROOT = tmp_path
    line = _line(emea)
    advance(line, "packed")
    planner = _person("planner", emea)
    client.force_login(planner)
    scan = SimpleUploadedFile("pod.pdf", b"%PDF-1.4 proof of delivery", content_type="application/pdf")

    # when the planner moves it backwards to picking with the scan
    response = client.post(
        f"/backoffice/lines/{line.pk}/",
        _override_post(target_status="picking", evidence=scan, evidence_reference="POD-778"),
        follow=True,
    )

    # then it waits for approval, says why, and the evidence is downloadable from the approvals page
    line.refresh_from_db()
    assert line.status == "packed"
    assert "waits for a second person&#x27;s approval: moves a line backwards." in response.content.decode()
    request = OverrideRequest.objects.get()
    approvals = client.get(APPROVALS).content.decode()
    assert f'href="/backoffice/approvals/{request.pk}/evidence/"' in approvals
    assert "POD-778" in approvals
    download = client.get(f"/backoffice/approvals/{request.pk}/evidence/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 proof of delivery"


def test_hiding_an_event_from_customers_waits_for_approval_then_shows_as_hidden(client, emea, advance):
    # given a line SAP shipped by mistake
    line = _line(emea)
    advance(line, "released", "shipped")
    shipped = line.events.get(to_status="shipped")
    planner, supervisor = _person("planner", emea), _person("supervisor", emea)
    client.force_login(planner)

    # when the planner asks to hide the event, and a supervisor approves
    asked = client.post(
        f"/backoffice/lines/{line.pk}/hide-event/",
        {"event": shipped.pk, "reason": "duplicate_event", "justification": "Goods issue on the wrong delivery."},
    )
    request = OverrideRequest.objects.get(kind="suppress")
    client.force_login(supervisor)
    approve_through_preview(client, request.pk, "Checked with the warehouse.")

    # then the timeline marks the event hidden, by the planner, approved by the supervisor
    assert asked.status_code == 302
    row = _timeline_row(client.get(f"/backoffice/lines/{line.pk}/").content.decode(), shipped.pk)
    assert "Hidden" in row and "by planner" in row and "approved by supervisor" in row


def test_hiding_an_event_of_another_line_is_refused_on_the_form(client, emea, advance):
    # given two lines in scope
    line, other = _line(emea), _line(emea)
    advance(other, "released")
    client.force_login(_person("planner", emea))

    # when the planner posts the other line's event to this line's page
    response = client.post(
        f"/backoffice/lines/{line.pk}/hide-event/",
        {"event": other.events.get(kind="fact").pk, "reason": "duplicate_event", "justification": "Wrong one."},
    )

    # then the page shows the error and nothing is requested
    assert response.status_code == 200
    assert "The event could not be hidden" in response.content.decode()
    assert not OverrideRequest.objects.exists()


def _pending_request(line, requester):
    return override_request_create(
        user=requester,
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )


def test_the_approvals_page_lists_pending_requests_with_what_a_decision_needs(client, emea, americas, advance):
    # given a pending backwards request in EMEA and one in the Americas
    line, elsewhere = _line(emea), _line(americas)
    advance(line, "packed")
    advance(elsewhere, "packed")
    requester = _person("planner", emea, americas, username="anna")
    request = _pending_request(line, requester)
    hidden = _pending_request(elsewhere, requester)
    client.force_login(_person("supervisor", emea))

    # when an EMEA supervisor opens the approvals page
    page = client.get(APPROVALS).content.decode()

    # then the EMEA request shows its line, target, reason, justification, requester and why; the other is absent
    row = page.split(f'id="request-{request.pk}"')[1].split("</tr>")[0]
    row = re.sub(r"<a [^>]+>|</a>", "", row)  # the order and line numbers are links
    for expected in (
        _label(line),
        "Set to Picking",
        "Data correction",
        JUSTIFICATION,
        "anna",
        "moves a line backwards",
    ):
        assert expected in row.replace("&#x27;", "'")
    assert "Approve" in row and "Reject" in row
    assert f'id="request-{hidden.pk}"' not in page


def test_the_approvals_page_runs_the_same_number_of_queries_for_2_or_12_pending_requests(client, emea, advance):
    # given two pending requests and one decided
    requester = _person("planner", emea, username="anna")
    supervisor = _person("supervisor", emea)

    def ask(count: int) -> None:
        for _index in range(count):
            line = _line(emea)
            advance(line, "packed")
            _pending_request(line, requester)

    ask(3)
    override_request_reject(request_id=OverrideRequest.objects.first().pk, user=supervisor, note="Not so.")
    client.force_login(supervisor)
    client.get(APPROVALS)  # the person's preferences are read once, then cached
    with CaptureQueriesContext(connection) as few:
        assert client.get(APPROVALS).status_code == 200

    # when ten more wait
    ask(10)
    with CaptureQueriesContext(connection) as many:
        response = client.get(APPROVALS)

    # then the page needs no more queries
    assert len(response.context["pending"]) == 12
    assert len(many) == len(few)


def test_the_requester_sees_withdraw_instead_of_approve(client, emea, advance):
    # given a supervisor's own pending request
    line = _line(emea)
    advance(line, "packed")
    supervisor = _person("supervisor", emea)
    request = _pending_request(line, supervisor)
    client.force_login(supervisor)

    # when they open the approvals page and withdraw it
    row = client.get(APPROVALS).content.decode().split(f'id="request-{request.pk}"')[1].split("</tr>")[0]
    response = client.post(f"/backoffice/approvals/{request.pk}/withdraw/", follow=True)

    # then only withdraw was offered, and the request is withdrawn and listed as decided
    assert "Withdraw" in row and "Approve" not in row
    request.refresh_from_db()
    assert request.state == "withdrawn"
    assert "is withdrawn" in response.content.decode()


def test_a_rejection_without_a_note_shows_the_error_on_the_request(client, emea, advance):
    # given a pending request
    line = _line(emea)
    advance(line, "packed")
    request = _pending_request(line, _person("planner", emea))
    client.force_login(_person("supervisor", emea))

    # when the supervisor rejects it without a note
    response = client.post(f"/backoffice/approvals/{request.pk}/reject/", {"note": "  "})

    # then the approvals page shows why, on that request, and it stays pending
    assert response.status_code == 200
    row = response.content.decode().split(f'id="request-{request.pk}"')[1].split("</tr>")[0]
    assert "Say why the request is rejected." in row
    request.refresh_from_db()
    assert request.state == "pending"


def test_approving_ones_own_request_is_refused_with_the_reason(client, emea, advance):
    # given a supervisor's own pending request
    line = _line(emea)
    advance(line, "packed")
    supervisor = _person("supervisor", emea)
    request = _pending_request(line, supervisor)
    client.force_login(supervisor)

    # when they post an approval anyway
    response = approve_through_preview(client, request.pk, "")

    # then it is forbidden, the page says why, and nothing changed
    assert response.status_code == 403
    assert "Someone else must approve your own request." in response.content.decode()
    request.refresh_from_db()
    assert request.state == "pending"


def test_deciding_twice_shows_that_it_is_already_decided(client, emea, advance):
    # given a request a supervisor already approved
    line = _line(emea)
    advance(line, "packed")
    request = _pending_request(line, _person("planner", emea))
    client.force_login(_person("supervisor", emea))
    approve_through_preview(client, request.pk, "")

    # when the page is posted again (a second tab)
    response = client.post(f"/backoffice/approvals/{request.pk}/reject/", {"note": "No."})

    # then the page says so instead of failing
    assert response.status_code == 200
    assert "This request has already been decided." in response.content.decode()


def _timeline_row(page: str, event_id: int) -> str:
    return page.split(f'id="event-{event_id}"')[1].split("</tr>")[0]
