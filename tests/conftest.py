"""Shared fixtures: times, actors and personas."""

import itertools
import os
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission

from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory, UserFactory

_exit_status = pytest.StashKey[int]()

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
# How long the run may take to exit after its summary before the threads still running are left.
EXIT_GRACE_SECONDS = 60


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_exit_status] = int(exitstatus)


def pytest_unconfigure(config):
    """A test that timed out can leave a thread that never ends (an event loop waiting forever);
    Python waits for such threads at exit, so the run would never end and CI would lose its whole
    time. Once the summary is printed, the run gets EXIT_GRACE_SECONDS to exit; then it exits
    with its own status, naming the threads it left."""
    status = config.stash.get(_exit_status, 1)

    def leave_them() -> None:
        names = [t.name for t in threading.enumerate() if t.is_alive() and not t.daemon]
        sys.stderr.write(f"\nthe run had not exited {EXIT_GRACE_SECONDS} s after its summary; left running: {names}\n")
        sys.stderr.flush()
        os._exit(status)

    watchdog = threading.Timer(EXIT_GRACE_SECONDS, leave_them)
    watchdog.daemon = True
    watchdog.start()


@pytest.fixture
def t0() -> datetime:
    """A fixed source-clock time facts are placed around."""
    return T0


@pytest.fixture
def sap() -> Actor:
    return Actor.integration("SAP-ERP")


@pytest.fixture
def line(db):
    return OrderLineFactory(quantity=10)


@pytest.fixture
def viewer(db):
    """A back-office person who may read orders through the API."""
    user = UserFactory(username="viewer")
    # every region: scope granted globally
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "view_orderline", "work_in_region"])
    )
    return user


@pytest.fixture
def supervisor(db):
    """May override line statuses on every line."""
    user = UserFactory(username="supervisor")
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_order",
                "view_orderline",
                "override_line_status",
                "change_discrepancy",
                "work_in_region",
            ]
        )
    )
    return user


@pytest.fixture
def outsider(db):
    """Signed in, but with no permission on orders."""
    return UserFactory(username="outsider")


@pytest.fixture
def advance(sap, t0):
    """Move a line by status facts from SAP, one minute apart after t0, so none is stale by its time.

    Returns the result of the last fact and leaves the line refreshed.
    """
    minutes = itertools.count(1)

    def advance(line, *statuses: str):
        result = None
        for status in statuses:
            result = apply_status_update(
                line_id=line.pk, status=status, occurred_at=t0 + timedelta(minutes=next(minutes)), actor=sap
            )
        line.refresh_from_db()
        return result

    return advance


@pytest.fixture(autouse=True)
def tasks_run_in_process():
    """Unit tests run Celery tasks where they are sent, even when REDIS_URL points at a broker;
    tests/system/ runs real workers."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def sign_in_limits_out_of_the_way(settings):
    """Every test client signs in from 127.0.0.1, and failed sign-ins are counted for 15 minutes
    in a cache shared across tests: the limits are tested in tests/config/test_sign_in_limits.py
    (which sets its own), not tripped here by the order tests run in."""
    settings.SIGN_IN_FAILURES_PER_ACCOUNT = settings.SIGN_IN_FAILURES_PER_NETWORK = 10**6


@pytest.fixture(autouse=True)
def audit_anchor_dir(settings, tmp_path):
    """Each test's digest files in a directory of its own, never the checkout's."""
    settings.AUDIT_ANCHOR_DIR = tmp_path / "audit-anchors"
    return settings.AUDIT_ANCHOR_DIR


@pytest.fixture(autouse=True)
def channel_layer_per_test():
    """Each test gets channel layers of its own: a consumer a failed test left receiving (on its
    own event loop, with the Redis layer) never holds the next tests' layer ("Two event loops are
    trying to receive() on one channel layer at once"), so one failure stays one failure."""
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()
