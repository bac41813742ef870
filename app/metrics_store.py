"""Counters and histograms kept in Redis, so that every process adds to the same series (each
gunicorn worker, each RQ job's fork, every dyno) and any web process answers /metrics with all
of them. The web side buffers its observations (Buffer) and writes them once a second.

One Redis hash per metric (`goalgetter:metrics:<name>`), one field per label set: a counter's
field holds its value; a histogram keeps one field per bucket (not cumulative), its `+Inf`
bucket and its sum. Writes are best-effort: when Redis fails they stop for BREAK_S seconds
(those observations are lost, nothing else slows down), and a flushed Redis starts the series
again from zero, which Prometheus reads as a counter reset.
"""

import json
import logging
import os
import threading
import time
from dataclasses import dataclass

import redis
from flask import Flask, current_app

from app.redis import RedisNotConfigured, get_redis

log = logging.getLogger(__name__)

KEY_PREFIX = "goalgetter:metrics:"
BREAK_S = 10
REDIS_ERRORS = (redis.RedisError, RedisNotConfigured)
_SUM = "sum"
_INF = "+Inf"

_pause_lock = threading.Lock()
# Per Redis URL: an app whose Redis failed says nothing about another app's.
_paused_until: dict[str | None, float] = {}


@dataclass(frozen=True)
class Increment:
    """One addition to one field of one hash: a whole count, or a float (a histogram's sum)."""

    key: str
    field: str
    amount: float
    whole: bool = True


def _field(values: tuple, extra: str | None = None) -> str:
    return json.dumps([*values, extra] if extra is not None else list(values))


def _values(metric, labels: dict) -> tuple:
    if set(labels) != set(metric.labels):
        raise ValueError(f"{metric.name} takes labels {metric.labels}, got {tuple(labels)}")
    return tuple(str(labels[name]) for name in metric.labels)


@dataclass(frozen=True)
class Counter:
    """A counter of whole events: `name` (ending in _total), help text, label names."""

    name: str
    help: str
    labels: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Its Redis hash."""
        return KEY_PREFIX + self.name

    def inc(self, amount: int = 1, **labels) -> list[Increment]:
        """The increments of adding `amount` to the series of `labels`."""
        return [Increment(self.key, _field(_values(self, labels)), int(amount))]

    def read(self, connection) -> dict[tuple, float]:
        """{label values: value} of every series."""
        return {
            tuple(json.loads(field)): float(value)
            for field, value in connection.hgetall(self.key).items()
        }


@dataclass(frozen=True)
class Histogram:
    """A histogram: `name`, help text, label names, upper bounds of its buckets (ascending)."""

    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]

    @property
    def key(self) -> str:
        """Its Redis hash."""
        return KEY_PREFIX + self.name

    def observe(self, value: float, **labels) -> list[Increment]:
        """The increments of observing `value` in the series of `labels`."""
        values = _values(self, labels)
        bucket = next((repr(b) for b in self.buckets if value <= b), _INF)
        return [
            Increment(self.key, _field(values, bucket), 1),
            Increment(self.key, _field(values, _SUM), float(value), whole=False),
        ]

    def read(self, connection) -> dict[tuple, tuple[list[tuple[str, float]], float]]:
        """{label values: ([(upper bound, cumulative count)…, ("+Inf", count)], sum)}."""
        raw: dict[tuple, dict[str, float]] = {}
        for field, value in connection.hgetall(self.key).items():
            *values, part = json.loads(field)
            raw.setdefault(tuple(values), {})[part] = float(value)
        series = {}
        for values, parts in raw.items():
            cumulative, running = [], 0.0
            for bound in (*(repr(b) for b in self.buckets), _INF):
                running += parts.get(bound, 0.0)
                cumulative.append((_INF if bound == _INF else bound, running))
            series[values] = (cumulative, parts.get(_SUM, 0.0))
        return series


def _merge(merged: dict, batches) -> dict:
    for batch in batches:
        for inc in batch:
            merged[inc.key, inc.field, inc.whole] = (
                merged.get((inc.key, inc.field, inc.whole), 0) + inc.amount
            )
    return merged


def record(*batches: list[Increment]) -> bool:
    """Apply increments in one MULTI/EXEC; returns whether they were stored."""
    # A batch of a thousand rows adds to a few fields: one command per field.
    merged = _merge({}, batches)
    increments = [
        Increment(key, field, amount, whole) for (key, field, whole), amount in merged.items()
    ]
    url = current_app.config.get("REDIS_URL")
    if not increments or time.monotonic() < _paused_until.get(url, 0.0):
        return False
    try:
        with get_redis().pipeline(transaction=True) as pipe:
            for inc in increments:
                if inc.whole:
                    pipe.hincrby(inc.key, inc.field, int(inc.amount))
                else:
                    pipe.hincrbyfloat(inc.key, inc.field, inc.amount)
            pipe.execute()
    except REDIS_ERRORS as exc:
        with _pause_lock:
            _paused_until[url] = time.monotonic() + BREAK_S
        log.warning("metrics not recorded for %d s: %s: %s", BREAK_S, type(exc).__name__, exc)
        return False
    return True


class Buffer:
    """Increments held in this process and written every FLUSH_S by a daemon thread, so a
    request adds no Redis round trip of its own (a scrape flushes first; a crash loses at most
    FLUSH_S of observations)."""

    FLUSH_S = 1.0

    def __init__(self, app: Flask):
        self.app = app
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, bool], float] = {}
        self._pid: int | None = None
        self._flusher: threading.Thread | None = None
        self._closed = False

    def add(self, *batches: list[Increment]) -> None:
        """Hold `batches` for the next flush."""
        with self._lock:
            if self._pid != os.getpid():
                # A fork inherits the parent's pending counts: those are the parent's to write.
                self._pending, self._pid, self._flusher = {}, os.getpid(), None
            _merge(self._pending, batches)
            if self._flusher is None and not self._closed:
                self._flusher = threading.Thread(target=self._run, name="metrics", daemon=True)
                self._flusher.start()

    def flush(self) -> bool:
        """Write what is held now (in one round trip); returns whether it was stored."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return True
        batch = [
            Increment(key, field, amount, whole) for (key, field, whole), amount in pending.items()
        ]
        with self.app.app_context():
            return record(batch)

    def _run(self) -> None:
        # Runs while there is something to write: an idle process keeps no thread awake.
        while True:
            time.sleep(self.FLUSH_S)
            self.flush()
            with self._lock:
                if not self._pending or self._closed:
                    self._flusher = None
                    return

    def close(self) -> None:
        """Stop writing: what is held is dropped (an app whose stores are going away)."""
        with self._lock:
            self._closed = True
            self._pending = {}
