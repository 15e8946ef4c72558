"""The Redis channel layer, made to end a receive whose cancellation the Redis client lost.

redis-py writes every command through `asyncio.wait_for`. On Python 3.11 that call can swallow a
cancellation that arrives just as the write completes (CPython gh-86296, fixed in 3.12): the task
stays marked as cancelling but runs on. channels_redis's receive then keeps polling Redis
(a blocking pop every few seconds) forever. A consumer whose websocket closed never finished, and
it kept a Redis connection until the process stopped. Between two pops we check whether the task
was asked to stop and stop it. A message already popped stays in the layer's backup queue, as
when channels_redis is cancelled in the middle of a pop.
"""

import asyncio

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer


def _stop_if_cancelled() -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError("cancelled while the Redis client was writing")


class RedisChannelLayer(BaseRedisChannelLayer):
    async def _brpop_with_clean(self, index, channel, timeout):
        _stop_if_cancelled()
        member = await super()._brpop_with_clean(index, channel, timeout)
        _stop_if_cancelled()
        return member
