"""Reconciliation after an outage: re-read a source's messages, replay each line's facts with the
ones it never recorded, list the lines whose status that changes, and record those facts as the
source's, approved by a second person (four-eyes), by service, command and back-office page."""

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from integrations.models import (
    InboundMessage,
    MessageFormat,
    MessageState,
    SourceKind,
    SourceSystem,
    StatusMapping,
    Transport,
)
from integrations.services.inbox import inbound_messages_replay
from orders.models import ActorKind, EventKind, OrderLine, StatusEvent
from orders.services import Actor, apply_status_update
from overrides.models import ReconciliationRun
from overrides.services.reconciliation import (
    reconciliation_run_apply,
    reconciliation_run_create,
    reconciliation_run_discard,
)
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "order,line,status,time,site,clerk\n"
message_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Nobody here logs in with a password (force_login): hash the factory's quickly."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def depot(db):
    """A paper-based depot in Lyon: naive sheet times are Paris time (UTC+1 in November)."""
    source = SourceSystem.objects.create(
        code="depot-lyon",
        name="Depot Lyon",
        kind=SourceKind.DEPOT,
        message_format=MessageFormat.CSV_DEPOT,
        transport=Transport.FILE,
        time_zone="Europe/Paris",
    )
    for code, status in (("PICKED", "picking"), ("PACKED", "packed"), ("SHIPPED", "shipped")):
        StatusMapping.objects.create(source=source, external_code=code, status=status)
    return source


def _person(username: str, role: str):
    """A member of a role group who works on the orders of EMEA."""
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, RegionFactory(code="emea"))
    return user


@pytest.fixture
def night_supervisor(db):
    return _person("night-supervisor", "supervisor")


@pytest.fixture
def day_supervisor(db):
    return _person("day-supervisor", "supervisor")


@pytest.fixture
def planner(db):
    return _person("planner", "planner")


def _stored(source, *rows: str, state=MessageState.DEAD, received_at=None) -> InboundMessage:
    """A message stored during the outage and never applied."""
    message = InboundMessage.objects.create(
        source=source,
        message_id=f"sheet-{next(message_numbers)}",
        transport=Transport.FILE,
        raw=HEADER + "".join(f"{row}\n" for row in rows),
        state=state,
    )
    InboundMessage.objects.filter(pk=message.pk).update(received_at=received_at or timezone.now() - timedelta(hours=1))
    message.refresh_from_db()
    return message


@pytest.fixture
def outage(depot, advance):
    """Lines moved by SAP before the outage (08:01 to 08:04 UTC), then the depot's sheets stored but
    never applied (Paris time: 10:30 there is 09:30 UTC)."""
    lines = {
        "behind": OrderLineFactory(order__number="SO-1", number="10"),
        "agrees": OrderLineFactory(order__number="SO-2", number="10"),
        "reordered": OrderLineFactory(order__number="SO-3", number="10"),
        "ahead": OrderLineFactory(order__number="SO-4", number="10"),
        "elsewhere": OrderLineFactory(
            order__number="SO-9", number="10", order__account__region=RegionFactory(code="apac", name="Asia-Pacific")
        ),
    }
    advance(lines["behind"], "packed")
    advance(lines["agrees"], "picking")
    advance(lines["reordered"], "picking")
    advance(lines["ahead"], "shipped")
    messages = {
        "behind": _stored(depot, "SO-1,10,SHIPPED,2026-11-02 10:30,lyon,ana"),
        "agrees": _stored(depot, "SO-2,10,PICKED,2026-11-02 09:05,lyon,ana", state=MessageState.RECEIVED),
        # received first but later by the depot's clock: it is the latest word
        "reordered_late": _stored(depot, "SO-3,10,SHIPPED,2026-11-02 10:00,lyon,ana"),
        # later by the clock, but behind where SAP has moved the line: late news, not a correction
        "reordered_early": _stored(depot, "SO-3,10,PACKED,2026-11-02 09:50,lyon,ana", state=MessageState.RECEIVED),
        "ahead": _stored(depot, "SO-4,10,PACKED,2026-11-02 11:00,lyon,ana"),
        "elsewhere": _stored(depot, "SO-9,10,SHIPPED,2026-11-02 10:00,lyon,ana"),
        # processing refuses each of these as a whole, and so does the reconciliation
        "unknown_code": _stored(
            depot,
            "SO-1,10,KITTED,2026-11-02 09:10,lyon,ana",
            "SO-3,10,SHIPPED,2026-11-02 11:10,lyon,ana",
            state=MessageState.QUARANTINED,
        ),
        "unknown_line": _stored(
            depot,
            "SO-404,10,SHIPPED,2026-11-02 09:10,lyon,ana",
            "SO-3,10,SHIPPED,2026-11-02 11:20,lyon,ana",
        ),
        "unreadable": _stored(depot, state=MessageState.DEAD),
        # before the outage window: not read
        "before": _stored(
            depot, "SO-2,10,SHIPPED,2026-11-02 07:00,lyon,ana", received_at=timezone.now() - timedelta(hours=5)
        ),
    }
    return lines, messages


