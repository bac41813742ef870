"""Scheduler process: UTC first, then rq-scheduler over the recurring table."""

from app.config import force_utc

# rq-scheduler evaluates cron strings in the process's local time (PITFALLS 1.4).
force_utc()

from app import create_app_or_exit  # noqa: E402
from app.jobs.recurring import RecurringScheduler  # noqa: E402
from app.redis import get_redis  # noqa: E402


def main() -> None:
    """Reconcile the recurring table and run the scheduler loop until SIGTERM."""
    app = create_app_or_exit({"APP_ROLE": "scheduler"})
    with app.app_context():
        scheduler = RecurringScheduler(connection=get_redis())
        scheduler.run()


if __name__ == "__main__":
    main()
