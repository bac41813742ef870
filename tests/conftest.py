"""Fixtures: a real Redis server for the session, an app per test, the clock, burst workers."""

from app.config import force_utc

force_utc()


import pytest  # noqa: E402

from app import clock, create_app  # noqa: E402
from app.config import testing_redis_url, testing_settings  # noqa: E402
from app.db import get_db  # noqa: E402
from app.jobs.workers import build_worker  # noqa: E402
from app.redis import connection, private_server  # noqa: E402


@pytest.fixture(scope="session")
def redis_url():
    """TEST_REDIS_URL, or a private redis-server on a unix socket for this session."""
    configured = testing_redis_url()
    if configured:
        yield configured
        return
    with private_server() as (url, _process):
        yield url


@pytest.fixture
def make_app(redis_url, tmp_path):
    """Build test apps with overrides; Redis is flushed and MongoDB emptied around each test."""
    connection(redis_url).flushdb()
    built = []

    def factory(**overrides):
        settings = testing_settings(
            REDIS_URL=redis_url,
            MONGOMOCK_IN_PROCESS=True,
            INSTANCE_PATH=str(tmp_path / "instance"),
        )
        settings.update(overrides)
        app = create_app(settings)
        built.append(app)
        return app

    yield factory
    default_url = testing_settings()["MONGO_URL"]
    for app in built:
        if app.config["MONGO_URL"] != default_url:
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


@pytest.fixture
def frozen_clock():
    """Freeze app.clock; tests move it with set_now."""
    yield clock
    clock.set_now(None)


@pytest.fixture
def run_worker(app, redis_conn):
    """Drain the queues with a real RQ worker in burst mode; returns whether it worked."""

    def drain(target_app=None):
        worker = build_worker(target_app or app, in_process=True, connection=redis_conn)
        return worker.work(burst=True)

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


@pytest.fixture
def email_ctx(email_app):
    """email_app's app context, pushed for the test."""
    with email_app.app_context():
        yield email_app