def _window() -> dict:
    return {"since": timezone.now() - timedelta(hours=3), "until": timezone.now()}


def _mismatches(run: ReconciliationRun) -> dict[str, tuple[str, str]]:
    return {
        str(item.line): (item.current_status, item.proposed_status) for item in run.items.select_related("line__order")
    }


def _apply_all(run: ReconciliationRun, user) -> ReconciliationRun:
    return reconciliation_run_apply(run_id=run.pk, user=user, item_ids=list(run.items.values_list("pk", flat=True)))


def test_the_run_lists_exactly_the_lines_the_missing_facts_would_move(outage, night_supervisor):
    # given lines moved before an outage and the depot's sheets stored during it, never applied
    lines, messages = outage

    # when a supervisor reconciles the outage window
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # then the lines whose status the depot's missing facts change are listed, those in scope only;
    # the line SAP shipped is not set back to the depot's later "packed"
    assert _mismatches(run) == {"SO-1/10": ("packed", "shipped"), "SO-3/10": ("picking", "shipped")}
    # with the depot's time read in Paris time, and the facts and messages behind the proposal
    item = run.items.get(line=lines["reordered"])
    assert item.proposed_occurred_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert [(fact["status"], fact["outcome"]) for fact in item.missing_facts_shown] == [
        ("Packed", "Applied"),
        ("Shipped", "Applied"),
    ]
    assert item.message_ids == sorted([messages["reordered_late"].pk, messages["reordered_early"].pk])
    # every message of the window was read, whatever its state; the old one was not
    assert run.messages_read == 9
    assert (run.tally.unknown_codes, run.tally.unknown_lines, run.tally.unreadable_messages) == (1, 1, 1)
    assert (run.created_by, run.state) == (night_supervisor, ReconciliationRun.State.PROPOSED)
    # and nothing changed
    assert OrderLine.objects.get(pk=lines["behind"].pk).status == "packed"


def test_without_a_user_every_line_is_compared(outage):
    # given the outage
    lines, _messages = outage

    # when the run is made without a person (the command)
    run = reconciliation_run_create(source_code="depot-lyon", **_window())

    # then the line out of everyone's scope is listed too
    assert _mismatches(run)["SO-9/10"] == ("received", "shipped")
    assert run.created_by is None


