"""Configuration: environment parsing and the production refusal."""

import subprocess
import sys

import pytest

from app import config
from app.config import ConfigError, check, load

STRONG = "s" * 40
PRODUCTION = {
    "APP_ENV": "production",
    "MONGO_URL": "mongodb://db.internal:27017/goalgetter",
    "REDIS_URL": "rediss://cache.internal:6380",
    "SECRET_KEY": STRONG,
    "JWT_SECRET_KEY": "j" * 40,
}


def test_production_with_real_settings_passes():
    check(load(PRODUCTION))


@pytest.mark.parametrize("missing", ["MONGO_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_missing_settings(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        check(load(env))


def test_production_refuses_short_secrets():
    with pytest.raises(ConfigError, match="at least 32"):
        check(load({**PRODUCTION, "JWT_SECRET_KEY": "short"}))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MONGO_URL", "mongodb://localhost:27017/goalgetter"),
        ("REDIS_URL", "redis://localhost:6379/0"),
    ],
)
def test_production_refuses_env_example_values(name, value):
    assert value in config.example_values()
    with pytest.raises(ConfigError, match=r"\.env\.example"):
        check(load({**PRODUCTION, name: value}))


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SECRET_KEY"])
def test_production_refuses_the_development_secrets(name):
    dev_value = load({})[name]
    assert dev_value in config.example_values()
    with pytest.raises(ConfigError):
        check(load({**PRODUCTION, name: dev_value}))


def test_example_secret_of_full_length_is_refused(monkeypatch):
    long_example = "x" * 40
    monkeypatch.setattr(config, "example_values", lambda: {long_example})
    with pytest.raises(ConfigError, match=r"\.env\.example"):
        check(load({**PRODUCTION, "SECRET_KEY": long_example}))


def test_production_has_no_dev_secrets_or_generated_dashboard_password():
    settings = load({"APP_ENV": "production"})
    assert settings["SECRET_KEY"] is None and settings["JWT_SECRET_KEY"] is None
    assert settings["RQ_DASHBOARD_PASSWORD"] is None
    assert settings["LOG_FORMAT"] == "json"


def test_development_defaults():
    settings = load({})
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
        check(load({"COACH_PROVIDER": "anthropic"}))


def test_env_example_lists_every_setting():
    from dotenv import dotenv_values

    listed = set(dotenv_values(config.ENV_EXAMPLE_FILE))
    read = set(load({})) - {"RQ_DASHBOARD_PASSWORD_GENERATED", "RELEASE"}
    assert read <= listed, read - listed


def test_entry_point_refuses_production_in_one_line(tmp_path):
    env = {"APP_ENV": "production", "PATH": "/usr/bin:/bin", "SECRET_KEY": "short"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.ROOT,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("refusing to start: production needs MONGO_URL")
