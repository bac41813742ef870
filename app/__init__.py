"""GoalGetter backend: the application factory."""

from flask import Flask

from app.api import register_api, register_blueprints
from app.auth.tokens import register_jwt
from app.bodies import register_body_rules
from app.cli import register_cli
from app.config import ConfigError, register_config
from app.dashboard import DASHBOARD_PREFIX, register_dashboard
from app.db import register_db
from app.errors import register_errors
from app.extensions import register_cors, register_limiter, register_proxy
from app.jobs.table import register_jobs
from app.log import register_logging
from app.metrics.routes import register_metrics
from app.security_headers import register_security_headers


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides the settings read from the environment."""
    app = Flask(__name__)
    register_config(app, config)
    register_logging(app)
    register_security_headers(app, DASHBOARD_PREFIX)
    register_proxy(app)
    register_db(app)
    register_jobs(app)
    register_body_rules(app)
    register_cors(app)
    register_api(app)
    register_errors(app)
    register_jwt(app)
    register_limiter(app)
    register_blueprints(app)
    register_metrics(app)
    register_dashboard(app)
    register_cli(app)
    return app


def create_app_or_exit(config: dict | None = None) -> Flask:
    """create_app for entry points: a configuration that cannot run exits with one line."""
    try:
        return create_app(config)
    except ConfigError as exc:
        raise SystemExit(f"refusing to start: {exc}") from None
