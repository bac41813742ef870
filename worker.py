"""Worker process: builds the app, then works high_priority, default and email in that order."""

from app import create_app_or_exit
from app.jobs.workers import serve


def main() -> None:
    """Run workers until SIGTERM (HerokuWorker: graceful for the running job)."""
    serve(create_app_or_exit({"APP_ROLE": "worker"}))


if __name__ == "__main__":
    main()
