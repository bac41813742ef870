"""What the outbox's indexes cost the MongoDB server on the fan-out path: CPU seconds of the
server per thousand reminders sent by one exact-time job (run in this process, fake SendGrid at
0 ms), with every index, then with the ones the fan-out itself never reads dropped. The ceiling
column is what one server core could sustain at that cost. Run: .venv/bin/python -m
bench.outbox_indexes"""

from app.config import force_utc

force_utc()


from app import create_app  # noqa: E402
from app.db import get_db  # noqa: E402
from app.jobs.meetings import send_due_reminders_task  # noqa: E402
from bench import common  # noqa: E402
from tests.email_support import API_KEY, FakeSendGrid  # noqa: E402

EMAILS = 5000
# (name, outbox indexes dropped). The catch-up and re-drive read `status_next_attempt`, the
# admin `to` filter and webhook events without an id read `to_created`; the fan-out reads
# neither (it finds rows by `key_unique` and its lease token).
VARIANTS = (
    ("every index (the service's)", ()),
    ("without status_next_attempt", ("status_next_attempt",)),
    ("without to_created", ("to_created",)),
    ("without both", ("status_next_attempt", "to_created")),
)


def one_run(app, mongo_pid: int, dropped: tuple[str, ...]) -> float:
    """Server CPU seconds per thousand emails of one fan-out of EMAILS reminders."""
    with app.app_context():
        db = get_db()
        common.reset_database(db)
        for name in dropped:
            db.email_log.drop_index(name)
        _meeting_ids, _start, due = common.due_reminders(db, EMAILS)
        before = common.cpu_seconds(mongo_pid)
        sent = send_due_reminders_task("24h", due)["sent"]
        if sent != EMAILS:
            raise RuntimeError(f"the fan-out sent {sent} of {EMAILS}")
        return (common.cpu_seconds(mongo_pid) - before) * 1000 / EMAILS


def main() -> None:
    fake = FakeSendGrid(latency=0)
    results = {}
    try:
        with common.servers() as (mongo_url, redis_url, mongo_pid):
            app = create_app(
                common.settings(
                    mongo_url, redis_url, SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=fake.url
                )
            )
            # In turns, so the machine's drift favours no variant.
            for run in range(common.RUNS):
                for name, dropped in VARIANTS:
                    common.progress(f"outbox indexes: {name}, run {run + 1}")
                    results.setdefault(name, []).append(one_run(app, mongo_pid, dropped))
    finally:
        fake.close()
    base = common.median_spread(results[VARIANTS[0][0]])[0]
    rows = []
    for name, _dropped in VARIANTS:
        median, low, high = common.median_spread(results[name])
        rows.append(
            [
                name,
                f"{median:.2f}",
                f"{low:.2f}–{high:.2f}",
                f"{(median / base - 1) * 100:+.0f} %",
                f"{1000 / median:,.0f}",
            ]
        )
    print(
        common.table(
            f"Outbox indexes: MongoDB server CPU on the fan-out path ({EMAILS} reminders, "
            f"median of {common.RUNS})",
            ["outbox indexes", "server CPU s / 1000", "spread", "vs every index", "ceiling /s"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
