"""Polling REST sources: cursor per source, messages into the inbox, backoff when the source errors."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from integrations.models import InboundMessage, MessageFormat, Transport
from integrations.services.polling import source_poll, sources_due_for_poll
from integrations.tasks import poll_due_sources

pytestmark = pytest.mark.django_db


class FakeSource:
    """A REST source on a local port: pages of messages by cursor, or a failure on demand."""

    def __init__(self):
        self.pages = {
            "": {
                "messages": [{"message_id": "p-1", "statuses": []}, {"message_id": "p-2", "statuses": []}],
                "next_cursor": "c2",
            },
            "c2": {"messages": [{"message_id": "p-3", "statuses": []}], "next_cursor": "c3"},
            "c3": {"messages": [], "next_cursor": "c3"},
        }
        self.fail_with = None
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                fake.requests.append((query.get("cursor", [""])[0], self.headers.get("Authorization")))
                if fake.fail_with:
                    self.send_response(fake.fail_with)
                    self.end_headers()
                    self.wfile.write(b"upstream trouble")
                    return
                body = json.dumps(fake.pages[query.get("cursor", [""])[0]]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/statuses"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_source():
    fake = FakeSource()
    yield fake
    fake.close()


@pytest.fixture
def polled(make_source, fake_source):
    return make_source(
        "tms-poll",
        MessageFormat.CANONICAL_JSON,
        transport=Transport.POLL,
        poll_url=fake_source.url,
        poll_interval=timedelta(minutes=5),
    )


def test_poll_follows_the_cursor_and_stores_each_message_once(polled, fake_source):
    assert source_poll(source_id=polled.pk) == 2
    assert source_poll(source_id=polled.pk) == 1
    assert source_poll(source_id=polled.pk) == 0

    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == ["p-1", "p-2", "p-3"]
    assert all(message.transport == Transport.POLL for message in InboundMessage.objects.all())
    assert [cursor for cursor, _auth in fake_source.requests] == ["", "c2", "c3"]
    assert fake_source.requests[0][1] == f"Bearer {polled.secret}"
    polled.refresh_from_db()
    assert polled.poll_cursor == "c3"
    # an empty page: wait a full interval before asking again
    assert polled.next_poll_at > timezone.now() + timedelta(minutes=4)


def test_a_failing_source_backs_off_and_keeps_its_cursor(polled, fake_source):
    fake_source.fail_with = 503
    history_rows = polled.history.count()

    assert source_poll(source_id=polled.pk) == 0
    polled.refresh_from_db()
    first_wait = polled.next_poll_at - timezone.now()
    assert polled.poll_failures == 1 and "HTTP 503" in polled.last_poll_error
    source_poll(source_id=polled.pk)
    polled.refresh_from_db()

    assert polled.poll_failures == 2
    assert polled.next_poll_at - timezone.now() > first_wait  # exponential
    assert polled.poll_cursor == ""
    assert polled.history.count() == history_rows  # poll bookkeeping is not configuration history


def test_a_source_that_is_down_is_a_recorded_failure_not_a_crash(make_source):
    down = make_source(
        "tms-down", MessageFormat.CANONICAL_JSON, transport=Transport.POLL, poll_url="http://127.0.0.1:9/x"
    )

    assert source_poll(source_id=down.pk) == 0
    down.refresh_from_db()
    assert down.poll_failures == 1 and "ConnectionError" in down.last_poll_error


def test_periodic_task_polls_only_sources_that_are_due(polled, make_source, fake_source):
    make_source(
        "tms-later",
        MessageFormat.CANONICAL_JSON,
        transport=Transport.POLL,
        poll_url=fake_source.url,
        next_poll_at=timezone.now() + timedelta(hours=1),
    )

    assert sources_due_for_poll() == [polled.pk]
    assert poll_due_sources() == 2
