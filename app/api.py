"""The OpenAPI document and the docs UI, served from packaged assets (works offline)."""

import swagger_ui_bundle
from flask import Blueprint, Flask

from app.apidoc import ContractPlugin
from app.extensions import api
from app.http import API_PREFIX

DOCS_ASSETS_URL = f"{API_PREFIX}/docs/assets/"

docs_assets = Blueprint(
    "docs_assets",
    __name__,
    static_folder=swagger_ui_bundle.swagger_ui_path,
    static_url_path=f"{API_PREFIX}/docs/assets",
)


def register_api(app: Flask) -> None:
    """Bind flask-smorest: /api/v1/openapi.json and the Swagger UI at /api/v1/docs."""
    app.config.update(
        API_TITLE="GoalGetter API",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS_URL,
        API_SPEC_OPTIONS={
            "info": {"description": "Accounts, goals, meetings and the coach chat."},
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
        },
    )
    api.init_app(app, spec_kwargs={"extra_plugins": [ContractPlugin()]})
    app.register_blueprint(docs_assets)


def register_blueprints(app: Flask) -> None:
    """Mount every API blueprint (documented in the OpenAPI document)."""
    from app.admin.routes import blp as admin
    from app.auth.routes import blp as auth
    from app.chat.routes import blp as chat
    from app.feed.routes import blp as calendar_feed
    from app.goals.routes import blp as goals
    from app.health.routes import blp as health
    from app.meetings.routes import blp as meetings
    from app.users.routes import blp as users

    for blueprint in (health, auth, users, goals, meetings, chat, admin, calendar_feed):
        api.register_blueprint(blueprint)
    register_email_blueprints(app)


def register_email_blueprints(app: Flask) -> None:
    """Unsubscribe and the SendGrid webhook under /api/v1; the dev outbox in development."""
    from app.email.routes import blp as email

    api.register_blueprint(email)
    if app.config["APP_ENV"] == "development":
        from app.email.dev import dev_outbox

        # Outside /api/v1, not documented, never mounted in test or production.
        app.register_blueprint(dev_outbox)
