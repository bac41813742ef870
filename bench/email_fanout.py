"""Reminder-style fan-out: emails per second to a local fake SendGrid and RQ jobs used, batched
(`outbox.delivery_batch`) against one job per email. One in-process worker, a private
SecantusDB and redis-server. Run: .venv/bin/python -m bench.email_fanout [N]"""

import platform
import sys
import time

from app.config import force_utc

force_utc()

from bson import ObjectId  # noqa: E402
from rq.registry import FinishedJobRegistry  # noqa: E402

from app import create_app  # noqa: E402
from app.config import testing_settings  # noqa: E402
from app.db import get_db  # noqa: E402
from app.email import outbox  # noqa: E402
from app.redis import connection  # noqa: E402
from bench.servers import servers  # noqa: E402
from tests.fake_http import FakeServer, Reply  # noqa: E402
from tests.workers import BurstWorker  # noqa: E402


def run(app, conn, fake, count: int, batched: bool) -> tuple[float, float, int]:
    """Queue `count` phase emails, drain with one burst worker; (queue s, drain s, jobs)."""
    with app.app_context():
        db = get_db()
        db.email_log.delete_many({})
        db.users.delete_many({})
        users = [
            {"_id": ObjectId(), "email": f"u{i}@example.com", "name": "U"} for i in range(count)
        ]
        db.users.insert_many(users)
        conn.flushdb()
        started = time.perf_counter()
        if batched:
            with outbox.delivery_batch():
                for user in users:
                    outbox.queue_email("phase_transition", f"p:{user['_id']}", str(user["_id"]), {})
        else:
            for user in users:
                outbox.queue_email("phase_transition", f"p:{user['_id']}", str(user["_id"]), {})
        queued = time.perf_counter() - started
    before = len(fake.requests)
    worker = BurstWorker.for_app(app, conn)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    drained = time.perf_counter() - started
    assert len(fake.requests) - before == count, "every email reached the fake once"
    jobs = FinishedJobRegistry("email", connection=conn).count
    return queued, drained, jobs


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    fake = FakeServer(lambda recorded: Reply(202, b"", {"X-Message-Id": "bench"}))
    try:
        with servers() as (mongo_url, url):
            app = create_app(
                testing_settings(
                    REDIS_URL=url,
                    MONGO_URL=mongo_url,
                    SENDGRID_API_KEY="SG.bench",
                    SENDGRID_API_HOST=fake.url,
                )
            )
            conn = connection(url)
            results = {mode: run(app, conn, fake, count, mode) for mode in (True, False)}
    finally:
        fake.close()
    print(f"machine: {platform.node()} {platform.machine()}, python {platform.python_version()}")
    print(f"emails: {count} rendered phase emails, one in-process worker, fake SendGrid")
    for batched, (queued, drained, jobs) in results.items():
        label = "batched (delivery_batch)" if batched else "one job per email      "
        print(
            f"{label}: {jobs:4d} RQ jobs, delivered {count / drained:7.1f} emails/s "
            f"(queueing {count / queued:7.1f} emails/s)"
        )
    ratio = results[False][1] / results[True][1]
    print(f"delivery time, one job per email / batched: {ratio:.2f}x")


if __name__ == "__main__":
    main()