def test_a_second_supervisor_records_the_missing_facts_as_the_sources_with_their_messages(
    outage, night_supervisor, day_supervisor
):
    # given a run started by the night supervisor
    lines, messages = outage
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # when the day supervisor applies every correction
    _apply_all(run, day_supervisor)

    # then the lines have the status the depot's facts give them, and the others are as they were
    statuses = dict(OrderLine.objects.filter(pk__in=[line.pk for line in lines.values()]).values_list("pk", "status"))
    assert statuses[lines["behind"].pk] == "shipped"
    assert statuses[lines["reordered"].pk] == "shipped"
    assert statuses[lines["ahead"].pk] == "shipped"
    assert statuses[lines["elsewhere"].pk] == "received"
    # and each change is the depot's own fact, from the message that said it, approved by the day supervisor
    event = StatusEvent.objects.filter(line=lines["behind"]).latest("sequence")
    assert (event.kind, event.actor_kind, event.actor_label, event.source_system) == (
        EventKind.FACT,
        ActorKind.INTEGRATION,
        "depot-lyon",
        "depot-lyon",
    )
    assert (event.to_status, event.occurred_at) == ("shipped", datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    assert (event.inbound_message_id, event.approved_by) == (messages["behind"].pk, day_supervisor)
    reordered = StatusEvent.objects.filter(line=lines["reordered"], kind=EventKind.FACT, source_system="depot-lyon")
    assert {(event.to_status, event.inbound_message_id, event.approved_by) for event in reordered} == {
        ("packed", messages["reordered_early"].pk, day_supervisor),
        ("shipped", messages["reordered_late"].pk, day_supervisor),
    }
    # and the run is kept as the report
    run.refresh_from_db()
    assert (run.state, run.applied_by) == (ReconciliationRun.State.APPLIED, day_supervisor)
    assert run.applied_at is not None
    assert set(run.items.values_list("applied", flat=True)) == {True}


def test_a_second_run_after_applying_proposes_nothing(outage, night_supervisor, day_supervisor):
    # given a reconciliation applied
    lines, _messages = outage
    _apply_all(reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window()), day_supervisor)
    events = StatusEvent.objects.count()

    # when the same window is reconciled again
    again = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # then the depot's facts are all recorded: nothing is proposed, and nothing changed
    assert _mismatches(again) == {}
    assert StatusEvent.objects.count() == events
    assert OrderLine.objects.get(pk=lines["behind"].pk).status == "shipped"


def test_replaying_the_dead_letters_after_applying_records_nothing_twice(
    outage, night_supervisor, day_supervisor, django_capture_on_commit_callbacks
):
    # given a reconciliation applied
    lines, messages = outage
    _apply_all(reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window()), day_supervisor)
    before = set(StatusEvent.objects.filter(line=lines["reordered"]).values_list("pk", flat=True))

    # when the dead letters are replayed through processing
    with django_capture_on_commit_callbacks(execute=True):
        inbound_messages_replay(message_ids=[messages["reordered_late"].pk, messages["behind"].pk])

    # then processing finds the facts already recorded: the same facts, not new ones
    assert InboundMessage.objects.get(pk=messages["reordered_late"].pk).state == MessageState.PROCESSED
    assert set(StatusEvent.objects.filter(line=lines["reordered"]).values_list("pk", flat=True)) == before
    assert StatusEvent.objects.filter(line=lines["behind"], to_status="shipped").count() == 1


def test_facts_processing_recorded_meanwhile_are_not_proposed(
    outage, night_supervisor, django_capture_on_commit_callbacks
):
    # given the dead letter about SO-1 replayed and processed before anyone reconciles
    lines, messages = outage
    with django_capture_on_commit_callbacks(execute=True):
        inbound_messages_replay(message_ids=[messages["behind"].pk])
    assert OrderLine.objects.get(pk=lines["behind"].pk).status == "shipped"

    # when the window is reconciled
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # then the line is not listed: its fact is recorded, by the key processing gives it
    assert "SO-1/10" not in _mismatches(run)
    assert "SO-3/10" in _mismatches(run)


