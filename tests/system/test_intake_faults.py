"""The webhook under broker and database faults, with the real web server and worker:

- Redis (this test's own redis-server) stopped during intake: every message is still answered
  202 once its row is committed, and applied after Redis is back (the sweep queues it).
- PostgreSQL unreachable (a TCP proxy in front of it, cut and restored): 503 in JSON, never a
  2xx without a row.
"""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from integrations.models import InboundMessage, MessageState
from tests.system.conftest import TcpProxy, post_signed_body, use_broker

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


def _all_processed() -> bool:
    return not InboundMessage.objects.exclude(state=MessageState.PROCESSED).exists()


def test_with_redis_stopped_every_committed_message_is_answered_202_and_applied_when_it_returns(
    stack, network, own_redis
):
    # given a web server and a worker on this test's own Redis, and traffic about 60 lines
    use_broker(own_redis.url)
    try:
        source = network.sources("sys-json")["sys-json"]
        traffic = network.traffic(network.lines(40), messages=90, seed=44, sources=("sys-json",))
        bodies = [body for _code, body in traffic.bodies()]
        stack.start_worker(REDIS_URL=own_redis.url, supervised=True)
        web = stack.start_web(REDIS_URL=own_redis.url)
        before = [post_signed_body(web.url, source, body) for body in bodies[:30]]
        assert Counter(response.status_code for response in before) == {202: 30}
        stack.wait_until(_all_processed, timeout=60, what="the first 30 messages", tasks_may_be_lost=False)

        # when Redis stops and messages keep coming
        own_redis.stop()
        started = time.monotonic()
        during = [post_signed_body(web.url, source, body) for body in bodies[30:]]
        seconds_per_message = (time.monotonic() - started) / len(during)
        print(f"{seconds_per_message:.2f} s per message with Redis down")

        # then every one is answered 202 with its row, without waiting on the broker for long
        assert Counter(response.status_code for response in during) == {202: 60}, during[0].text
        ids = [response.json()["id"] for response in during]
        assert InboundMessage.objects.filter(receipt__in=ids).count() == 60
        assert seconds_per_message < 5
        assert InboundMessage.objects.filter(receipt__in=ids, state=MessageState.RECEIVED).exists()

        # and when Redis is back, the sweep queues them and the worker applies them all, once
        own_redis.start()
        stack.wait_until(_all_processed, timeout=120, what="every message after Redis returned")
        traffic.assert_applied_exactly_once()
    finally:
        use_broker(django_settings.REDIS_URL)


def test_with_postgresql_unreachable_the_webhook_answers_503_and_never_2xx_without_a_row(stack, network):
    # given a web server that reaches PostgreSQL through a proxy we can cut, and a worker that does not
    database = connection.settings_dict
    proxy = TcpProxy((database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)))
    proxy.restore()
    source = network.sources("sys-json")["sys-json"]
    traffic = network.traffic(network.lines(120), messages=300, seed=45, sources=("sys-json",))
    bodies = [body for _code, body in traffic.bodies()]
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    web = stack.start_web(DATABASE_URL=f"postgres://{credentials}@127.0.0.1:{proxy.port}/{database['NAME']}")
    stack.start_worker()

    # when messages are posted from four clients while the database is cut off twice, mid-stream
    def post(body: bytes) -> tuple[bytes, int, dict | None]:
        time.sleep(0.03)  # a steady stream, so that the outages fall in the middle of it
        try:
            response = post_signed_body(web.url, source, body, timeout=60)
        except requests.RequestException as error:
            return body, 0, {"error": repr(error)}
        return body, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(post, bodies)
        for _outage in range(2):
            time.sleep(0.5)
            proxy.cut()
            time.sleep(2)
            proxy.restore()
        results = list(results)
    proxy.cut()

    # then every answer is a 202 or a 503 in JSON, and there were both
    statuses = Counter(status for _body, status, _json in results)
    assert set(statuses) <= {202, 503}, (statuses, [answer for _b, status, answer in results if status == 0][:3])
    assert statuses[503] > 0 and statuses[202] > 0, statuses
    assert all("database is unavailable" in answer["error"] for _b, status, answer in results if status == 503)
    # and every 202 has its row, holding the body that was sent
    accepted = {answer["id"]: body for body, status, answer in results if status == 202}
    rows = dict(InboundMessage.objects.filter(receipt__in=accepted).values_list("receipt", "raw"))
    assert {str(receipt): raw.encode() for receipt, raw in rows.items()} == accepted
    # and the accepted messages are applied
    stack.wait_until(
        lambda: not InboundMessage.objects.filter(receipt__in=accepted).exclude(state=MessageState.PROCESSED).exists(),
        timeout=120,
        what="the accepted messages to be processed",
    )
