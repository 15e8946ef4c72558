"""What a cache that cannot be reached raises (Redis: connection errors and timeouts): callers
that can do without the cache catch these and read the database instead."""

from redis.exceptions import RedisError

CACHE_ERRORS = (ConnectionError, TimeoutError, OSError, RedisError)
