"""Scheduler process: UTC first, then rq-scheduler over the recurring table."""

from app.config import force_utc

# rq-scheduler evaluates cron strings in the process's local time.
force_utc()

from app import create_app_or_exit  # noqa: E402
from app.jobs.recurring import serve  # noqa: E402
from app.redis import get_redis  # noqa: E402


def main() -> None:
    """Reconcile the recurring table and tick once a minute until SIGTERM."""
    app = create_app_or_exit({"APP_ROLE": "scheduler"})
    with app.app_context():
        serve(get_redis)


if __name__ == "__main__":
    main()
