"""Background jobs: entry points (one module per family, thin calls into the services), the
jobs table, and the worker and scheduler wiring. Jobs are enqueued through app.queue."""
