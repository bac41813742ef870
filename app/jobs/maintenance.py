"""Maintenance jobs."""

import os
import socket
from datetime import timedelta

from flask import current_app

from app import clock
from app.db import get_db
from app.jobs.locks import exclusive
from app.jobs.schedule import by_name
from app.redis import get_redis

CLEANUP_BATCH = 1000


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


def cleanup_old_messages_task(now=None) -> dict:
    """Delete chat messages older than CHAT_RETENTION_DAYS, in bounded batches."""
    entry = by_name()["cleanup-old-messages"]
    with exclusive(get_redis(), entry.id, entry.lock_ttl) as acquired:
        if not acquired:
            return {"status": "skipped", "reason": "another run holds the lock"}
        cutoff = clock.resolve(now) - timedelta(days=current_app.config["CHAT_RETENTION_DAYS"])
        messages = get_db().chat_messages
        deleted = 0
        while True:
            batch = [
                doc["_id"]
                for doc in messages.find({"created_at": {"$lt": cutoff}}, {"_id": 1}).limit(
                    CLEANUP_BATCH
                )
            ]
            if not batch:
                break
            deleted += messages.delete_many({"_id": {"$in": batch}}).deleted_count
        return {"status": "ok", "deleted": deleted, "cutoff": clock.isoformat(cutoff)}
