"""A worker killed with SIGKILL in the middle of a backlog: a new worker and the sweep finish the
job, and nothing is lost or applied twice."""

import time

import pytest

from integrations.models import InboundMessage, MessageState

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

MESSAGES = 500


def _processed() -> int:
    return InboundMessage.objects.filter(state=MessageState.PROCESSED).count()


def test_messages_survive_a_worker_killed_mid_run(stack, network, receive):
    # given 500 messages in the inbox, their tasks queued in Redis and no worker yet
    sources = network.sources()
    traffic = network.traffic(network.lines(MESSAGES // 3), messages=MESSAGES, seed=9)
    for fact_source, body in traffic.bodies():
        receive(sources[fact_source], body.decode())

    # when a worker (small batches, so that the backlog takes a while) is killed part-way through,
    # pool children included, without any chance to finish, roll back or acknowledge
    first = stack.start_worker(INBOUND_BATCH_SIZE="5")
    stack.wait_until(lambda: _processed() >= 100, timeout=60, what="the first worker to process 100 messages")
    first.kill()
    time.sleep(0.5)  # PostgreSQL notices the dropped connections and rolls back what was open
    processed_at_kill = _processed()
    assert 0 < processed_at_kill < MESSAGES, "the worker was not killed mid-run"

    # and a new worker starts, with the sweep re-queueing what the killed one had taken
    stack.start_worker()
    stack.wait_until(lambda: _processed() == MESSAGES, timeout=120, what="every message to be processed")

    # then nothing was lost: every message processed once, every line where its facts put it,
    # one event per fact (none applied twice) and an intact audit chain
    assert not InboundMessage.objects.exclude(state=MessageState.PROCESSED).exists()
    traffic.assert_applied_exactly_once()
