"""gunicorn settings of the web process (the Procfile's `web`)."""

import os

# Heroku hands the port in PORT and a size-based worker count in WEB_CONCURRENCY.
bind = [f"0.0.0.0:{os.environ.get('PORT', '5000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads, because a coach reply holds its request for up to COACH_TIMEOUT_S (20 s); the
# subclass answers the requests gunicorn refuses itself (414, 431, 400) in the JSON shape.
worker_class = "app.web_worker.JSONErrorWorker"
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = 60
# Heroku sends SIGKILL 30 s after SIGTERM.
graceful_timeout = 25
keepalive = 5
# gunicorn 27's control socket lives at one path per user: several servers on one machine
# (tests, a second checkout) would fight over it, and nothing here uses it.
control_socket_disable = True