def test_a_source_fact_another_source_has_since_superseded_proposes_nothing(depot, advance, night_supervisor):
    # given a line SAP picked, then cancelled at 09:30 UTC
    line = OrderLineFactory(order__number="SO-7", number="10")
    advance(line, "picking")
    apply_status_update(
        line_id=line.pk,
        status="cancelled",
        occurred_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        actor=Actor.integration("SAP-ERP"),
    )
    # and the depot's sheet of 09:00 UTC (10:00 in Lyon), saying it was packed, lost in the outage
    _stored(depot, "SO-7,10,PACKED,2026-11-02 10:00,lyon,ana")

    # when the outage is reconciled
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # then the line is not proposed as packed: SAP's later cancellation stands
    assert _mismatches(run) == {}
    assert OrderLine.objects.get(pk=line.pk).status == "cancelled"


def test_the_supervisor_who_started_the_run_may_not_apply_it(outage, night_supervisor):
    # given a run started by the night supervisor
    lines, _messages = outage
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # when they apply it themselves
    with pytest.raises(PermissionDenied):
        reconciliation_run_apply(run_id=run.pk, user=night_supervisor, item_ids=[run.items.first().pk])

    # then nothing changed
    assert OrderLine.objects.get(pk=lines["behind"].pk).status == "packed"
    assert ReconciliationRun.objects.get(pk=run.pk).state == ReconciliationRun.State.PROPOSED


def test_a_planner_may_neither_start_nor_apply_a_run(outage, planner, night_supervisor):
    # given a run started by a supervisor
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # then a planner may not start or apply one
    with pytest.raises(PermissionDenied):
        reconciliation_run_create(source_code="depot-lyon", user=planner, **_window())
    with pytest.raises(PermissionDenied):
        reconciliation_run_apply(run_id=run.pk, user=planner, item_ids=[run.items.first().pk])


def test_a_line_that_moved_since_the_run_refuses_the_batch(outage, night_supervisor, day_supervisor, advance):
    # given a run, then a line that moved on meanwhile
    lines, _messages = outage
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())
    advance(lines["behind"], "shipped")

    # when the day supervisor applies every correction
    with pytest.raises(ValidationError) as raised:
        reconciliation_run_apply(
            run_id=run.pk, user=day_supervisor, item_ids=list(run.items.values_list("pk", flat=True))
        )

    # then nothing is applied, and the moved line is named
    assert "SO-1/10" in str(raised.value)
    assert OrderLine.objects.get(pk=lines["ahead"].pk).status == "shipped"
    assert not run.items.filter(applied=True).exists()


def test_an_out_of_scope_correction_cannot_be_applied(outage, day_supervisor):
    # given a run from the command, which lists the line in Asia-Pacific too
    lines, _messages = outage
    run = reconciliation_run_create(source_code="depot-lyon", **_window())
    elsewhere = run.items.get(line=lines["elsewhere"])

    # when an EMEA supervisor applies it, it does not exist for them
    with pytest.raises(elsewhere.DoesNotExist):
        reconciliation_run_apply(run_id=run.pk, user=day_supervisor, item_ids=[elsewhere.pk])

    # and the line stays as it is
    assert OrderLine.objects.get(pk=lines["elsewhere"].pk).status == "received"


def test_a_discarded_run_changes_nothing_and_can_no_longer_be_applied(outage, night_supervisor, day_supervisor):
    # given a run the night supervisor started
    lines, _messages = outage
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())

    # when they discard it
    reconciliation_run_discard(run_id=run.pk, user=night_supervisor)

    # then it cannot be applied any more and the lines are as they were
    with pytest.raises(ValidationError):
        reconciliation_run_apply(run_id=run.pk, user=day_supervisor, item_ids=[run.items.first().pk])
    assert ReconciliationRun.objects.get(pk=run.pk).state == ReconciliationRun.State.DISCARDED
    assert OrderLine.objects.get(pk=lines["behind"].pk).status == "packed"


