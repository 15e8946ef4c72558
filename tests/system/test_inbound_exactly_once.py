"""2,000 messages in five formats, 30% of them sent twice, posted concurrently to the real webhook
and applied by a real worker: every fact exactly once. And concurrent worker processes never drop
a message of a source whose other messages they hold."""

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from integrations.models import InboundMessage, MessageState
from integrations.signatures import signature_header
from orders.models import OutboxEvent

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

MESSAGES = 2_000
RESENT = 0.3
CLIENT_THREADS = 12


def post_all(base_url: str, posts: list[tuple[str, bytes]], secrets: dict[str, str]) -> list[int]:
    """POST each body, signed with its source's secret, from a pool of threads (one HTTP session
    per thread); returns the response statuses."""
    local = threading.local()

    def post(item: tuple[str, bytes]) -> int:
        source, body = item
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(
            f"{base_url}/api/v1/inbound/{source}/",
            data=body,
            headers={
                "X-Signature": signature_header(secret=secrets[source], source_code=source, body=body),
                "Content-Type": "text/plain",
            },
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        return list(pool.map(post, posts))


def test_every_message_is_applied_exactly_once_across_formats(stack, network):
    # given five source systems, lines known by order/line, SAP delivery item and bill of lading,
    # and 2,000 distinct facts about them, 30% of them sent twice, in random order
    sources = network.sources()
    traffic = network.traffic(network.lines(MESSAGES // 3), messages=MESSAGES, seed=20261102)
    rng = random.Random(7)
    bodies = traffic.bodies()
    posts = bodies + rng.sample(bodies, int(len(bodies) * RESENT))
    rng.shuffle(posts)
    stack.start_worker()
    web = stack.start_web()

    # when they are posted concurrently over HTTP while the worker applies them
    started = time.monotonic()
    statuses = post_all(web.url, posts, {code: source.secret for code, source in sources.items()})
    posting = time.monotonic() - started
    stack.wait_until(
        lambda: not InboundMessage.objects.exclude(state=MessageState.PROCESSED).exists(),
        timeout=240,
        what="every inbound message to be processed",
        tasks_may_be_lost=False,  # no worker dies here: a message left waiting had its task dropped
    )
    print(f"posted {len(posts)} in {posting:.1f} s; all processed after {time.monotonic() - started:.1f} s")

    # then each distinct message was accepted once and recognised as a duplicate the second time
    assert Counter(statuses) == {202: MESSAGES, 200: len(posts) - MESSAGES}
    assert InboundMessage.objects.count() == MESSAGES
    assert not InboundMessage.objects.exclude(state=MessageState.PROCESSED).exists()
    # and every line ends where its furthest fact put it, with one event per fact and an intact chain
    traffic.assert_applied_exactly_once()
    # and every change was delivered to its handlers by the worker, woken after each commit
    # (no sweep ran: a row left undelivered means a wake-up was lost)
    stack.wait_until(
        lambda: not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists(),
        timeout=180,
        what="every outbox row to be delivered",
        tasks_may_be_lost=False,
    )
    assert OutboxEvent.objects.filter(topic="line.status_changed").exists()


def test_no_message_of_a_busy_source_is_dropped_by_concurrent_workers(stack, network, receive):
    # given 400 messages of one source queued, and a worker whose two processes each take only
    # the message their task names (no batches to pick up what a task might drop)
    sources = network.sources("sys-json")
    traffic = network.traffic(network.lines(200), messages=400, seed=11, sources=("sys-json",))
    for _source, body in traffic.bodies():
        receive(sources["sys-json"], body.decode())

    # when the worker runs, with a sweep that re-queues retries but never a waiting message
    stack.start_worker(INBOUND_BATCH_SIZE="1")
    stack.wait_until(
        lambda: not InboundMessage.objects.exclude(state=MessageState.PROCESSED).exists(),
        timeout=90,
        what="every message to be processed by its own task",
        tasks_may_be_lost=False,
    )

    # then each was taken by its own task while the other process held messages of the same source
    traffic.assert_applied_exactly_once()
