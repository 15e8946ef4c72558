"""A day in the back office: the queue's columns, filters and pages; approvals that flag
conflicts and decide again at approval time; preferences, language and time zone; text in the
reader's language; the styled refusal and role-aware navigation."""

import importlib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from orders.models import UserProfile
from overrides.models import Discrepancy, OverrideRequest, StaleAlert, StaleStatusRule
from overrides.services.alerts import stale_alert_acknowledge
from overrides.services.discrepancies import discrepancy_open_for_contested_override, discrepancy_take
from overrides.services.requests import override_request_create
from tests.factories import OrderLineFactory, PartFactory, RegionFactory, SiteFactory, UserFactory
from tests.overrides.approving import approve_through_preview

pytestmark = pytest.mark.django_db

QUEUE = "/backoffice/"
JUSTIFICATION = "Goods issue was posted on the wrong delivery."


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea", name="Europe, Middle East and Africa")


def _person(role: str, region, username: str = ""):
    user = UserFactory(username=username or role)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, region)
    return user


def _stale(region, *, site=None, **line_kwargs):
    line = OrderLineFactory(order__account__region=region, site=site or SiteFactory(), **line_kwargs)
    rule, _created = StaleStatusRule.objects.get_or_create(status="allocated", threshold=timedelta(hours=2))
    now = timezone.now()
    return StaleAlert.objects.create(
        line=line,
        rule=rule,
        status="allocated",
        status_since=now - timedelta(hours=5),
        opened_at=now - timedelta(hours=3),
        due_at=now + timedelta(minutes=30),
        assignee_group=Group.objects.get(name="planner"),
    )


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).replace("&#x27;", "'")


def test_the_queue_shows_account_site_eta_and_a_person_as_assignee(client, emea):
    # given an alert a planner acknowledged and one nobody took yet
    anna = _person("planner", emea, "anna")
    anna.first_name, anna.last_name = "Anna", "Berg"
    anna.save()
    site = SiteFactory(name="DC Rotterdam")
    taken = _stale(emea, site=site, eta=timezone.now() + timedelta(days=1))
    stale_alert_acknowledge(alert_id=taken.pk, user=anna)
    _stale(emea)
    client.force_login(anna)

    # when she opens the queue
    response = client.get(QUEUE)

    # then each row has the account, the fulfilling site and the ETA; the assignee is a person or nobody
    rows = {row.line.pk: row for row in response.context["rows"]}
    assert rows[taken.line_id].assignee == anna
    page = _text(response)
    assert taken.line.order.account.name in page and "DC Rotterdam" in page
    assert "Anna Berg" in page and "Nobody yet" in page and "role asked: planner" in page


@pytest.mark.parametrize(
    ("assigned", "expected"), [("mine", {"mine"}), ("unassigned", {"nobody"}), ("", {"mine", "nobody", "theirs"})]
)
def test_the_queue_filters_mine_and_unassigned(client, emea, assigned, expected):
    # given an alert I took, a discrepancy someone else took, and an alert nobody took
    me, other = _person("planner", emea, "me"), _person("planner", emea, "other")
    mine = _stale(emea)
    stale_alert_acknowledge(alert_id=mine.pk, user=me)
    theirs = discrepancy_open_for_contested_override(
        line_id=(line := _stale(emea).line).pk,
        event_id=line.events.first().pk,
        held_status="shipped",
    )
    StaleAlert.objects.filter(line=line).delete()
    discrepancy_take(discrepancy_id=theirs.pk, user=other)
    nobody = _stale(emea)
    client.force_login(me)

    # when I filter the queue
    response = client.get(QUEUE, {"assigned": assigned})

    # then only those cases are listed
    named = {mine.line_id: "mine", theirs.line_id: "theirs", nobody.line_id: "nobody"}
    assert {named[row.line.pk] for row in response.context["rows"]} == expected


def test_the_queue_pages_by_50_keeping_the_filters_in_the_links(client, emea):
    client.force_login(_person("planner", emea))
    for _ in range(51):
        _stale(emea)

    first = client.get(QUEUE, {"criticality": "B", "sort": "age"})
    second = client.get(QUEUE, {"criticality": "B", "sort": "age", "page": 2})

    assert (len(first.context["rows"]), len(second.context["rows"])) == (50, 1)
    assert 'href="?criticality=B&amp;sort=age&amp;page=2"' in first.content.decode()