def test_a_partial_confirmation_of_a_line_not_split_yet_is_left_to_a_replay(night_supervisor):
    # given a JSON source that confirmed 2 of 5 parts shipped during the outage, never processed
    source = SourceSystem.objects.create(
        code="wms-rtm", name="WMS Rotterdam", kind=SourceKind.WMS, message_format=MessageFormat.CANONICAL_JSON
    )
    line = OrderLineFactory(order__number="SO-5", number="10", quantity=5)
    document = {"order": "SO-5", "line": "10", "status": "shipped", "quantity": 2, "occurred_at": "2026-11-02T09:00Z"}
    InboundMessage.objects.create(
        source=source, message_id="p-1", transport=Transport.WEBHOOK, raw=json.dumps({"statuses": [document]})
    )

    # when the outage is reconciled
    run = reconciliation_run_create(source_code="wms-rtm", user=night_supervisor, **_window())

    # then the whole line is not proposed as shipped: only processing splits it, so it is counted for a replay
    assert not run.items.exists()
    assert run.tally.partials == 1
    assert OrderLine.objects.get(pk=line.pk).status == "received"


def test_a_window_that_ends_before_it_starts_is_refused(depot, night_supervisor):
    now = timezone.now()

    with pytest.raises(ValidationError):
        reconciliation_run_create(source_code="depot-lyon", since=now, until=now - timedelta(hours=1))


def test_the_command_prints_the_mismatches_and_the_run(outage, night_supervisor):
    # given the outage
    _lines, messages = outage
    out = StringIO()

    # when the night supervisor reconciles the window from the command line
    since = (timezone.now() - timedelta(hours=3)).isoformat()
    call_command("reconcile", "--source", "depot-lyon", "--since", since, "--user", "night-supervisor", stdout=out)

    # then it prints a table of the mismatches in the person's scope and the run id
    output = out.getvalue()
    rows = [line.split() for line in output.splitlines()]
    assert rows[0] == ["line", "current", "proposed", "since", "messages"]
    assert ["SO-1/10", "packed", "shipped", "2026-11-02T09:30:00+00:00", str(messages["behind"].pk)] in rows
    assert not [row for row in rows if row[0] == "SO-9/10"]  # Asia-Pacific: out of the night supervisor's scope
    run = ReconciliationRun.objects.get()
    assert f"Reconciliation run #{run.pk}: 2 mismatch(es) in 9 message(s) read" in output
    assert run.created_by == night_supervisor


def test_a_command_line_run_obeys_four_eyes_and_its_corrections_name_both_people(
    outage, night_supervisor, day_supervisor
):
    # given a run the night supervisor started from the command line
    lines, _messages = outage
    since = (timezone.now() - timedelta(hours=3)).isoformat()
    call_command(
        "reconcile", "--source", "depot-lyon", "--since", since, "--user", "night-supervisor", stdout=StringIO()
    )
    run = ReconciliationRun.objects.get()

    # when the night supervisor tries to apply it, then it is refused
    with pytest.raises(PermissionDenied):
        _apply_all(run, night_supervisor)

    # when the day supervisor applies it
    _apply_all(run, day_supervisor)

    # then each recorded fact is the source's, naming who started the run and who applied it
    event = OrderLine.objects.get(pk=lines["behind"].pk).events.order_by("sequence").last()
    assert (event.actor_kind, event.actor_label) == ("integration", "depot-lyon")
    assert (event.actor_user, event.approved_by) == (night_supervisor, day_supervisor)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ([], "the following arguments are required: --user"),
        (["--user", "nobody"], "No active user 'nobody'"),
        (["--user", "planner"], "planner may not start a reconciliation"),
    ],
    ids=["no-user", "unknown-user", "not-allowed"],
)
def test_the_command_needs_a_user_who_may_start_a_run(outage, planner, arguments, error):
    since = (timezone.now() - timedelta(hours=3)).isoformat()
    with pytest.raises(CommandError, match=error):
        call_command("reconcile", "--source", "depot-lyon", "--since", since, *arguments, stdout=StringIO())


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--source", "nowhere", "--since", "2026-11-02T08:00:00Z", "--user", "night-supervisor"], "Unknown source"),
        (["--source", "depot-lyon", "--since", "yesterday", "--user", "night-supervisor"], "--since needs an ISO time"),
        (
            ["--source", "depot-lyon", "--since", "2026-11-02T08:00:00", "--user", "night-supervisor"],
            "--since needs an ISO time",
        ),
    ],
    ids=["unknown-source", "not-a-time", "no-zone"],
)
def test_the_command_refuses_an_unknown_source_or_a_bad_time(depot, night_supervisor, arguments, error):
    with pytest.raises(CommandError, match=error):
        call_command("reconcile", *arguments, stdout=StringIO())


