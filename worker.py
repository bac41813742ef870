"""Worker process: builds the app, then works high_priority, default and email in that order."""

from app import create_app_or_exit
from app.db import is_mongomock
from app.jobs.workers import build_worker


def main() -> None:
    """Run one worker until SIGTERM (HerokuWorker: graceful for the running job)."""
    app = create_app_or_exit({"APP_ROLE": "worker"})
    # mongomock data lives in one process, so jobs run in-process there; a real MongoDB gets a
    # fork per job (the child opens its own MongoClient) and RQ's scheduler for enqueue_at.
    in_process = is_mongomock(app.config.get("MONGO_URL"))
    worker = build_worker(app, in_process=in_process)
    worker.work(with_scheduler=not in_process, logging_level=app.config["LOG_LEVEL"])


if __name__ == "__main__":
    main()
