"""The OpenAPI document is the contract: schemathesis generates requests for every operation
of /api/v1/openapi.json (valid and invalid ones) against the production web process (gunicorn)
and checks that none is a server error and that each answer's status, content type and body
are the documented ones. Secured operations get a bearer token; the ones that end a session
get a fresh one of a second user each time, so the rest keep theirs."""

import os
import time

import pymongo
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fake_google import CLIENT_ID, CLIENT_SECRET, FakeGoogle
from tests.processes import Stack, database_url, process_env

pytestmark = pytest.mark.drill
PASSWORD = "a-long-password"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Generated cases per operation and generation mode: about a minute for the whole document.
MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "12"))
# Operations that can end the presented session: a throwaway user's fresh token each call.
SESSION_ENDING = {"logout", "changePassword", "deleteMe", "refresh"}


def _wait_serving(stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if stack.get("/health", timeout=2)[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the web process never served /health\n{stack.tail()}")


class Live:
    """The running web process, its root URL and the sessions the cases use."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.root = f"http://127.0.0.1:{stack.port}"

    def session(self, email: str) -> dict:
        """Sign up `email` (once) and sign in."""
        self.stack.post("/auth/signup", {"email": email, "password": PASSWORD, "name": "Contract"})
        status, body, _ = self.stack.post("/auth/login", {"email": email, "password": PASSWORD})
        assert status == 200, body
        return body


@pytest.fixture(scope="module")
def live(mongo_url, redis_url, tmp_path_factory):
    database = f"goalgetter_contract_{os.getpid()}"
    google = FakeGoogle()
    env = process_env(
        database_url(mongo_url, database),
        redis_url,
        ADMIN_EMAILS="",
        GOOGLE_CLIENT_ID=CLIENT_ID,
        GOOGLE_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_DISCOVERY_URL=google.discovery_url,
    )
    stack = Stack(env, tmp_path_factory.mktemp("contract"))
    # The whole Procfile, so readiness is its true 200 rather than "no worker" 503.
    for name in ("web", "worker", "scheduler"):
        stack.start(name)
    try:
        stack.wait_ready(60)
        live = Live(stack)
        admin = live.session("admin@example.com")
        client = pymongo.MongoClient(mongo_url)
        client[database].users.update_one(
            {"email": "admin@example.com"}, {"$set": {"is_admin": True}}
        )
        live.admin = admin["access_token"]
        yield live
    finally:
        stack.close()
        google.close()
        pymongo.MongoClient(mongo_url).drop_database(database)


def _token(live, case) -> dict:
    if not case.operation.definition.raw.get("security"):
        return {}
    if case.operation.definition.raw.get("operationId") in SESSION_ENDING:
        fresh = live.session("throwaway@example.com")
        token = fresh["refresh_token" if case.path.endswith("/refresh") else "access_token"]
    else:
        token = live.admin
    return {"Authorization": f"Bearer {token}"}


def _describe(exc) -> str:
    found = getattr(exc, "exceptions", None) or [exc]
    return "\n".join(f"  - {type(e).__name__}: {str(e)[:700]}" for e in found)


def _run(live, operation, mode) -> None:
    """Hypothesis over one operation in one generation mode; raises the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case):
        case.call_and_validate(
            base_url=live.root, headers=_token(live, case), checks=CHECKS, timeout=15
        )

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_the_contract(live, mode):
    schema = schemathesis.openapi.from_url(f"{live.root}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 46
    failures, nothing_to_negate = [], []
    for operation in operations:
        try:
            _run(live, operation, mode)
        except Unsatisfiable:
            # An operation without inputs has no invalid request to make.
            assert mode is GenerationMode.NEGATIVE, operation.path
            nothing_to_negate.append(operation.path)
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
            failures.append(f"{operation.method.upper()} {operation.path}: {_describe(exc)}")
    assert not failures, "\n\n".join(failures)
