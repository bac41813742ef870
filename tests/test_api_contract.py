"""The OpenAPI document is the contract: schemathesis generates requests for every operation
of /api/v1/openapi.json (valid and invalid ones) against the production web process (gunicorn)
and checks that none is a server error and that each answer's status, content type and body
are the documented ones. Secured operations get a bearer token; the ones that end a session
get a fresh one of a second user each time, so the rest keep theirs."""

import json
import os
import re
from collections import Counter

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
# Operations that can end the presented session, or lock the coach chat (tracking phase): a
# throwaway user's fresh token each call, so the admin's session and state serve the rest.
OWN_USER = {"logout", "changePassword", "deleteMe", "refresh", "changePhase"}


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
        live.path_ids = _seed(live)
        yield live
    finally:
        stack.close()
        google.close()
        pymongo.MongoClient(mongo_url).drop_database(database)


def _seed(live) -> dict:
    """Real values for the path parameters, so valid cases reach behind the 404."""
    auth = {"Authorization": f"Bearer {live.admin}"}
    post, get = live.stack.post, live.stack.get
    goal = post("/goals", {"title": "Run", "milestones": ["5k", "10k"]}, auth)[1]
    meeting = post("/meetings", {"scheduled_at": "2099-01-20T10:00:00Z"}, auth)[1]
    job = post("/admin/jobs/health-check", None, auth)[1]
    emails = get("/admin/emails", headers=auth)[1]["emails"]
    feed = get("/users/me/calendar", headers=auth)[1]
    return {
        "goal_id": goal["id"],
        "index": 0,
        "meeting_id": meeting["id"],
        "job_id": job["job_id"],
        "name": "health-check",
        "email_id": emails[0]["id"],
        "secret": re.search(r"/calendar/([^/?]+)\.ics", json.dumps(feed)).group(1),
    }


def _token(live, case) -> dict:
    if not case.operation.definition.raw.get("security"):
        return {}
    if case.operation.definition.raw.get("operationId") in OWN_USER:
        fresh = live.session("throwaway@example.com")
        token = fresh["refresh_token" if case.path.endswith("/refresh") else "access_token"]
    else:
        token = live.admin
    return {"Authorization": f"Bearer {token}"}


def _describe(exc) -> str:
    found = getattr(exc, "exceptions", None) or [exc]
    return "\n".join(f"  - {type(e).__name__}: {str(e)[:700]}" for e in found)


def _run(live, operation, mode, seen: Counter) -> None:
    """Hypothesis over one operation in one generation mode; raises the first failure."""

    names = set(re.findall(r"{(\w+)}", operation.path))
    fixed = {k: v for k, v in live.path_ids.items() if k in names}
    if mode is GenerationMode.NEGATIVE or not fixed:
        fixed = None
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case):
        response = case.call_and_validate(
            base_url=live.root, headers=_token(live, case), checks=CHECKS, timeout=15
        )
        seen[response.status_code] += 1

    run()


def _report(capsys, mode, answered: dict, nothing_to_negate: list) -> None:
    """What the run sent and got: a contract run that covers nothing must show it."""
    total = sum((seen for seen in answered.values()), Counter())
    no_success = sorted(
        op
        for op, seen in answered.items()
        if seen and not any(200 <= status < 400 for status in seen)
    )
    with capsys.disabled():
        print(
            f"\nschemathesis {mode.value}: {len(answered)} operations, "
            f"{sum(total.values())} requests, statuses {dict(sorted(total.items()))}; "
            f"nothing to negate: {len(nothing_to_negate)}; "
            f"no 2xx/3xx answer: {len(no_success)} {no_success}"
        )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_the_contract(live, mode, capsys):
    schema = schemathesis.openapi.from_url(f"{live.root}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 46
    failures, nothing_to_negate, answered = [], [], {}
    for operation in operations:
        try:
            seen = answered[f"{operation.method.upper()} {operation.path}"] = Counter()
            _run(live, operation, mode, seen)
        except Unsatisfiable:
            # An operation without inputs has no invalid request to make.
            assert mode is GenerationMode.NEGATIVE, operation.path
            nothing_to_negate.append(f"{operation.method.upper()} {operation.path}")
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
            failures.append(f"{operation.method.upper()} {operation.path}: {_describe(exc)}")
    _report(capsys, mode, answered, nothing_to_negate)
    assert not failures, "\n\n".join(failures)
    assert all(
        sum(seen.values()) for path, seen in answered.items() if path not in nothing_to_negate
    )