def test_a_second_request_on_a_line_warns_first_and_the_approvals_flag_the_conflict(client, emea, advance):
    # given a request already waiting on a packed line
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    first = override_request_create(
        user=_person("planner", emea, "anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )
    bob = _person("planner", emea, "bob")
    client.force_login(bob)
    post = {"target_status": "allocated", "reason": "data_correction", "justification": JUSTIFICATION}

    # when a second planner asks for the same line
    warned = client.post(f"/backoffice/lines/{line.pk}/", post)

    # then the form warns first, naming the waiting request, and makes nothing
    assert warned.status_code == 200
    assert f"Request #{first.pk} for this line is already waiting" in _text(warned)
    assert OverrideRequest.objects.count() == 1

    # when he asks anyway, then both wait, and the approvals page flags them as conflicting
    client.post(f"/backoffice/lines/{line.pk}/", {**post, "confirm_conflict": "on"})
    second = OverrideRequest.objects.exclude(pk=first.pk).get()
    client.force_login(_person("supervisor", emea))
    page = client.get("/backoffice/approvals/")
    conflicts = {request.pk: request.conflicts for request in page.context["pending"]}
    assert conflicts == {first.pk: [second.pk], second.pk: [first.pk]}
    row = _text(page).split(f"#{first.pk} Conflicts with")[1][:40]
    assert f"#{second.pk}" in row


def test_the_approvals_row_shows_from_to_and_the_line_now(client, emea, advance):
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    override_request_create(
        user=_person("planner", emea, "anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )
    advance(line, "shipped")  # the line moved on since
    client.force_login(_person("supervisor", emea))

    page = _text(client.get("/backoffice/approvals/"))

    assert "Packed → Picking" in page and "now Shipped" in page


def test_approving_shows_what_happens_now_and_refuses_when_the_line_moved_meanwhile(client, emea, advance):
    # given a request to move a packed line back to picking, and a supervisor looking at the preview
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    request = override_request_create(
        user=_person("planner", emea, "anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )
    client.force_login(_person("supervisor", emea))
    preview = client.post(f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok"})
    assert preview.status_code == 200
    [row] = preview.context["preview"].lines
    assert (row.line.status, row.outcome, row.status_after) == ("packed", "applied", "picking")
    assert "moves a line backwards" in _text(preview)

    # when the warehouse ships the line before the supervisor confirms
    advance(line, "shipped")
    confirmed = client.post(
        f"/backoffice/approvals/{request.pk}/approve/", {"note": "ok", "seen": preview.context["preview"].fingerprint}
    )

    # then the approval is refused with the new preview, and nothing changed
    assert confirmed.status_code == 200
    assert "The line changed while you were looking" in _text(confirmed)
    assert confirmed.context["preview"].lines[0].line.status == "shipped"
    request.refresh_from_db()
    line.refresh_from_db()
    assert (request.state, line.status) == ("pending", "shipped")

    # when they confirm what they see now, then it is applied
    assert approve_through_preview(client, request.pk, "ok").status_code == 302
    line.refresh_from_db()
    assert line.status == "picking"


def test_the_override_form_never_offers_the_current_status_and_tells_the_policy_per_target(client, emea, advance):
    line = OrderLineFactory(order__account__region=emea, part=PartFactory(criticality="B"))
    advance(line, "allocated")
    client.force_login(_person("planner", emea))

    form = client.get(f"/backoffice/lines/{line.pk}/").context["override_form"]

    labels = dict(form.fields["target_status"].choices)
    assert "allocated" not in labels
    assert labels["picking"] == "Picking · applied at once"
    assert labels["released"] == "Released · a second person approves (moves a line backwards)"
    assert labels["shipped"] == "Shipped · a second person approves (advances to Shipped without a source event)"


def test_a_german_user_sees_german_dates_and_reasons_in_berlin_time(client, emea, advance, t0):
    # given a pending request whose line SAP packed at 08:01 UTC, and a supervisor who reads German in Berlin
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    override_request_create(
        user=_person("planner", emea, "anna"),
        line_ids=[line.pk],
        target_status="picking",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )
    supervisor = _person("supervisor", emea)
    UserProfile.objects.create(user=supervisor, language="de", time_zone="Europe/Berlin")
    client.force_login(supervisor)

    # when they open the approvals and the line
    approvals = _text(client.get("/backoffice/approvals/"))
    timeline = _text(client.get(f"/backoffice/lines/{line.pk}/"))

    # then the reasons are German, and times are German-formatted in Berlin time with the zone named
    assert "setzt eine Position zurück" in approvals
    assert "02.11.2026 09:01 CET" in timeline  # SAP packed it at 08:01 UTC
    assert "2 Nov 2026" not in timeline


def test_a_discrepancy_summary_is_stored_as_a_code_and_read_in_each_language(emea, advance, client):
    line = OrderLineFactory(order__account__region=emea)
    event = advance(line, "on_hold").event
    case = discrepancy_open_for_contested_override(line_id=line.pk, event_id=event.pk, held_status="shipped")

    assert (case.summary_code, case.summary_params["status"], case.summary_params["held"]) == (
        "override_contested",
        "on_hold",
        "shipped",
    )
    german = _person("planner", emea, "jonas")
    UserProfile.objects.create(user=german, language="de")
    client.force_login(german)
    page = _text(client.get(f"/backoffice/lines/{line.pk}/"))
    assert "SAP-ERP meldet Angehalten; eine Übersteuerung hält Versandt" in page


def test_english_text_stored_before_codes_is_migrated_to_codes():
    # given the English the code used to store
    migration = importlib.import_module("overrides.migrations.0004_coded_texts_data")

    # then each sentence becomes its code with parameters, and anything else stays as written
    assert migration._reason("bulk override of 3 lines") == {"code": "bulk", "params": {"count": 3}}
    assert migration._reason("advances to Out for delivery without a source event") == {
        "code": "unconfirmed_advance",
        "params": {"status": "out_for_delivery"},
    }
    assert migration._reason("something else") == "something else"
    assert migration._summary("EWM-RTM says shipped; SAP-ERP still says being picked") == (
        "ledger_behind",
        {"leading": "EWM-RTM", "reported": "shipped", "ledger": "SAP-ERP", "current": "picking"},
    )
    assert migration._summary("SAP-ERP reports On hold; an override holds Shipped") == (
        "override_contested",
        {"source": "SAP-ERP", "status": "on_hold", "held": "shipped"},
    )
    assert migration._summary("Typed by a person") == ("", {})


def test_the_migration_rewrites_stored_rows(emea, advance):
    from django.apps import apps

    line = OrderLineFactory(order__account__region=emea)
    request = override_request_create(
        user=_person("planner", emea),
        line_ids=[line.pk],
        target_status="shipped",
        reason_code="data_correction",
        justification=JUSTIFICATION,
    )
    OverrideRequest.objects.filter(pk=request.pk).update(
        approval_reasons=["moves a line backwards", "A-criticality part"]
    )
    case = Discrepancy.objects.create(
        kind="sources",
        line=line,
        summary="EWM says packed; SAP has reported nothing for this line",
        opened_at=timezone.now(),
        due_at=timezone.now(),
        fingerprint="x",
    )

    importlib.import_module("overrides.migrations.0004_coded_texts_data").forwards(apps, None)

    request.refresh_from_db()
    case.refresh_from_db()
    assert request.approval_reasons == [{"code": "backwards", "params": {}}, {"code": "criticality_a", "params": {}}]
    assert (case.summary_code, case.summary_params["reported"]) == ("ledger_silent", "packed")


def test_my_preferences_save_language_and_zone_and_the_switcher_keeps_my_choice(client, emea):
    planner = _person("planner", emea)
    client.force_login(planner)

    saved = client.post("/backoffice/preferences/", {"language": "fr", "time_zone": "Europe/Paris"})
    assert saved.status_code == 302
    assert (planner.profile.language, planner.profile.time_zone) == ("fr", "Europe/Paris")

    # when they switch the header's language to German, then the profile follows (and keeps the zone)
    client.post("/backoffice/language/", {"language": "de", "next": QUEUE})
    planner.profile.refresh_from_db()
    assert (planner.profile.language, planner.profile.time_zone) == ("de", "Europe/Paris")
    assert client.get(QUEUE).headers["Content-Language"] == "de"


def test_a_planner_opening_reconciliation_gets_the_styled_page_and_sees_only_their_links(client, emea):
    client.force_login(_person("planner", emea))

    refused = client.get("/backoffice/reconciliations/", HTTP_REFERER="http://testserver/backoffice/")
    queue = client.get(QUEUE).content.decode()

    assert refused.status_code == 403
    assert [template.name for template in refused.templates][0] == "backoffice/forbidden.html"
    page = refused.content.decode()
    assert 'id="refusal-reason"' in page and 'id="refusal-back"' in page
    nav = queue.split('class="bo-nav"')[1].split("</nav>")[0]
    assert "/backoffice/approvals/" in nav
    assert "/backoffice/reconciliations/" not in nav and "/backoffice/access-reviews/" not in nav


def test_the_approvals_page_runs_the_same_queries_for_few_or_many_requests(client, emea, advance):
    client.force_login(_person("supervisor", emea))
    requester = _person("planner", emea, "anna")

    def ask(count):
        for _ in range(count):
            line = OrderLineFactory(order__account__region=emea)
            advance(line, "packed")
            override_request_create(
                user=requester,
                line_ids=[line.pk],
                target_status="picking",
                reason_code="data_correction",
                justification=JUSTIFICATION,
            )

    ask(2)
    client.get("/backoffice/approvals/")  # the person's preferences are read once, then cached
    with CaptureQueriesContext(connection) as few:
        client.get("/backoffice/approvals/")
    ask(8)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/backoffice/approvals/").context["pending"]) == 10

    assert len(many) == len(few)


def test_the_integration_tools_are_linked_for_the_people_allowed(client, emea):
    # given an administrator (configuration people work in /admin/) and a planner
    admin = _person("admin", emea)
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    nav = client.get(QUEUE).content.decode().split('class="bo-nav"')[1].split("</nav>")[0]
    client.force_login(_person("planner", emea, "planner"))
    planner_nav = client.get(QUEUE).content.decode().split('class="bo-nav"')[1].split("</nav>")[0]

    # then the administrator's navigation links the dry run, the sheet upload and the blank sheet; the planner's does not
    for url in ("/admin/integrations/inboundmessage/dry-run/", "/admin/integrations/inboundmessage/upload-sheet/"):
        assert url in nav and url not in planner_nav
    assert "/admin/integrations/inboundmessage/blank-sheet/" in nav
