"""Configuration: the only module that reads the process environment."""

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".env"
ENV_EXAMPLE_FILE = ROOT / ".env.example"
# Written under INSTANCE_PATH by `make run` while its embedded servers run: how a second
# terminal's CLI (in development) finds them.
EMBEDDED_SERVICES_FILE = "services.json"

APP_ENVS = ("development", "test", "production")
REQUIRED_IN_PRODUCTION = ("MONGO_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY")
SECRET_NAMES = ("SECRET_KEY", "JWT_SECRET_KEY")
MIN_SECRET_LENGTH = 32
# Names app.coach.providers() knows; checked here so a typo refuses to start.
COACH_PROVIDERS = ("offline", "anthropic")

# Development-only fallbacks; .env.example carries the same values, so production refuses them.
DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production"
DEV_JWT_SECRET_KEY = "dev-only-jwt-secret-key-never-use-in-production"


class ConfigError(RuntimeError):
    """The configuration cannot run in this environment."""


def _flag(value, default: bool) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _int(env: Mapping, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _list(value) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _environment(environ: Mapping | None) -> dict:
    """The process environment, with `.env` underneath it in development."""
    env = dict(os.environ if environ is None else environ)
    if environ is None and ENV_FILE.exists():
        file_values = {k: v for k, v in dotenv_values(ENV_FILE).items() if v is not None}
        merged = {**file_values, **env}
        if merged.get("APP_ENV", "development") == "development":
            env = merged
    return env


def embedded_services(instance_path: str | Path) -> dict:
    """The URLs of `make run`'s embedded servers while its launcher lives, else {}."""
    try:
        recorded = json.loads((Path(instance_path) / EMBEDDED_SERVICES_FILE).read_text())
        os.kill(int(recorded["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {name: recorded[name] for name in ("MONGO_URL", "REDIS_URL") if recorded.get(name)}


def load(environ: Mapping | None = None) -> dict:
    """Build the Flask settings from the environment (`.env` in development)."""
    env = _environment(environ)
    app_env = env.get("APP_ENV", "development")
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, got {app_env!r}")
    dev = app_env != "production"
    port = _int(env, "PORT", 5000)
    frontend_url = env.get("FRONTEND_URL") or "http://localhost:3000"
    log_format = env.get("LOG_FORMAT") or ("json" if app_env == "production" else "text")
    settings = {
        "APP_ENV": app_env,
        "PORT": port,
        "SECRET_KEY": env.get("SECRET_KEY") or (DEV_SECRET_KEY if dev else None),
        "JWT_SECRET_KEY": env.get("JWT_SECRET_KEY") or (DEV_JWT_SECRET_KEY if dev else None),
        "MONGO_URL": env.get("MONGO_URL") or None,
        "REDIS_URL": env.get("REDIS_URL") or None,
        "API_BASE_URL": (env.get("API_BASE_URL") or f"http://localhost:{port}").rstrip("/"),
        "FRONTEND_URL": frontend_url.rstrip("/"),
        "CORS_ORIGINS": _list(env.get("CORS_ORIGINS")) or [frontend_url.rstrip("/")],
        "SENDGRID_API_KEY": env.get("SENDGRID_API_KEY") or None,
        "SENDGRID_API_HOST": env.get("SENDGRID_API_HOST") or "https://api.sendgrid.com",
        "SENDGRID_TIMEOUT_S": float(env.get("SENDGRID_TIMEOUT_S") or 10),
        "SENDGRID_BATCH_SIZE": _int(env, "SENDGRID_BATCH_SIZE", 1000),
        "SENDGRID_CONCURRENCY": _int(env, "SENDGRID_CONCURRENCY", 8),
        "EMAIL_RETRY_BUDGET_H": float(env.get("EMAIL_RETRY_BUDGET_H") or 24),
        "SENDGRID_WEBHOOK_PUBLIC_KEY": env.get("SENDGRID_WEBHOOK_PUBLIC_KEY") or None,
        "FROM_EMAIL": env.get("FROM_EMAIL") or "noreply@goalgetter.example",
        "FROM_NAME": env.get("FROM_NAME") or "GoalGetter",
        "SUPPORT_EMAIL": env.get("SUPPORT_EMAIL") or "support@goalgetter.example",
        "COACH_NAME": env.get("COACH_NAME") or "Your GoalGetter Coach",
        "RATE_LIMIT_PER_MINUTE": _int(env, "RATE_LIMIT_PER_MINUTE", 60),
        "RATELIMIT_ENABLED": _flag(env.get("RATELIMIT_ENABLED"), True),
        "TRUSTED_PROXY_HOPS": _int(env, "TRUSTED_PROXY_HOPS", 0),
        "ADMIN_EMAILS": [e.lower() for e in _list(env.get("ADMIN_EMAILS"))],
        "RQ_DASHBOARD_USERNAME": env.get("RQ_DASHBOARD_USERNAME") or None,
        "RQ_DASHBOARD_PASSWORD": env.get("RQ_DASHBOARD_PASSWORD") or None,
        "WORKER_TTL": _int(env, "WORKER_TTL", 45),
        "GOOGLE_CLIENT_ID": env.get("GOOGLE_CLIENT_ID") or None,
        "GOOGLE_CLIENT_SECRET": env.get("GOOGLE_CLIENT_SECRET") or None,
        "GOOGLE_DISCOVERY_URL": env.get("GOOGLE_DISCOVERY_URL")
        or "https://accounts.google.com/.well-known/openid-configuration",
        "COACH_PROVIDER": env.get("COACH_PROVIDER") or "offline",
        "ANTHROPIC_API_KEY": env.get("ANTHROPIC_API_KEY") or None,
        "ANTHROPIC_MODEL": env.get("ANTHROPIC_MODEL") or "claude-sonnet-4-5",
        "ANTHROPIC_BASE_URL": env.get("ANTHROPIC_BASE_URL") or None,
        "COACH_TIMEOUT_S": float(env.get("COACH_TIMEOUT_S") or 20),
        "COACH_DAILY_LIMIT": _int(env, "COACH_DAILY_LIMIT", 200),
        "CHAT_RETENTION_DAYS": _int(env, "CHAT_RETENTION_DAYS", 90),
        "SENTRY_DSN": env.get("SENTRY_DSN") or None,
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": (env.get("LOG_LEVEL") or "INFO").upper(),
        "RELEASE": env.get("HEROKU_SLUG_COMMIT") or None,
        "INSTANCE_PATH": env.get("INSTANCE_PATH") or str(ROOT / "instance"),
    }
    if app_env == "development" and not (settings["MONGO_URL"] and settings["REDIS_URL"]):
        for name, url in embedded_services(settings["INSTANCE_PATH"]).items():
            settings[name] = settings[name] or url
    if app_env == "development" and not (
        settings["RQ_DASHBOARD_USERNAME"] and settings["RQ_DASHBOARD_PASSWORD"]
    ):
        settings["RQ_DASHBOARD_USERNAME"] = settings["RQ_DASHBOARD_USERNAME"] or "admin"
        settings["RQ_DASHBOARD_PASSWORD"] = secrets.token_urlsafe(12)
        settings["RQ_DASHBOARD_PASSWORD_GENERATED"] = True
    return settings


def testing_settings(**overrides) -> dict:
    """Settings for the test suite: no `.env`; the test session passes its servers' URLs."""
    settings = load({"APP_ENV": "test", "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"})
    settings.update(
        TESTING=True,
        PROPAGATE_EXCEPTIONS=False,
        MONGO_DB_NAME=f"goalgetter_test_{os.getpid()}",
    )
    settings.update(overrides)
    return settings


def testing_server_urls() -> dict[str, str | None]:
    """The servers the tests were told to use (TEST_MONGO_URL, TEST_REDIS_URL), if any."""
    return {
        "MONGO_URL": os.environ.get("TEST_MONGO_URL") or None,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL") or None,
    }


def example_values() -> set[str]:
    """Every value that `.env.example` shows, which production must never use."""
    if not ENV_EXAMPLE_FILE.exists():
        return set()
    return {v for v in dotenv_values(ENV_EXAMPLE_FILE).values() if v}


def check(settings: Mapping) -> None:
    """Refuse settings that cannot run (one clear line); production needs real secrets."""
    if settings.get("COACH_PROVIDER") not in COACH_PROVIDERS:
        raise ConfigError(
            f"COACH_PROVIDER must be one of {', '.join(COACH_PROVIDERS)}, "
            f"got {settings.get('COACH_PROVIDER')!r}"
        )
    if settings.get("COACH_PROVIDER") == "anthropic" and not settings.get("ANTHROPIC_API_KEY"):
        raise ConfigError("COACH_PROVIDER=anthropic needs ANTHROPIC_API_KEY; refusing to start")
    if settings.get("APP_ENV") != "production":
        return
    missing = [name for name in REQUIRED_IN_PRODUCTION if not settings.get(name)]
    if missing:
        raise ConfigError(f"production needs {', '.join(missing)}; refusing to start")
    short = [n for n in SECRET_NAMES if len(settings[n]) < MIN_SECRET_LENGTH]
    if short:
        raise ConfigError(
            f"{', '.join(short)} must be at least {MIN_SECRET_LENGTH} characters in production"
        )
    examples = example_values()
    copied = [n for n in REQUIRED_IN_PRODUCTION if settings[n] in examples]
    if copied:
        raise ConfigError(f"{', '.join(copied)} still has the .env.example value; refusing")


def force_utc() -> None:
    """Make the process's local time UTC (rq-scheduler evaluates cron in local time)."""
    import time

    os.environ["TZ"] = "UTC"
    time.tzset()


def register_config(app, overrides: Mapping | None = None) -> None:
    """Load settings from the environment, apply `overrides`, refuse what cannot run."""
    settings = load()
    settings.update(overrides or {})
    check(settings)
    app.config.from_mapping(settings)
    app.instance_path = settings["INSTANCE_PATH"]
