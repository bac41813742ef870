"""Configuration: environment parsing and the production refusal."""

import secrets
import subprocess
import sys

import pytest
from dotenv import dotenv_values

from app import config, secret_rules
from app.config import ConfigError, check, load
from tests.production import STRONG_SECRETS

PRODUCTION = {
    "APP_ENV": "production",
    "MONGO_URL": "mongodb://db.internal:27017/goalgetter",
    "REDIS_URL": "rediss://cache.internal:6380",
    **STRONG_SECRETS,
}
# Values this repository shows (its .env.example); production must refuse every one.
EXAMPLE = {k: v for k, v in dotenv_values(config.ENV_EXAMPLE_FILE).items() if v}


def test_production_with_real_settings_passes():
    check(load(PRODUCTION))


def test_unset_app_env_means_production():
    env = {k: v for k, v in PRODUCTION.items() if k != "APP_ENV"}
    assert load(env)["APP_ENV"] == "production"
    with pytest.raises(ConfigError, match="production needs SECRET_KEY, JWT_SECRET_KEY"):
        check(load({"MONGO_URL": PRODUCTION["MONGO_URL"], "REDIS_URL": PRODUCTION["REDIS_URL"]}))


@pytest.mark.parametrize("missing", ["MONGO_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_missing_settings(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        check(load(env))


def test_production_refuses_embedded_stand_ins():
    with pytest.raises(ConfigError, match="MONGO_URL names an embedded stand-in"):
        check(load({**PRODUCTION, "MONGO_URL": "mongomock://localhost/goalgetter"}))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (" " * 40, "is blank"),
        ("\t\n" * 20, "is blank"),
        (" " + secrets.token_urlsafe(40), "whitespace"),
        ("short-but-random-Q7x", "shorter than 32"),
        ("s" * 40, "fewer than 10 distinct"),
        ("abcabcabcabcabcabcabcabcabcabcabcabc", "fewer than 10 distinct"),
    ],
)
@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_weak_secrets(name, value, reason):
    with pytest.raises(ConfigError, match=f"{name} .*{reason}"):
        check(load({**PRODUCTION, name: value}))


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY", "RQ_DASHBOARD_PASSWORD"])
def test_production_refuses_every_value_the_example_file_shows(name):
    assert EXAMPLE, ".env.example shows no value"
    for value in EXAMPLE.values():
        with pytest.raises(ConfigError, match=name):
            check(load({**PRODUCTION, name: value}))


def test_a_strong_looking_value_found_anywhere_in_the_repository_is_refused():
    # A long, varied literal of this file: it is shipped, so it is not a secret.
    shipped = "Zq8-no-secret-shipped-in-a-test-file-Kp3W"
    with pytest.raises(ConfigError, match="shipped in the repository"):
        check(load({**PRODUCTION, "JWT_SECRET_KEY": shipped}))


def test_issued_key_placeholders_are_refused():
    with pytest.raises(ConfigError, match="SENDGRID_API_KEY is a placeholder"):
        check(load({**PRODUCTION, "SENDGRID_API_KEY": "SG.a-placeholder-in-a-test-file"}))


def test_production_accepts_the_urls_of_a_local_database():
    local = {
        "MONGO_URL": "mongodb://localhost:27017/goalgetter",
        "REDIS_URL": "redis://localhost:6379/0",
    }
    check(load({**PRODUCTION, **local}))


def test_heroku_needs_trusted_proxy_hops():
    with pytest.raises(ConfigError, match="set TRUSTED_PROXY_HOPS=1"):
        check(load({**PRODUCTION, "DYNO": "web.1"}))
    check(load({**PRODUCTION, "DYNO": "web.1", "TRUSTED_PROXY_HOPS": "1"}))
    check(load({**PRODUCTION, "DYNO": "web.1", "TRUSTED_PROXY_HOPS": "0"}))


def test_production_has_no_generated_secrets_or_dashboard_password():
    settings = load({"APP_ENV": "production"})
    assert settings["SECRET_KEY"] is None and settings["JWT_SECRET_KEY"] is None
    assert settings["RQ_DASHBOARD_PASSWORD"] is None
    assert settings["LOG_FORMAT"] == "json"


