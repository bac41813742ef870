"""A production app that starts trusts no secret the repository ships, and mounts no dev route."""

import pytest
from dotenv import dotenv_values
from flask_jwt_extended import create_access_token

from app.config import ENV_EXAMPLE_FILE
from tests.accounts import make_user, me_status
from tests.production import production_overrides

# Every value .env.example shows, and the fallbacks earlier versions of this service used.
SHIPPED = sorted(
    {v for v in dotenv_values(ENV_EXAMPLE_FILE).values() if v}
    | {
        "dev-only-secret-key-never-use-in-production",
        "dev-only-jwt-secret-key-never-use-in-production",
    }
)


@pytest.fixture
def production_app(make_app):
    return make_app(**production_overrides())


def _token_signed_with(app, secret: str, user: dict) -> str:
    real = app.config["JWT_SECRET_KEY"]
    app.config["JWT_SECRET_KEY"] = secret
    try:
        with app.app_context():
            return create_access_token(identity=str(user["_id"]), additional_claims={"tv": 0})
    finally:
        app.config["JWT_SECRET_KEY"] = real


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_jwt_signed_with_a_shipped_string_is_401(production_app):
    user = make_user(production_app)
    client = production_app.test_client()
    genuine = _token_signed_with(production_app, production_app.config["JWT_SECRET_KEY"], user)
    assert me_status(client, genuine) == 200
    for secret in SHIPPED:
        assert me_status(client, _token_signed_with(production_app, secret, user)) == 401, secret


@pytest.mark.parametrize("path", ["/dev/emails", "/dev/emails/" + "0" * 24])
def test_production_has_no_dev_routes(production_app, path):
    assert production_app.test_client().get(path).status_code == 404
    assert not [r for r in production_app.url_map.iter_rules() if r.rule.startswith("/dev")]
