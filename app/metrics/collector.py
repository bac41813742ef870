"""The series of GET /metrics, read when Prometheus scrapes: the Redis-backed counters and
histograms, the RQ queues and workers, the scheduler's heartbeat and the outbox in MongoDB.
A store that cannot be read leaves its series out and says so in goalgetter_store_up."""

import logging
import math

import pymongo
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from app import clock
from app.db import MongoNotConfigured, get_db
from app.email.stats import EMAILS, REMINDER_LATENESS
from app.errors import UNAVAILABLE_ERRORS
from app.health.service import live_workers, scheduler_age
from app.metrics.http import HTTP_DURATION, HTTP_REQUESTS
from app.metrics_store import REDIS_ERRORS, Counter
from app.queue import QUEUES, get_queue
from app.redis import get_redis

log = logging.getLogger(__name__)

REDIS_SERIES = (HTTP_REQUESTS, HTTP_DURATION, EMAILS, REMINDER_LATENESS)
UNSENT = ("pending", "sending")
# A scrape must answer even when MongoDB does not.
MONGO_TIMEOUT_S = 2


def _from_store(metric, connection):
    if isinstance(metric, Counter):
        family = CounterMetricFamily(metric.name, metric.help, labels=metric.labels)
        for values, value in sorted(metric.read(connection).items()):
            family.add_metric(list(values), value)
        return family
    family = HistogramMetricFamily(metric.name, metric.help, labels=metric.labels)
    for values, (buckets, total) in sorted(metric.read(connection).items()):
        family.add_metric(list(values), buckets, total)
    return family


def _redis_families(connection) -> list:
    families = [_from_store(metric, connection) for metric in REDIS_SERIES]
    queued = GaugeMetricFamily(
        "goalgetter_rq_queue_jobs", "Jobs waiting in each RQ queue", labels=["queue"]
    )
    for name in QUEUES:
        queued.add_metric([name], get_queue(name, connection).count)
    families.append(queued)
    families.append(
        GaugeMetricFamily(
            "goalgetter_rq_workers",
            "RQ workers with a heartbeat younger than WORKER_TTL",
            value=len(live_workers(connection)),
        )
    )
    age = scheduler_age(connection)
    families.append(
        GaugeMetricFamily(
            "goalgetter_scheduler_heartbeat_age_seconds",
            "Seconds since the scheduler's last heartbeat (+Inf: none in Redis)",
            value=math.inf if age is None else max(age, 0.0),
        )
    )
    return families


def _mongo_families() -> list:
    outbox = get_db().email_log
    unsent = {"status": {"$in": list(UNSENT)}}
    with pymongo.timeout(MONGO_TIMEOUT_S):
        pending = outbox.count_documents(unsent)
        oldest = outbox.find_one(unsent, {"created_at": 1}, sort=[("created_at", 1)])
    age = (clock.now() - oldest["created_at"]).total_seconds() if oldest else 0.0
    return [
        GaugeMetricFamily(
            "goalgetter_outbox_pending",
            "Emails written and not yet delivered (pending or sending)",
            value=pending,
        ),
        GaugeMetricFamily(
            "goalgetter_outbox_oldest_pending_seconds",
            "Age of the oldest email not yet delivered (0 when there is none)",
            value=max(age, 0.0),
        ),
    ]


class StoresCollector:
    """A prometheus_client collector over the shared stores."""

    def collect(self):
        """Every family, read now."""
        up = GaugeMetricFamily(
            "goalgetter_store_up", "Whether /metrics could read the store", labels=["store"]
        )
        for store, read in (
            ("redis", lambda: _redis_families(get_redis())),
            ("mongo", _mongo_families),
        ):
            try:
                families = read()
            except (
                *REDIS_ERRORS,
                *UNAVAILABLE_ERRORS,
                MongoNotConfigured,
                pymongo.errors.PyMongoError,
            ) as exc:
                log.warning("metrics: %s unreadable: %s: %s", store, type(exc).__name__, exc)
                up.add_metric([store], 0)
                continue
            up.add_metric([store], 1)
            yield from families
        yield up


def exposition() -> bytes:
    """The Prometheus text exposition of every series."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoresCollector())
    return generate_latest(registry)
