"""Background jobs: enqueued only through app.jobs.queue, one module per job family."""
