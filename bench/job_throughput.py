"""Jobs per second through one worker: in-process (RQ's SimpleWorker, as the tests run jobs)
vs fork per job (production's HerokuWorker). Run: .venv/bin/python -m bench.job_throughput [N]"""

import platform
import sys
import time

from app.config import force_utc

force_utc()

from app import create_app  # noqa: E402
from app import queue as job_queue  # noqa: E402
from app.config import testing_settings  # noqa: E402
from app.jobs.workers import build_worker  # noqa: E402
from app.redis import connection  # noqa: E402
from bench.servers import servers  # noqa: E402
from tests.workers import BurstWorker  # noqa: E402


def drain(app, conn, count: int, in_process: bool) -> float:
    """Enqueue `count` no-op jobs, drain them with one burst worker; returns jobs/s."""
    with app.app_context():
        for index in range(count):
            job_queue.enqueue("bench.jobs_for_bench.noop", index)
    worker = BurstWorker.for_app(app, conn) if in_process else build_worker(app, connection=conn)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    return count / elapsed


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with servers() as (mongo_url, url):
        app = create_app(testing_settings(REDIS_URL=url, MONGO_URL=mongo_url))
        conn = connection(url)
        in_process = drain(app, conn, count, in_process=True)
        forking = drain(app, conn, count, in_process=False)
    print(f"machine: {platform.node()} {platform.machine()}, python {platform.python_version()}")
    print(f"jobs: {count} no-op jobs, one worker, burst mode, private redis-server and SecantusDB")
    print(f"in-process worker (SimpleWorker): {in_process:8.1f} jobs/s")
    print(f"forking worker (HerokuWorker):    {forking:8.1f} jobs/s")
    print(f"ratio in-process / forking:       {in_process / forking:8.1f}x")


if __name__ == "__main__":
    main()
