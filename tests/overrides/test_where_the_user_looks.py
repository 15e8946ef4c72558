"""What a new user runs into: an action's URL opened again (a reload, a new tab) leads to its page
instead of a bare 405; someone without a back-office role is sent somewhere useful; the outcome of
a form is said where the person looks, and its errors name the fields."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from integrations.models import MessageFormat, SourceKind, SourceSystem, Transport
from orders.models import StatusEvent
from orders.services import Actor, SplitPart, apply_status_update, split_line
from overrides.models import StaleAlert, StaleStatusRule
from overrides.services.discrepancies import discrepancy_open_for_contested_override
from overrides.services.reconciliation import reconciliation_run_create
from overrides.services.requests import override_request_create
from tests.factories import OrderLineFactory, PartFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db

JUSTIFICATION = "Goods issue was posted on the wrong delivery."


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea", name="EMEA")


def _person(role: str, *regions, username: str = "", **fields):
    user = UserFactory(username=username or role, **fields)
    user.groups.add(Group.objects.get(name=role))
    for region in regions:
        assign_perm("orders.work_in_region", user, region)
    return user


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).replace("&#x27;", "'")


def _alert(line) -> StaleAlert:
    rule, _created = StaleStatusRule.objects.get_or_create(status=line.status, threshold=timedelta(hours=2))
    now = timezone.now()
    return StaleAlert.objects.create(
        line=line, rule=rule, status=line.status, status_since=now - timedelta(hours=5), opened_at=now, due_at=now
    )


# An action's URL opened with GET


def test_reloading_the_approval_preview_shows_the_preview_again(client, emea, advance):
    # given a request waiting for approval
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    request = override_request_create(
        user=_person("planner", emea, username="anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )
    client.force_login(_person("supervisor", emea))

    # when the supervisor reloads the preview's URL (a GET)
    response = client.get(f"/backoffice/approvals/{request.pk}/approve/")

    # then the preview is shown again, ready to confirm
    assert response.status_code == 200
    assert "What approving does now" in _text(response)
    assert "Confirm the approval" in _text(response)


@pytest.mark.parametrize("action", ["reject", "withdraw"])
def test_opening_a_decision_url_leads_to_the_request_in_the_approvals(client, emea, advance, action):
    # given a request waiting for approval
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    request = override_request_create(
        user=_person("planner", emea, username="anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )
    client.force_login(_person("supervisor", emea))

    # when the supervisor opens the decision's URL
    response = client.get(f"/backoffice/approvals/{request.pk}/{action}/")

    # then it leads to the request in the approvals queue, and nothing was decided
    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/approvals/#request-{request.pk}"
    request.refresh_from_db()
    assert request.state == "pending"


def test_opening_the_case_actions_leads_to_the_line(client, emea, advance):
    # given a stale alert and a discrepancy on a line
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "allocated")
    alert = _alert(line)
    discrepancy = discrepancy_open_for_contested_override(
        line_id=line.pk, event_id=line.events.last().pk, held_status="shipped"
    )
    client.force_login(_person("planner", emea))

    # when the planner opens the acknowledge, take, resolve and hide URLs
    urls = [
        f"/backoffice/alerts/{alert.pk}/acknowledge/",
        f"/backoffice/discrepancies/{discrepancy.pk}/take/",
        f"/backoffice/discrepancies/{discrepancy.pk}/resolve/",
        f"/backoffice/lines/{line.pk}/hide-event/",
    ]
    responses = [client.get(url) for url in urls]

    # then each leads to the line's page, and nothing was done
    assert [(response.status_code, response["Location"]) for response in responses] == [
        (302, f"/backoffice/lines/{line.pk}/")
    ] * 4
    alert.refresh_from_db()
    discrepancy.refresh_from_db()
    assert (alert.acknowledged_by, discrepancy.owner, discrepancy.resolved_at) == (None, None, None)


def test_opening_the_action_url_of_a_case_out_of_scope_is_not_found(client, emea, advance):
    # given an alert on an APAC line and a planner of EMEA
    line = OrderLineFactory(order__account__region=RegionFactory(code="apac"))
    advance(line, "allocated")
    alert = _alert(line)
    client.force_login(_person("planner", emea))

    # when she opens its acknowledge URL
    response = client.get(f"/backoffice/alerts/{alert.pk}/acknowledge/")

    # then the alert does not exist for her
    assert response.status_code == 404


def test_opening_the_reconciliation_and_access_review_actions_leads_to_their_pages(client, emea):
    # given a reconciliation run (nothing to correct) and a supervisor who is also an auditor
    SourceSystem.objects.create(
        code="depot-lyon",
        name="Depot Lyon",
        kind=SourceKind.DEPOT,
        message_format=MessageFormat.CSV_DEPOT,
        transport=Transport.FILE,
    )
    night = _person("supervisor", emea, username="night")
    run = reconciliation_run_create(
        source_code="depot-lyon", since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 2, tzinfo=UTC)
    )
    day = _person("supervisor", emea, username="day")
    day.groups.add(Group.objects.get(name="auditor"))
    client.force_login(day)

    # when the supervisor opens the apply, discard and review-start URLs
    apply_page = client.get(f"/backoffice/reconciliations/{run.pk}/apply/")
    discard_page = client.get(f"/backoffice/reconciliations/{run.pk}/discard/")
    review_start = client.get("/backoffice/access-reviews/start/")

    # then they lead to the run's page and to the access reviews
    assert (apply_page.status_code, apply_page["Location"]) == (302, f"/backoffice/reconciliations/{run.pk}/")
    assert (discard_page.status_code, discard_page["Location"]) == (302, f"/backoffice/reconciliations/{run.pk}/")
    assert (review_start.status_code, review_start["Location"]) == (302, "/backoffice/access-reviews/")
    run.refresh_from_db()
    assert run.state == "proposed" and night.pk


# People without a back-office role


def test_the_integrator_signing_in_to_the_back_office_lands_on_the_configuration_pages(client):
    # given the integrator, a staff member with the integration role only
    integrator = _person("integration", username="integrator", is_staff=True)
    client.force_login(integrator)

    # when they open the back office
    response = client.get("/backoffice/")

    # then they are taken to the configuration pages they work in
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_a_refusal_reached_from_the_sign_in_page_offers_no_way_back_into_it(client):
    # given someone with no role at all, who just signed in
    nobody = UserFactory(username="nobody")
    client.force_login(nobody)

    # when the back office refuses them, having come from the sign-in page
    response = client.get("/backoffice/", HTTP_REFERER="http://testserver/backoffice/login/?next=/backoffice/")

    # then the refusal offers no link back to the sign-in page (a loop) but a way to sign in as
    # someone else
    assert response.status_code == 403
    assert 'id="refusal-back"' not in response.content.decode()
    assert "Sign in as someone else" in _text(response)


# The outcome and the errors of a form


def test_after_an_override_the_page_opens_at_its_outcome(client, emea, advance):
    # given a planner on a line's page
    line = OrderLineFactory(order__account__region=emea, part=PartFactory(criticality="B"))
    advance(line, "allocated")
    client.force_login(_person("planner", emea))

    # when she requests a forward move from the form at the bottom of the page
    response = client.post(
        f"/backoffice/lines/{line.pk}/",
        {"target_status": "picking", "reason": "data_correction", "justification": JUSTIFICATION},
    )

    # then the page she lands on opens at the message saying what happened
    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/lines/{line.pk}/#messages"
    page = client.get(response["Location"])
    assert 'id="messages"' in page.content.decode()
    assert "Override applied" in _text(page)


def test_a_failed_hide_request_names_its_fields_in_the_event_form_and_keeps_what_was_typed(client, emea, advance):
    # given a planner hiding an event without choosing a reason
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "allocated")
    event = StatusEvent.objects.filter(line=line).latest("sequence")
    client.force_login(_person("planner", emea))

    # when the form is sent
    response = client.post(
        f"/backoffice/lines/{line.pk}/hide-event/",
        {"event": event.pk, "reason": "", "justification": "Shown twice to the customer."},
    )

    # then the event's hide form opens again with an error naming the reason field, marked, and
    # the justification as typed
    html = response.content.decode()
    form = re.search(rf'<form[^>]*id="hide-event-{event.pk}".*?</form>', html, re.S)[0]
    assert "Reason</a>: This field is required." in form
    assert re.search(r'<select name="reason"[^>]*aria-invalid="true"', form)
    assert "Shown twice to the customer.</textarea>" in form


def test_reconciliation_errors_are_listed_at_the_top_of_the_form_with_their_fields(client, emea):
    # given a supervisor starting a reconciliation without a source or a start
    client.force_login(_person("supervisor", emea))

    # when the form is sent
    response = client.post("/backoffice/reconciliations/", {"source": "", "since": ""})

    # then the errors come before the form, each naming its field by a capitalised label
    html = response.content.decode()
    errors = html.index('id="reconciliation-errors"')
    assert errors < html.index('id="reconciliation-form"')
    assert "Source</a>: This field is required." in html
    assert "Received since</a>: This field is required." in html
    assert "<label" in html and ">Received until:</label>" in html


def test_an_overlong_justification_and_an_unknown_file_type_are_clear_errors(client, emea, advance):
    # given a planner on a line's page
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "allocated")
    client.force_login(_person("planner", emea))

    # when she sends 2,001 characters of justification and a program as evidence
    response = client.post(
        f"/backoffice/lines/{line.pk}/",
        {
            "target_status": "picking",
            "reason": "data_correction",
            "justification": "x" * 2001,
            "evidence": SimpleUploadedFile("pod.exe", b"MZ"),
        },
    )

    # then both fields are named in the errors and nothing is requested
    text = _text(response)
    assert response.status_code == 200
    assert "Justification : Ensure this value has at most 2000 characters" in text
    assert "Evidence file : File extension “exe” is not allowed." in text
    assert not line.override_requests.exists()


def test_a_split_parents_rollup_is_named_in_words_not_by_its_code(client, emea, advance, sap, t0):
    # given a split line whose children moved on, rolling the parent up
    line = OrderLineFactory(order__account__region=emea, quantity=2)
    advance(line, "released")
    planner = _person("planner", emea)
    first, second = split_line(
        line_id=line.pk,
        parts=[SplitPart(quantity=1)],
        actor=Actor.person(planner),
        occurred_at=t0 + timedelta(minutes=30),
    )
    for child in (first, second):
        apply_status_update(line_id=child.pk, status="allocated", occurred_at=t0 + timedelta(hours=1), actor=sap)
    client.force_login(planner)

    # when the planner opens the order and the parent line
    pages = [client.get(f"/backoffice/orders/{line.order_id}/"), client.get(f"/backoffice/lines/{line.pk}/")]

    # then the rollup's reason is in words
    for page in pages:
        assert "<code>rollup</code>" not in page.content.decode()
        assert "Rolled up from its split lines" in _text(page)


def test_the_line_page_needs_no_more_queries_for_a_deeper_split(client, emea, advance):
    # given a line split five times over, and a planner
    planner = _person("planner", emea)
    line = OrderLineFactory(order__account__region=emea, quantity=64)
    advance(line, "released")
    client.force_login(planner)
    counts = []
    leaf = line
    for _depth in range(5):
        leaf, _rest = split_line(
            line_id=leaf.pk, parts=[SplitPart(quantity=leaf.quantity // 2)], actor=Actor.person(planner)
        )
        client.get(f"/backoffice/lines/{leaf.pk}/")

        # when the deepest line's page is opened
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/backoffice/lines/{leaf.pk}/")
        counts.append(len(queries))

    # then the page, with its breadcrumb through every ancestor, costs the same at every depth
    assert len(set(counts)) == 1
    assert response.content.decode().count('class="bo-breadcrumbs"') == 1


def test_resolving_a_case_out_of_scope_is_not_found_even_without_a_note(client, emea, advance):
    # given a discrepancy on an APAC line and a supervisor of EMEA
    line = OrderLineFactory(order__account__region=RegionFactory(code="apac"))
    advance(line, "packed")
    case = discrepancy_open_for_contested_override(
        line_id=line.pk, event_id=line.events.last().pk, held_status="shipped"
    )
    client.force_login(_person("supervisor", emea))

    # when the supervisor resolves it with an empty note
    response = client.post(f"/backoffice/discrepancies/{case.pk}/resolve/", {"resolution": ""})

    # then the case does not exist for them: no validation message that would give it away
    assert response.status_code == 404


def test_the_queue_names_the_role_asked_in_the_readers_language(client, emea, advance):
    # given an alert nobody took, which the ladder asks planners to respond to
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "allocated")
    alert = _alert(line)
    alert.assignee_group = Group.objects.get(name="planner")
    alert.save(update_fields=["assignee_group"])
    client.force_login(_person("planner", emea))

    # when a German planner opens the queue
    response = client.get("/backoffice/", HTTP_ACCEPT_LANGUAGE="de")

    # then the role is named in German
    assert "angefragte Rolle: Disponent" in _text(response)


def test_the_approval_preview_shows_the_evidence_being_judged(client, emea, advance):
    # given a request with an evidence reference
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    request = override_request_create(
        user=_person("planner", emea, username="anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
        evidence_reference="POD-778812",
    )
    client.force_login(_person("supervisor", emea))

    # when the supervisor previews the approval
    response = client.post(f"/backoffice/approvals/{request.pk}/approve/", {"note": ""})

    # then the evidence reference is there to judge
    assert "POD-778812" in _text(response)
