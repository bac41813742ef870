"""The app with its limits counted in each process's memory instead of Redis, for bench.api
only: with several processes no count is shared, so a client could get the limit once per
process. It measures the floor any local pre-counting scheme could reach."""

from app import create_app_or_exit

app = create_app_or_exit({"RATELIMIT_STORAGE_URI": "memory://"})