def test_the_page_starts_lists_and_applies_a_run(client, outage, night_supervisor, day_supervisor):
    # given the outage; the night supervisor starts a run on the page
    lines, messages = outage
    client.force_login(night_supervisor)
    since = (timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(reverse("backoffice:reconciliations"), {"source": "depot-lyon", "since": since})
    run = ReconciliationRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("backoffice:reconciliation", args=[run.pk])
    assert run.created_by == night_supervisor
    # the person who started it is offered no checkboxes
    page = client.get(response.url).content.decode()
    assert 'name="items"' not in page
    assert "someone else must apply" in page

    # when the day supervisor opens the list and the run
    client.force_login(day_supervisor)
    listing = client.get(reverse("backoffice:reconciliations")).content.decode()
    detail = client.get(reverse("backoffice:reconciliation", args=[run.pk])).content.decode()

    # then the run and its mismatches in scope are shown, never the line out of scope
    assert reverse("backoffice:reconciliation", args=[run.pk]) in listing
    assert "SO-1/10" in detail
    assert "SO-3/10" in detail
    assert "SO-9/10" not in detail
    assert f"#{messages['reordered_late'].pk}" in detail
    # each line links to its page; its times in the short format every other page uses
    assert reverse("backoffice:line", args=[lines["behind"].pk]) in detail
    assert "(once recorded: Applied)" in detail  # what the fact would do, not "applied" already
    german = client.get(reverse("backoffice:reconciliation", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    item_times = re.findall(r"<time datetime=[^>]*>([^<]*)</time>", german)
    assert item_times and all(re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d \S+", time) for time in item_times)

    # when they apply the correction of one line only
    chosen = run.items.get(line=lines["behind"])
    response = client.post(reverse("backoffice:reconciliation_apply", args=[run.pk]), {"items": [chosen.pk]})

    # then that line is corrected, the others wait, and the run is applied
    assert response.status_code == 302
    assert OrderLine.objects.get(pk=lines["behind"].pk).status == "shipped"
    assert OrderLine.objects.get(pk=lines["reordered"].pk).status == "picking"
    assert list(run.items.filter(applied=True)) == [chosen]
    run.refresh_from_db()
    assert (run.state, run.applied_by) == (ReconciliationRun.State.APPLIED, day_supervisor)


def test_the_page_refuses_the_creator_and_people_without_the_right(client, outage, night_supervisor, planner):
    # given a run the night supervisor started
    run = reconciliation_run_create(source_code="depot-lyon", user=night_supervisor, **_window())
    item = run.items.first()

    # then they may not apply it on the page
    client.force_login(night_supervisor)
    response = client.post(reverse("backoffice:reconciliation_apply", args=[run.pk]), {"items": [item.pk]})
    assert response.status_code == 403

    # and a planner may not even see the reconciliations
    client.force_login(planner)
    assert client.get(reverse("backoffice:reconciliations")).status_code == 403
    assert client.get(reverse("backoffice:reconciliation", args=[run.pk])).status_code == 403
    assert not run.items.filter(applied=True).exists()
