"""Fixtures: real servers for the session (MongoDB wire, Redis), an app per test, the clock,
burst workers, a fake SendGrid."""

import os
import time

from app.config import force_utc

# The test session runs test rules whoever starts it (an unset APP_ENV means production).
os.environ["APP_ENV"] = "test"
force_utc()


import pytest  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.config import testing_server_urls, testing_settings  # noqa: E402
from app.db import get_db  # noqa: E402
from app.extensions import limiter  # noqa: E402
from app.redis import connection  # noqa: E402
from devtools.services import MongoServer, RedisServer, running  # noqa: E402
from tests.workers import BurstWorker  # noqa: E402


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory):
    """TEST_MONGO_URL, or a SecantusDB server of this session's own (private port, storage)."""
    configured = testing_server_urls()["MONGO_URL"]
    if configured:
        yield configured
        return
    workdir = tmp_path_factory.mktemp("mongo")
    server = MongoServer(workdir / "data", log_path=workdir / "server.log")
    with running(server, tie_to_parent=True):
        yield server.url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """TEST_REDIS_URL, or a redis-server of this session's own on a private port."""
    configured = testing_server_urls()["REDIS_URL"]
    if configured:
        yield configured
        return
    workdir = tmp_path_factory.mktemp("redis")
    with running(RedisServer(workdir), tie_to_parent=True) as server:
        yield server.url


@pytest.fixture
def make_app(mongo_url, redis_url, tmp_path):
    """Build test apps with overrides; Redis is flushed and MongoDB emptied around each test."""
    connection(redis_url).flushdb()
    built = []

    def factory(**overrides):
        settings = testing_settings(
            MONGO_URL=mongo_url,
            REDIS_URL=redis_url,
            INSTANCE_PATH=str(tmp_path / "instance"),
        )
        settings.update(overrides)
        app = create_app(settings)
        # flask-limiter keeps "storage is down" on the one Limiter every app shares: an earlier
        # test's dead Redis would leave this app counting in memory. A new app starts as a new
        # process does, with its storage presumed alive.
        limiter._storage_dead = False
        built.append(app)
        return app

    yield factory
    for app in built:
        app.extensions["metrics_buffer"].close()
        if app.config["MONGO_URL"] != mongo_url:
            continue  # a test pointed this app at an unreachable server on purpose
        with app.app_context():
            db = get_db()
            db.client.drop_database(db.name)
    connection(redis_url).flushdb()


@pytest.fixture
def app(make_app):
    """The default test app."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client of the default app."""
    return app.test_client()


@pytest.fixture
def redis_conn(redis_url):
    """A redis-py client on the test server, emptied for this test."""
    conn = connection(redis_url)
    conn.flushdb()
    return conn


# The longest test counting requests in one window takes ~3 s, twice that on a loaded machine.
WINDOW_MARGIN_S = 12


@pytest.fixture
def steady_window():
    """Start the test at least WINDOW_MARGIN_S before the next clock minute: the limiter's
    sliding-window counter weighs the previous minute's count, so exact counts straddling a
    boundary would be approximate."""
    into_minute = time.time() % 60
    if into_minute > 60 - WINDOW_MARGIN_S:
        time.sleep(60 - into_minute + 0.5)


@pytest.fixture
def frozen_clock():
    """Freeze app.clock; tests move it with set_now."""
    yield clock
    clock.set_now(None)


@pytest.fixture
def run_worker(app, redis_conn):
    """Drain the queues with a real RQ worker in burst mode; returns whether it worked."""

    def drain(target_app=None):
        return BurstWorker.for_app(target_app or app, redis_conn).work(burst=True)

    return drain


@pytest.fixture
def fake_sendgrid():
    """A local fake SendGrid HTTP server (tests/email_support.py)."""
    from tests.email_support import FakeSendGrid

    fake = FakeSendGrid()
    yield fake
    fake.close()


@pytest.fixture
def email_app(make_app, fake_sendgrid, frozen_clock):
    """An app that sends through the real sendgrid client to the fake, the clock frozen at T0."""
    from tests.email_support import API_KEY, T0

    frozen_clock.set_now(T0)
    return make_app(
        SENDGRID_API_KEY=API_KEY,
        SENDGRID_API_HOST=fake_sendgrid.url,
        SENDGRID_TIMEOUT_S=5,
        COACH_NAME="Coach Momentum",
        SUPPORT_EMAIL="help@goalgetter.example",
        FRONTEND_URL="https://app.goalgetter.example",
        API_BASE_URL="https://api.goalgetter.example",
    )


@pytest.fixture(scope="module")
def key_pair():
    """A key pair for signing Event Webhook requests (tests/webhook_support.py)."""
    from tests.webhook_support import key_pair

    return key_pair()


@pytest.fixture
def hook_app(make_app, fake_sendgrid, frozen_clock, key_pair):
    """An app that sends to the fake SendGrid and verifies webhooks with `key_pair`."""
    from tests.email_support import API_KEY, T0

    frozen_clock.set_now(T0)
    return make_app(
        SENDGRID_API_KEY=API_KEY,
        SENDGRID_API_HOST=fake_sendgrid.url,
        SENDGRID_WEBHOOK_PUBLIC_KEY=key_pair[1],
    )


@pytest.fixture
def email_ctx(email_app):
    """email_app's app context, pushed for the test."""
    with email_app.app_context():
        yield email_app


@pytest.fixture
def processes(app, mongo_url, redis_url, tmp_path):
    """Stacks of the Procfile's processes (tests/processes.py) on `app`'s database and Redis;
    every process is stopped after the test."""
    from tests.processes import Stack, database_url, process_env

    stacks = []

    def factory(**env) -> Stack:
        mongo = database_url(mongo_url, app.config["MONGO_DB_NAME"])
        stack = Stack(process_env(mongo, redis_url, **env), tmp_path / f"logs-{len(stacks)}")
        stacks.append(stack)
        return stack

    yield factory
    for stack in stacks:
        stack.close()
