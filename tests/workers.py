"""A burst worker for tests: RQ's SimpleWorker in the test process (the frozen clock and the
fake servers are shared), jobs in the app context like the production worker's."""

import signal

from rq import SimpleWorker

from app.jobs.workers import AppContextMixin
from app.queue import QUEUES


class BurstWorker(AppContextMixin, SimpleWorker):
    """Drains the queues in this process; leaves the test's signal handlers as it found them."""

    @classmethod
    def for_app(cls, app, connection, queues=QUEUES) -> "BurstWorker":
        """A worker on `queues` bound to `app`."""
        worker = cls(list(queues), connection=connection, worker_ttl=app.config["WORKER_TTL"])
        worker.app = app
        return worker

    def work(self, *args, with_scheduler=True, **kwargs):
        """RQ's work loop (its scheduler first moves jobs due by the wall clock), with
        SIGINT/SIGTERM restored afterwards."""
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return super().work(*args, with_scheduler=with_scheduler, **kwargs)
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
