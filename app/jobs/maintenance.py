"""Maintenance jobs."""

import os
import socket

from app import clock
from app.chat.service import delete_expired_messages
from app.db import get_db
from app.jobs.table import single_run
from app.redis import get_redis


def health_check() -> dict:
    """Check MongoDB and Redis from inside a worker; returns a small summary."""
    get_db().command("ping")
    get_redis().ping()
    return {
        "status": "ok",
        "mongo": True,
        "redis": True,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "at": clock.isoformat(clock.now()),
    }


@single_run
def cleanup_old_messages_task(now=None) -> dict:
    """Delete chat messages older than CHAT_RETENTION_DAYS, in bounded batches."""
    deleted, cutoff = delete_expired_messages(clock.resolve(now))
    return {"status": "ok", "deleted": deleted, "cutoff": clock.isoformat(cutoff)}
