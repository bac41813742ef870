"""gunicorn settings of the web process (the Procfile's `web`)."""

import os

from app.config import checked_or_exit
from app.log import gunicorn_logconfig

# Refuse in the master, before any worker forks: one line and a non-zero exit, not a
# traceback per worker.
_settings = checked_or_exit()

# Heroku hands the port in PORT and a size-based worker count in WEB_CONCURRENCY.
bind = [f"0.0.0.0:{os.environ.get('PORT', '5000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, because a coach reply holds its request for up to COACH_TIMEOUT_S (20 s); the
# subclass answers the requests gunicorn refuses itself (414, 431, 400) in the JSON shape.
worker_class = "app.web_worker.JSONErrorWorker"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Longer than the slowest request (a coach reply), shorter than Heroku's 30 s router limit
# would let a stuck worker live.
timeout = max(30, int(_settings["COACH_TIMEOUT_S"]) + 10)
# Heroku sends SIGKILL 30 s after SIGTERM.
graceful_timeout = 25
keepalive = 5
# Not preloaded: each worker builds its own app, so nothing (MongoClient, Redis pools, the
# Sentry transport) is created before the fork.
preload_app = False
# gunicorn's own lines in the app's format (JSON in production). The access log is the
# app's `app.request` line (with request id and user id), so gunicorn writes none.
logconfig_dict = gunicorn_logconfig(_settings["LOG_FORMAT"], _settings["LOG_LEVEL"])
accesslog = None
# gunicorn 27's control socket lives at one path per user: several servers on one machine
# (tests, a second checkout) would fight over it, and nothing here uses it.
control_socket_disable = True
