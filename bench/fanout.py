"""Fan-out: N reminders due in one second, sent by one production worker process to a fake
SendGrid that answers after a latency, timed from the start of the job to the last email the
fake accepted. Three designs in the same run: personalized requests (the service's), concurrent
single sends, and the naive one job per email.
Run: .venv/bin/python -m bench.fanout"""

from app.config import force_utc

force_utc()

import time  # noqa: E402
from datetime import UTC  # noqa: E402

from rq.job import Job, JobStatus  # noqa: E402

from app import create_app  # noqa: E402
from app.db import get_db  # noqa: E402
from app.queue import enqueue  # noqa: E402
from app.redis import connection  # noqa: E402
from bench import common  # noqa: E402
from tests.email_support import FakeSendGrid  # noqa: E402

LATENCIES = (0.1, 0.0)
# (name, emails, worker settings, one job per email)
VARIANTS = (
    ("personalized, 1000 a request", 5000, {"SENDGRID_BATCH_SIZE": 1000}, False),
    (
        "single sends, 64 at a time",
        2000,
        {"SENDGRID_BATCH_SIZE": 1, "SENDGRID_CONCURRENCY": 64},
        False,
    ),
    ("naive: one job per email", 200, {"SENDGRID_CONCURRENCY": 1}, True),
)


def one_run(app, fake: FakeSendGrid, emails: int, naive: bool, pids) -> tuple[float, list]:
    """Emails per second for one fan-out of `emails` reminders, and the CPU seconds per
    thousand emails each of `pids` used during it."""
    with app.app_context():
        db = get_db()
        common.reset_database(db)
        connection(app.config["REDIS_URL"]).flushdb()
        meeting_ids, start, due = common.due_reminders(db, emails)
        fake.server.answered.clear()
        cpu = [common.cpu_seconds(pid) for pid in pids]
        if naive:
            epoch = int(start.timestamp())
            jobs = [
                enqueue("app.jobs.meetings.send_meeting_reminder_task", str(m), "24h", epoch)
                for m in meeting_ids
            ]
        else:
            jobs = [enqueue("app.jobs.meetings.send_due_reminders_task", "24h", due)]
    common.wait_for(lambda: len(common.accepted_times(fake)) >= emails, 600, "the fan-out")
    redis = connection(app.config["REDIS_URL"])
    started = min(
        Job.fetch(job.id, connection=redis).started_at.replace(tzinfo=UTC).timestamp()
        for job in jobs
    )
    rate = emails / (max(common.accepted_times(fake)) - started)
    # The jobs still record their last outcomes: the next run's reset must not race them.
    common.wait_for(
        lambda: all(
            job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.FAILED) for job in jobs
        ),
        600,
        "the fan-out's jobs to finish",
    )
    used = [
        (common.cpu_seconds(pid) - before) * 1000 / emails
        for pid, before in zip(pids, cpu, strict=True)
    ]
    return rate, used


def main() -> None:
    rows = []
    results: dict[tuple[str, float], tuple[float, float, float]] = {}
    profile: dict[tuple[str, float], list[float]] = {}
    for latency in LATENCIES:
        fake = FakeSendGrid(latency=latency)
        try:
            for name, emails, env, naive in VARIANTS:
                common.progress(f"{name}, {latency * 1000:.0f} ms: starting SecantusDB and Redis")
                # Fresh servers per variant: none inherits what another left in the database.
                with (
                    common.servers() as (mongo_url, redis_url, mongo_pid),
                    common.Worker(mongo_url, redis_url, fake, **env) as worker,
                ):
                    app = create_app(common.settings(mongo_url, redis_url))
                    time.sleep(2)  # the worker registers and forks nothing yet
                    rates, used = [], []
                    pids = (mongo_pid, worker.process.pid)
                    for run in range(common.RUNS):
                        common.progress(f"{name}, {latency * 1000:.0f} ms, run {run + 1}")
                        rate, cpu = one_run(app, fake, emails, naive, pids)
                        common.progress(f"{rate:,.0f} emails/s")
                        rates.append(rate)
                        used.append(cpu)
                results[(name, latency)] = common.median_spread(rates)
                profile[(name, latency)] = [
                    common.median_spread([u[i] for u in used])[0] for i in range(len(pids))
                ]
        finally:
            fake.close()
    for latency in LATENCIES:
        naive = results[(VARIANTS[-1][0], latency)][0]
        for name, emails, _env, _naive in VARIANTS:
            median, low, high = results[(name, latency)]
            db_cpu, worker_cpu = profile[(name, latency)]
            rows.append(
                [
                    f"{latency * 1000:.0f} ms",
                    name,
                    str(emails),
                    f"{median:,.0f}",
                    f"{low:,.0f}–{high:,.0f}",
                    f"{median / naive:,.1f}×",
                    f"{db_cpu:.2f}",
                    f"{worker_cpu:.2f}",
                ]
            )
    print(
        common.table(
            f"Fan-out: emails/s from the start of the job to the last accepted "
            f"(one worker process, median of {common.RUNS})",
            [
                "provider latency",
                "design",
                "emails",
                "emails/s",
                "spread",
                "× naive",
                "MongoDB server CPU s / 1000",
                "worker CPU s / 1000",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
