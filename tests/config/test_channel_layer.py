"""The Redis channel layer: a consumer asked to stop stops, even when the Redis client lost the
request (Python 3.11's wait_for, around each of redis-py's writes, can swallow a cancellation)."""

import asyncio
import contextlib

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis channel layer needs REDIS_URL")


async def _receive_after_a_lost_cancellation(layer, channel):
    # The state the Redis client leaves when it swallows a cancellation: the task is marked as
    # cancelling, and its code runs on into the layer's blocking receive.
    asyncio.current_task().cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(0)
    return await layer.receive(channel)


def test_a_receive_asked_to_stop_ends_even_when_the_redis_client_lost_the_request():
    layer = get_channel_layer()

    async def scenario() -> str:
        channel = await layer.new_channel()
        task = asyncio.create_task(_receive_after_a_lost_cancellation(layer, channel))
        # the layer polls Redis in pops of brpop_timeout seconds: a receive that goes on polling
        # is still running after three of them
        await asyncio.wait([task], timeout=3 * layer.brpop_timeout)
        if not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=3 * layer.brpop_timeout)
            return "still receiving"
        return "cancelled" if task.cancelled() else f"ended with {task.result()!r}"

    assert async_to_sync(scenario)() == "cancelled"


def test_a_message_sent_to_a_receiving_consumer_still_arrives():
    layer = get_channel_layer()

    async def scenario() -> dict:
        channel = await layer.new_channel()
        receiving = asyncio.create_task(layer.receive(channel))
        await layer.send(channel, {"type": "order.changed", "sequence": 7})
        async with asyncio.timeout(10):
            return await receiving

    assert async_to_sync(scenario)() == {"type": "order.changed", "sequence": 7}
