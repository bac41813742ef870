"""Configuration: the only module that reads the process environment."""

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from app import secret_rules

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".env"
ENV_EXAMPLE_FILE = ROOT / ".env.example"
# Written under INSTANCE_PATH by `make run` while its embedded servers run: how a second
# terminal's CLI (in development) finds them.
EMBEDDED_SERVICES_FILE = "services.json"

# Generated signing secrets of development, kept under INSTANCE_PATH so every process of a
# `make run` (and a second terminal's CLI) signs with the same ones, across restarts.
DEV_SECRETS_FILE = "dev-secrets.json"

APP_ENVS = ("development", "test", "production")
# An unset APP_ENV runs production's rules: a deploy that forgets it fails closed.
DEFAULT_APP_ENV = "production"
SERVICE_URLS = ("MONGO_URL", "REDIS_URL")
# Secrets production must have, and the least length each must have.
SIGNING_SECRETS = {
    "SECRET_KEY": secret_rules.MIN_SIGNING_SECRET_LENGTH,
    "JWT_SECRET_KEY": secret_rules.MIN_SIGNING_SECRET_LENGTH,
}
# Secrets production may leave unset; when set they follow the same rules.
OPTIONAL_SECRETS = {
    "RQ_DASHBOARD_PASSWORD": secret_rules.MIN_PASSWORD_LENGTH,
    "METRICS_TOKEN": secret_rules.MIN_SIGNING_SECRET_LENGTH,
}
# Keys issued by others: production only refuses the placeholders the repository shows.
ISSUED_KEYS = (
    "SENDGRID_API_KEY",
    "SENDGRID_WEBHOOK_PUBLIC_KEY",
    "GOOGLE_CLIENT_SECRET",
    "ANTHROPIC_API_KEY",
)
# URL schemes of in-process stand-ins that production never runs on.
EMBEDDED_SCHEMES = ("mongomock://",)
# Names app.coach.providers() knows; checked here so a typo refuses to start.
COACH_PROVIDERS = ("offline", "anthropic")


class ConfigError(RuntimeError):
    """The configuration cannot run in this environment."""


def _flag(value, default: bool) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _int(env: Mapping, name: str, default: int | None) -> int | None:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _list(value) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _environment(environ: Mapping | None, app_env: str | None) -> dict:
    """The process environment, with `.env` underneath it in development (the one `.env`
    loader of every entry point); `app_env`, when given, decides the mode."""
    env = dict(os.environ if environ is None else environ)
    if app_env:
        env["APP_ENV"] = app_env
    if environ is None and ENV_FILE.exists():
        file_values = {k: v for k, v in dotenv_values(ENV_FILE).items() if v is not None}
        merged = {**file_values, **env}
        if merged.get("APP_ENV", DEFAULT_APP_ENV) == "development":
            env = merged
        elif _loaded_by_someone_else(file_values, env):
            raise ConfigError(
                f"{ENV_FILE.name} was loaded into this {merged.get('APP_ENV', DEFAULT_APP_ENV)} "
                "process (Flask's CLI does so), which reads its environment only: set "
                "FLASK_SKIP_DOTENV=1 or remove the file"
            )
    return env


def _loaded_by_someone_else(file_values: Mapping, env: Mapping) -> bool:
    # Every non-empty value of the file is in the environment exactly: it was loaded there.
    shown = {k: v for k, v in file_values.items() if v}
    return bool(shown) and all(env.get(k) == v for k, v in shown.items())


def _generated_secrets(app_env: str, instance_path: str) -> dict[str, str]:
    """Signing secrets for development (kept under INSTANCE_PATH) and tests (per process)."""
    fresh = {name: secrets.token_urlsafe(48) for name in SIGNING_SECRETS}
    if app_env != "development":
        return _process_secrets.setdefault("test", fresh)
    path = Path(instance_path) / DEV_SECRETS_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when web, worker and scheduler start together, the first one's secrets win.
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            json.dump(fresh, out)
        return fresh
    except FileExistsError:
        pass
    except OSError:
        return _process_secrets.setdefault("development", fresh)
    try:
        stored = json.loads(path.read_text())
        return {name: stored[name] for name in SIGNING_SECRETS}
    except (OSError, ValueError, KeyError, TypeError):
        return _process_secrets.setdefault("development", fresh)


_process_secrets: dict[str, dict[str, str]] = {}


