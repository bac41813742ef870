"""MongoDB stopped (the real server process) under the production web process: every route
answers within 10 s, with a 503 or with a success that needs no database, never a 500. The
requests are well formed, carry real ids and tokens (tests/route_calls.py), so each reaches the
code behind its guards; the route table must name every route the app has."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from devtools.services import MongoServer, RedisServer
from tests import route_calls, webhook_support
from tests.processes import Stack, database_url, process_env

pytestmark = pytest.mark.drill


@pytest.fixture
def outage(make_app, tmp_path):
    mongo = MongoServer(tmp_path / "mongo", log_path=tmp_path / "mongo.log").start()
    redis_server = RedisServer(tmp_path / "redis").start()
    private, public = webhook_support.key_pair()
    app = make_app(MONGO_URL=mongo.url, REDIS_URL=redis_server.url)
    env = process_env(
        database_url(mongo.url, app.config["MONGO_DB_NAME"]),
        redis_server.url,
        SENDGRID_WEBHOOK_PUBLIC_KEY=public,
        METRICS_TOKEN=route_calls.METRICS_TOKEN,
        ADMIN_EMAILS="",
    )
    stack = Stack(env, tmp_path / "logs")
    yield app, mongo, stack, private
    stack.close()
    redis_server.stop()
    mongo.stop()


def test_every_route_answers_503_or_a_success_within_10_s_with_mongodb_stopped(outage):
    app, mongo, stack, private = outage
    stack.start("web")
    stack.wait_serving()
    ids, tokens = route_calls.seed(
        app,
        lambda path, body, headers: stack.post(path, body, headers)[:2],
        lambda path, headers: stack.get(path, headers=headers)[:2],
    )
    table = route_calls.calls(ids)
    route_calls.assert_every_route_named(app, table)

    mongo.stop()

    def one(item):
        endpoint, call = item
        signed = lambda data: webhook_support.signed(private, data)  # noqa: E731
        return (
            endpoint,
            call,
            route_calls.send(f"http://127.0.0.1:{stack.port}", call, tokens, signed),
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, table.items()))
    wrong = []
    for endpoint, call, (status, body, kind, seconds) in answers:
        outcome = (status, route_calls.error_code(body, kind))
        if seconds >= route_calls.BOUND_S or outcome not in call.allowed:
            wrong.append((endpoint, outcome, round(seconds, 1), body[:160]))
    assert not wrong, wrong
    assert stack.running("web"), stack.tail()