def test_development_secrets_are_generated_once_per_instance(tmp_path):
    first = load({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    again = load({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    other = load({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path / "other")})
    assert first["SECRET_KEY"] == again["SECRET_KEY"] != other["SECRET_KEY"]
    assert first["JWT_SECRET_KEY"] == again["JWT_SECRET_KEY"] != other["JWT_SECRET_KEY"]
    assert secret_rules.weakness(first["JWT_SECRET_KEY"], 32, config.ROOT) is None
    assert (tmp_path / config.DEV_SECRETS_FILE).stat().st_mode & 0o077 == 0


def test_development_defaults(tmp_path):
    settings = load({"APP_ENV": "development", "INSTANCE_PATH": str(tmp_path)})
    assert settings["APP_ENV"] == "development"
    assert settings["PORT"] == 5000
    assert settings["API_BASE_URL"] == "http://localhost:5000"
    assert settings["CORS_ORIGINS"] == ["http://localhost:3000"]
    assert settings["RQ_DASHBOARD_PASSWORD"]
    assert settings["LOG_FORMAT"] == "text"
    assert settings["WORKER_TTL"] == 45


def test_bad_values_are_clear_errors():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load({"APP_ENV": "staging"})
    with pytest.raises(ConfigError, match="PORT"):
        load({"PORT": "eighty"})


def test_anthropic_needs_a_key():
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        check(load({"APP_ENV": "test", "COACH_PROVIDER": "anthropic"}))


def test_env_example_lists_every_setting():
    from dotenv import dotenv_values

    listed = set(dotenv_values(config.ENV_EXAMPLE_FILE))
    read = set(load({"APP_ENV": "test"})) - {
        "RQ_DASHBOARD_PASSWORD_GENERATED",
        "RELEASE",
        "DYNO",
        "HEALTH_DETAILS_PUBLIC",
    }
    assert read <= listed, read - listed


def _start(command: list[str], **env) -> subprocess.CompletedProcess:
    """`command` in a clean environment: PATH and `env` only (no APP_ENV unless given)."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=config.ROOT,
        timeout=60,
    )


GUNICORN = [str(config.ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
URLS = {"MONGO_URL": PRODUCTION["MONGO_URL"], "REDIS_URL": PRODUCTION["REDIS_URL"]}


@pytest.mark.parametrize(
    ("command", "env", "expected"),
    [
        (
            [sys.executable, "-c", "import wsgi"],
            {"APP_ENV": "production", "SECRET_KEY": "short"},
            "refusing to start: production needs MONGO_URL",
        ),
        (GUNICORN, URLS, "refusing to start: production needs SECRET_KEY, JWT_SECRET_KEY"),
        (
            GUNICORN,
            {**URLS, "SECRET_KEY": EXAMPLE["GOOGLE_DISCOVERY_URL"], "JWT_SECRET_KEY": "x"},
            "refusing to start: SECRET_KEY is a value shipped in the repository",
        ),
        (
            [sys.executable, "worker.py"],
            {**URLS, **STRONG_SECRETS, "DYNO": "worker.1"},
            "refusing to start: DYNO is set but TRUSTED_PROXY_HOPS is not",
        ),
    ],
    ids=["wsgi", "gunicorn-no-secrets", "gunicorn-example-secret", "worker-on-heroku"],
)
def test_entry_points_refuse_production_in_one_line(command, env, expected):
    result = _start(command, **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]


def _with_env_file(monkeypatch, tmp_path, text: str, **environ):
    env_file = tmp_path / ".env"
    env_file.write_text(text)
    monkeypatch.setattr(config, "ENV_FILE", env_file)
    for name in list(config.os.environ):
        if name in ("APP_ENV", "SECRET_KEY", "JWT_SECRET_KEY", "PORT"):
            monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


def test_dot_env_is_read_in_development_only(monkeypatch, tmp_path):
    _with_env_file(monkeypatch, tmp_path, "APP_ENV=development\nPORT=5123\n")
    assert load()["PORT"] == 5123
    _with_env_file(monkeypatch, tmp_path, "PORT=5123\n", APP_ENV="production")
    assert load()["PORT"] == 5000


def test_production_refuses_a_dot_env_that_someone_else_loaded(monkeypatch, tmp_path):
    # Flask's CLI loads .env into the environment in every mode; production must not run so.
    _with_env_file(monkeypatch, tmp_path, "PORT=5123\nSECRET_KEY=\n", PORT="5123")
    with pytest.raises(ConfigError, match="FLASK_SKIP_DOTENV=1"):
        load()
