"""The demo set-up of `make run`: sources, back-office rules and people, scoped as promised."""

import re
import socket
import threading
import time
from collections import Counter
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from integrations.models import InboundMessage, MessageState, SourceSystem
from orders.models import Order, StatusEvent
from orders.scoping import orders_visible_to
from overrides.models import EscalationStep, StaleStatusRule
from overrides.services.reconciliation import reconciliation_run_create

pytestmark = pytest.mark.django_db


def test_demo_back_office_is_ready_to_use_and_idempotent(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", orders=20, seed=3)

    for _ in range(2):
        call_command("seed_demo_sources")
        output = StringIO()
        call_command("seed_demo_backoffice", url="http://127.0.0.1:8000/", stdout=output)

    # the start line names the back office and every demo person
    start = output.getvalue().strip().splitlines()[-1]
    assert "http://127.0.0.1:8000/backoffice/" in start
    for username in ["planner-emea", "planner-amer", "supervisor", "supervisor-2", "auditor", "integrator", "demo"]:
        assert username in start

    assert SourceSystem.objects.filter(code="SAP-ERP", mappings__external_code="PGI").exists()
    assert StaleStatusRule.objects.count() == 8
    assert list(EscalationStep.objects.values_list("level", "assignee_group__name")) == [
        (1, "planner"),
        (2, "supervisor"),
        (3, "admin"),
    ]
    users = get_user_model().objects
    planner = users.get(username="planner-emea")
    supervisor = users.get(username="supervisor")
    assert planner.check_password("demo") and planner.has_perm("overrides.add_overriderequest")
    assert not planner.has_perm("overrides.approve_overriderequest")
    assert set(orders_visible_to(planner).values_list("region__code", flat=True)) <= {"emea"}
    assert orders_visible_to(supervisor).count() == Order.objects.count()
    # two supervisors, so that one can apply the reconciliation the other started
    second = users.get(username="supervisor-2")
    assert second.has_perm("overrides.apply_reconciliationrun") and second.check_password("demo")


def test_the_demo_has_inbound_messages_and_a_reconciliation_with_something_to_correct(settings):
    # given the demo of make run
    settings.DEBUG = True
    call_command("seed_demo", orders=150, seed=5, stdout=StringIO())
    call_command("seed_demo_sources", stdout=StringIO())

    # when its inbound messages are sent through the intake (twice: the second time does nothing)
    call_command("seed_demo_messages", stdout=StringIO())
    call_command("seed_demo_messages", stdout=StringIO())

    # then the inbox holds processed messages the timelines link to, two quarantined on an
    # unknown code and dead letters
    states = Counter(InboundMessage.objects.values_list("state", flat=True))
    assert states[MessageState.PROCESSED] >= 1
    assert states[MessageState.QUARANTINED] == 2
    assert states[MessageState.DEAD] >= 2
    processed = InboundMessage.objects.filter(state=MessageState.PROCESSED).values_list("pk", flat=True)
    assert StatusEvent.objects.filter(inbound_message_id__in=list(processed)).exists()
    # and a supervisor's reconciliation over the depot portal's last days finds corrections
    run = reconciliation_run_create(source_code="DEPOT-PORTAL", since=timezone.now() - timedelta(days=2))
    assert run.items.exists()


def test_the_start_line_of_make_run_is_the_last_thing_before_the_servers_own_lines():
    # the recipe of `make run`: seeds first, then the helpers in the background, then the server
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    recipe = makefile.split("\nrun: migrate\n", 1)[1].split("\n\n", 1)[0]
    commands = [part.strip(" \t@;\\") for part in re.split(r"&|\\\n|;", recipe) if part.strip(" \t@;\\")]
    start = next(i for i, command in enumerate(commands) if "--start-line" in command)

    # the start line comes after everything else that prints at start-up, right before runserver
    assert "runserver" in commands[start + 1] and start + 2 == len(commands)
    assert any("fake_twilio" in command for command in commands[:start])
    beat = next(command for command in commands[:start] if " beat" in command)
    assert "--quiet" in beat  # no banner from the scheduler after the start line
    assert "export PYTHONUNBUFFERED = 1" in makefile  # nobody's lines arrive late from a buffer


def test_the_start_line_alone_configures_nothing_and_waits_for_the_local_twilio_fake(settings):
    settings.DEBUG = True
    settings.TWILIO_API_URL = ""  # no fake to wait for
    output = StringIO()

    call_command("seed_demo_backoffice", start_line=True, url="http://127.0.0.1:8000/", stdout=output)

    # one line, naming the back office and every demo person, and nothing was set up
    lines = output.getvalue().strip().splitlines()
    assert len(lines) == 1 and "http://127.0.0.1:8000/backoffice/" in lines[0]
    assert all(name in lines[0] for name in ["planner-emea", "supervisor-2", "auditor", "integrator"])
    # the portal's people too, where they sign in
    assert "http://127.0.0.1:8000/portal/ as customer, dealer" in lines[0]
    assert "http://127.0.0.1:8000/tech/ as technician" in lines[0]
    assert not StaleStatusRule.objects.exists()
    assert not get_user_model().objects.filter(username="planner-emea").exists()


def test_the_start_line_comes_once_the_twilio_fake_listens(settings):
    # given a fake Twilio that starts listening a moment after the start-line command begins
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TWILIO_API_URL = f"http://127.0.0.1:{port}"
    listening_at = []

    def start_fake():
        time.sleep(0.6)
        server = socket.create_server(("127.0.0.1", port))
        listening_at.append(time.monotonic())
        time.sleep(1.5)
        server.close()

    fake = threading.Thread(target=start_fake)
    fake.start()
    output = StringIO()
    call_command("seed_demo_backoffice", start_line=True, url="http://127.0.0.1:8000/", stdout=output)
    printed_at = time.monotonic()
    fake.join()

    # then the line was printed only after the fake listened
    assert listening_at and printed_at >= listening_at[0]
    assert "Serving on http://127.0.0.1:8000/" in output.getvalue()