def embedded_services(instance_path: str | Path) -> dict:
    """The URLs of `make run`'s embedded servers while its launcher lives, else {}."""
    try:
        recorded = json.loads((Path(instance_path) / EMBEDDED_SERVICES_FILE).read_text())
        os.kill(int(recorded["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {name: recorded[name] for name in ("MONGO_URL", "REDIS_URL") if recorded.get(name)}


def load(environ: Mapping | None = None, app_env: str | None = None) -> dict:
    """Build the Flask settings from the environment (`.env` in development); `app_env`
    overrides APP_ENV (a caller that names its mode gets that mode's defaults)."""
    env = _environment(environ, app_env)
    app_env = env.get("APP_ENV") or DEFAULT_APP_ENV
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, got {app_env!r}")
    instance_path = env.get("INSTANCE_PATH") or str(ROOT / "instance")
    port = _int(env, "PORT", 5000)
    frontend_url = env.get("FRONTEND_URL") or "http://localhost:3000"
    log_format = env.get("LOG_FORMAT") or ("json" if app_env == "production" else "text")
    settings = {
        "APP_ENV": app_env,
        "PORT": port,
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "JWT_SECRET_KEY": env.get("JWT_SECRET_KEY") or None,
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
        # None when unset: production on Heroku must say how many proxies it trusts.
        "TRUSTED_PROXY_HOPS": _int(env, "TRUSTED_PROXY_HOPS", None),
        "DYNO": env.get("DYNO") or None,
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
        "INSTANCE_PATH": instance_path,
        # /health/ready's details (hosts, ports, errors) for anyone, not only admins.
        "HEALTH_DETAILS_PUBLIC": app_env == "development",
    }
    if app_env != "production" and not (settings["SECRET_KEY"] and settings["JWT_SECRET_KEY"]):
        for name, value in _generated_secrets(app_env, instance_path).items():
            settings[name] = settings[name] or value
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


def testing_secrets() -> dict[str, str]:
    """This process's test signing secrets, for the app processes a test or benchmark starts
    (every process, every gunicorn worker, must sign alike)."""
    return dict(_generated_secrets("test", ""))


def testing_server_urls() -> dict[str, str | None]:
    """The servers the tests were told to use (TEST_MONGO_URL, TEST_REDIS_URL), if any."""
    return {
        "MONGO_URL": os.environ.get("TEST_MONGO_URL") or None,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL") or None,
    }


def _refuse_production(settings: Mapping) -> None:
    missing = [name for name in (*SERVICE_URLS, *SIGNING_SECRETS) if not settings.get(name)]
    if missing:
        raise ConfigError(
            f"production needs {', '.join(missing)} (it runs no embedded servers and "
            "generates no secrets)"
        )
    embedded = [n for n in SERVICE_URLS if settings[n].startswith(EMBEDDED_SCHEMES)]
    if embedded:
        raise ConfigError(f"{', '.join(embedded)} names an embedded stand-in")
    if settings.get("DYNO") and settings.get("TRUSTED_PROXY_HOPS") is None:
        raise ConfigError(
            "DYNO is set but TRUSTED_PROXY_HOPS is not: set TRUSTED_PROXY_HOPS=1 for Heroku's "
            "router (client IPs for rate limits, https links)"
        )
    strength = {**SIGNING_SECRETS, **OPTIONAL_SECRETS}
    for name, min_length in strength.items():
        value = settings.get(name)
        if name in OPTIONAL_SECRETS and value is None:
            continue
        problem = secret_rules.weakness(value or "", min_length, ROOT)
        if problem:
            raise ConfigError(f"{name} {problem}; production needs a random secret")
    for name in ISSUED_KEYS:
        value = settings.get(name)
        if value and value in secret_rules.shipped_text(ROOT):
            raise ConfigError(f"{name} is a placeholder shipped in the repository")


def check(settings: Mapping) -> None:
    """Refuse settings that cannot run (one clear line); production needs real secrets."""
    if settings.get("COACH_PROVIDER") not in COACH_PROVIDERS:
        raise ConfigError(
            f"COACH_PROVIDER must be one of {', '.join(COACH_PROVIDERS)}, "
            f"got {settings.get('COACH_PROVIDER')!r}"
        )
    if settings.get("COACH_PROVIDER") == "anthropic" and not settings.get("ANTHROPIC_API_KEY"):
        raise ConfigError("COACH_PROVIDER=anthropic needs ANTHROPIC_API_KEY")
    if settings.get("APP_ENV") == "production":
        _refuse_production(settings)


def checked_or_exit() -> dict:
    """load() and check() for entry points: a configuration that cannot run exits with one
    line on stderr."""
    try:
        settings = load()
        check(settings)
    except ConfigError as exc:
        raise SystemExit(f"refusing to start: {exc}") from None
    return settings


def force_utc() -> None:
    """Make the process's local time UTC (rq-scheduler evaluates cron in local time)."""
    import time

    os.environ["TZ"] = "UTC"
    time.tzset()


def register_config(app, overrides: Mapping | None = None) -> None:
    """Load settings from the environment, apply `overrides`, refuse what cannot run."""
    overrides = overrides or {}
    settings = load(app_env=overrides.get("APP_ENV"))
    settings.update(overrides)
    check(settings)
    app.config.from_mapping(settings)
    app.instance_path = settings["INSTANCE_PATH"]
