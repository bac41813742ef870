"""A Monday-09:00 burst: N meetings whose 24 h reminders are due in the same second, armed as
the meetings service arms them, sent by one production worker process (its own RQ scheduler
releases the job at the due second) to a fake SendGrid at 100 ms. Measured: due → accepted by
the fake, per reminder. Baseline in the same run: the earlier design, one scheduled job per
reminder. Run: .venv/bin/python -m bench.reminder_burst"""

from app.config import force_utc

force_utc()

import statistics  # noqa: E402
from datetime import timedelta  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.db import get_db  # noqa: E402
from app.meetings import reminders  # noqa: E402
from app.queue import enqueue  # noqa: E402
from app.redis import connection  # noqa: E402
from app.reminder_kinds import KINDS  # noqa: E402
from bench import common  # noqa: E402
from tests.email_support import FakeSendGrid  # noqa: E402

LATENCY = 0.1
# (design, reminders); the one-job-per-reminder baseline only at the small size: at ~7 a
# second, 10,000 would take some 25 minutes.
CASES = (("coalesced", 200), ("coalesced", 10_000), ("one job per reminder", 200))
KIND = KINDS["24h"]


def one_burst(app, fake: FakeSendGrid, count: int, design: str) -> list[float]:
    """Seconds from the due time to acceptance, for each reminder of one burst."""
    with app.app_context():
        db = get_db()
        common.reset_database(db)
        connection(app.config["REDIS_URL"]).flushdb()
        # Room to write the meetings before they are due (SecantusDB: ~1 ms a document).
        lead = timedelta(seconds=10 + count / 500)
        start = (clock.now() + KIND.lead + lead).replace(microsecond=0)
        meeting_ids = common.make_users_and_meetings(db, count, start)
        fake.server.answered.clear()
        due = start - KIND.lead
        if clock.now() >= due:
            raise RuntimeError("the meetings were written after their reminders were due")
        if design == "coalesced":
            reminders.arm({"scheduled_at": start})
        else:
            epoch = int(start.timestamp())
            for meeting_id in meeting_ids:
                enqueue(
                    "app.jobs.meetings.send_meeting_reminder_task",
                    str(meeting_id),
                    KIND.name,
                    epoch,
                    at=due,
                )
    wait = lead.total_seconds() + count / 5 + 120
    common.wait_for(lambda: len(common.accepted_times(fake)) >= count, wait, "the burst")
    return [at - due.timestamp() for at in common.accepted_times(fake)]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    common.progress("reminder burst: starting SecantusDB and Redis")
    rows = []
    with common.servers() as (mongo_url, redis_url, _):
        app = create_app(common.settings(mongo_url, redis_url))
        fake = FakeSendGrid(latency=LATENCY)
        try:
            with common.Worker(mongo_url, redis_url, fake):
                for design, count in CASES:
                    p50s, p99s, worst = [], [], []
                    for run in range(common.RUNS):
                        common.progress(f"burst: {count} reminders, {design}, run {run + 1}")
                        lateness = one_burst(app, fake, count, design)
                        p50s.append(statistics.median(lateness))
                        p99s.append(p99(lateness))
                        worst.append(max(lateness))
                    p50, _, _ = common.median_spread(p50s)
                    median, low, high = common.median_spread(p99s)
                    rows.append(
                        [
                            f"{count:,}",
                            design,
                            f"{p50:.2f}",
                            f"{median:.2f}",
                            f"{low:.2f}–{high:.2f}",
                            f"{common.median_spread(worst)[0]:.2f}",
                        ]
                    )
        finally:
            fake.close()
    print(
        common.table(
            f"Reminder burst: seconds from due to accepted, one worker process, fake SendGrid "
            f"at {LATENCY * 1000:.0f} ms, median of {common.RUNS}",
            ["reminders due in one second", "design", "p50 s", "p99 s", "p99 spread", "max s"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
