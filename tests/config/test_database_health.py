"""A kept database connection is checked before each request uses it: one the server ended (a
restart, an administrator) is replaced, so the request does not fail; a healthy one is kept."""

import os
import resource
import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="kept connections are PostgreSQL's")


@pytest.fixture
def kept(db):
    """A connection as a WSGI server's thread keeps it between requests."""
    wrapper = connections.create_connection("default")
    wrapper.settings_dict.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
    yield wrapper
    wrapper.close()


def _request_pid(wrapper) -> int:
    """What a request does: Django's start-of-request check, then the request's first query."""
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_connection_the_server_ended_is_replaced_before_the_next_request_queries(kept):
    first = _request_pid(kept)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        for _ in range(100):  # until the server has let the session go
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [first])
            if not cursor.fetchone()[0]:
                break
            time.sleep(0.02)

    second = _request_pid(kept)

    assert second != first


def test_a_healthy_connection_is_kept_from_request_to_request(kept):
    pids = {_request_pid(kept) for _ in range(5)}

    assert len(pids) == 1


def test_checking_a_healthy_connection_sends_nothing_to_the_server(kept):
    pid = _request_pid(kept)

    kept.close_if_unusable_or_obsolete()  # the next request's start: its check
    kept.close_if_health_check_failed()

    # the server's record of the kept session still shows the last request's query, no SELECT 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        assert cursor.fetchone()[0] == "SELECT pg_backend_pid()"
    assert _request_pid(kept) == pid


def test_a_connection_on_a_descriptor_above_1024_is_kept(kept):
    # a busy process (many client sockets, a large Redis pool) has descriptors past select()'s limit
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1200:
        pytest.skip("needs an open-file limit of 1200")
    spare = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        kept.ensure_connection()
        assert kept.connection.fileno() > 1024
        pids = {_request_pid(kept) for _ in range(3)}
    finally:
        for descriptor in spare:
            os.close(descriptor)

    assert len(pids) == 1
