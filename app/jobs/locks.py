"""A recurring job never overlaps itself: a Redis lock per job name."""

import contextlib

import redis


@contextlib.contextmanager
def exclusive(connection, name: str, ttl_s: int):
    """Yield whether this run holds `lock:job:<name>` (TTL `ttl_s`); released in `finally`
    by redis-py's token compare-and-delete, so an expired lock held by another run survives."""
    lock = connection.lock(f"lock:job:{name}", timeout=ttl_s, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()
