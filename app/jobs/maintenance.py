"""Maintenance jobs."""

import os
import socket

from app import clock
from app.db import get_db
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
