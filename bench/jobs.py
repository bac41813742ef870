"""Jobs per second through one worker: production's forking worker (a fork per job, as
worker.py runs) against RQ's in-process SimpleWorker (as the tests run jobs), on no-op jobs,
so the figure is the queue's own overhead. Run: .venv/bin/python -m bench.jobs"""

import time

from app.config import force_utc

force_utc()

from app import create_app  # noqa: E402
from app import queue as job_queue  # noqa: E402
from app.jobs.workers import build_worker  # noqa: E402
from app.redis import connection  # noqa: E402
from bench import common  # noqa: E402
from tests.workers import BurstWorker  # noqa: E402

JOBS = 300
VARIANTS = (("fork per job (production)", False), ("in-process (SimpleWorker)", True))


def drain(app, conn, in_process: bool) -> float:
    """Enqueue JOBS no-op jobs, drain them with one burst worker; returns jobs/s."""
    with app.app_context():
        for index in range(JOBS):
            job_queue.enqueue("bench.jobs_for_bench.noop", index)
    worker = BurstWorker.for_app(app, conn) if in_process else build_worker(app, connection=conn)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    return JOBS / (time.perf_counter() - started)


def main() -> None:
    common.progress("jobs: starting SecantusDB and Redis")
    with common.servers() as (mongo_url, redis_url, _):
        app = create_app(common.settings(mongo_url, redis_url))
        conn = connection(redis_url)
        rates: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
        for run in range(common.RUNS):
            for name, in_process in VARIANTS:
                common.progress(f"jobs: {name}, run {run + 1}")
                rates[name].append(drain(app, conn, in_process))
    forking = common.median_spread(rates[VARIANTS[0][0]])[0]
    rows = []
    for name, _ in VARIANTS:
        median, low, high = common.median_spread(rates[name])
        rows.append([name, f"{median:,.0f}", f"{low:,.0f}–{high:,.0f}", f"{median / forking:.1f}"])
    print(
        common.table(
            f"Jobs: {JOBS} no-op jobs through one burst worker, median of {common.RUNS}",
            ["worker", "jobs/s", "spread", "× forking"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
