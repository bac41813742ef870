"""The anthropic coach through the real SDK against a local fake Messages API."""

import json
import subprocess
import sys
import threading

import pytest

from app.coach import providers
from app.coach.anthropic_provider import MAX_HISTORY_TURNS, MAX_TOKENS
from app.config import COACH_PROVIDERS, ROOT, ConfigError
from app.db import get_db
from tests.chat_support import CHAT, MS, T, add_goal, chat_user, send, stored_messages
from tests.fake_http import FakeServer, Reply

MODEL = "claude-test-model"


def _message(text: str) -> Reply:
    body = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 7},
    }
    return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


class FakeAnthropic(FakeServer):
    """Answers each Messages API call with the next scripted item: a text, a Reply, or a
    function of the recorded request."""

    def __init__(self, *script):
        self.script = list(script)
        super().__init__(self._answer)
        # A client that timed out has hung up; the broken pipe on answering it is expected.
        self._server.handle_error = lambda request, client_address: None

    def _answer(self, recorded):
        item = self.script.pop(0) if self.script else "Let's go!"
        if callable(item):
            return item(recorded)
        return item if isinstance(item, Reply) else _message(item)

    def bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.requests]


@pytest.fixture
def fake():
    servers = []

    def start(*script):
        server = FakeAnthropic(*script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _coach_app(make_app, server, **overrides):
    settings = {
        "COACH_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_MODEL": MODEL,
        "ANTHROPIC_BASE_URL": server.url,
        "COACH_TIMEOUT_S": 5.0,
    }
    return make_app(**{**settings, **overrides})


def test_request_carries_system_prompt_history_and_model(make_app, fake):
    server = fake("Welcome, champion!", "Here's your plan.")
    app = _coach_app(make_app, server)
    client = app.test_client()
    user, ada = chat_user(app, client)
    add_goal(app, user, "Run a marathon", ["Run 5k", "Run 10k"], achieved=[0])
    assert send(client, ada, "Hi").get_json()["reply"]["content"] == "Welcome, champion!"
    response = send(client, ada, "  Give me a plan  ")
    assert response.status_code == 201
    assert response.get_json()["reply"]["content"] == "Here's your plan."

    request = server.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/messages")
    headers = {name.lower(): value for name, value in request.headers.items()}
    # The SDK sends the key as x-api-key or as a bearer token, depending on its version.
    assert "test-key" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
    body = json.loads(request.body)
    assert body["model"] == MODEL
    assert body["max_tokens"] == MAX_TOKENS <= 1024
    assert body["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Welcome, champion!"},
        {"role": "user", "content": "Give me a plan"},
    ]
    system = body["system"]
    assert "high-energy" in system and "motivational" in system
    assert "Goal (active): Run a marathon" in system
    assert "Milestone (achieved): Run 5k" in system and "Milestone (open): Run 10k" in system
    assert "Your GoalGetter Coach" in system
    assert "Robbins" not in system
    stored = stored_messages(app, user)
    assert [(m["role"], m["content"]) for m in stored][-2:] == [
        ("user", "Give me a plan"),
        ("assistant", "Here's your plan."),
    ]


def test_history_sent_to_the_model_is_bounded(make_app, fake):
    server = fake("Noted.")
    app = _coach_app(make_app, server)
    client = app.test_client()
    user, ada = chat_user(app, client)
    with app.app_context():
        get_db().chat_messages.insert_many(
            [
                {
                    "user_id": user["_id"],
                    "role": ("user", "assistant")[i % 2],
                    "content": f"old {i}",
                    "created_at": T + i * MS,
                }
                for i in range(60)
            ]
        )
    assert send(client, ada, "newest").status_code == 201
    messages = server.bodies()[0]["messages"]
    assert len(messages) <= MAX_HISTORY_TURNS + 1
    assert messages[0]["role"] == "user"
    assert messages[-2:] == [
        {"role": "assistant", "content": "old 59"},
        {"role": "user", "content": "newest"},
    ]
    assert "old 0" not in json.dumps(messages)


def test_server_error_is_503_and_the_message_is_kept(make_app, fake):
    server = fake(Reply(500, b'{"type":"error","error":{"type":"api_error","message":"boom"}}'))
    app = _coach_app(make_app, server)
    client = app.test_client()
    user, ada = chat_user(app, client)
    response = send(client, ada, "Are you there?")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "coach_unavailable" and error["details"] == {}
    assert len(server.requests) == 1  # no SDK retries behind the user's back
    history = client.get(f"{CHAT}/history", headers=ada).get_json()["messages"]
    assert [(m["role"], m["content"]) for m in history] == [("user", "Are you there?")]
    # The next message reaches the model with the unanswered one (one user turn, merged).
    assert send(client, ada, "Hello?").status_code == 201
    assert server.bodies()[-1]["messages"] == [
        {"role": "user", "content": "Are you there?\n\nHello?"}
    ]
    assert [m["role"] for m in stored_messages(app, user)] == ["user", "user", "assistant"]


def test_timeout_is_503_and_the_message_is_kept(make_app, fake):
    release = threading.Event()

    def stall(recorded):
        release.wait(10)
        return _message("too late")

    server = fake(stall)
    app = _coach_app(make_app, server, COACH_TIMEOUT_S=0.5)
    client = app.test_client()
    user, ada = chat_user(app, client)
    try:
        response = send(client, ada, "Hello?")
    finally:
        release.set()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "coach_unavailable"
    assert len(server.requests) == 1
    assert [(m["role"], m["content"]) for m in stored_messages(app, user)] == [("user", "Hello?")]


def test_refuses_to_start_without_a_key(make_app):
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        make_app(COACH_PROVIDER="anthropic", ANTHROPIC_API_KEY=None)


def test_unknown_provider_refuses_to_start_and_names_agree(make_app):
    with pytest.raises(ConfigError, match="COACH_PROVIDER"):
        make_app(COACH_PROVIDER="oracle")
    assert set(providers()) == set(COACH_PROVIDERS)


@pytest.mark.parametrize(("provider", "imported"), [("offline", False), ("anthropic", True)])
def test_the_anthropic_sdk_is_imported_only_when_chosen(provider, imported):
    # A fresh interpreter: this test session has imported the SDK already.
    probe = (
        "import sys; from app.coach import build_provider; "
        f"build_provider({{'COACH_PROVIDER': {provider!r}, 'ANTHROPIC_API_KEY': 'k', "
        "'ANTHROPIC_MODEL': 'm', 'ANTHROPIC_BASE_URL': None, 'COACH_TIMEOUT_S': 1, "
        "'COACH_NAME': 'Coach'}); print('anthropic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == str(imported)
