"""The Heroku build: app.json agrees with the Procfile and the configuration, and a clean
virtualenv from requirements.txt alone runs the app (scripts/check_heroku_build.sh)."""

import json
import subprocess

from dotenv import dotenv_values

from app.config import ENV_EXAMPLE_FILE, ROOT, SIGNING_SECRETS

APP_JSON = json.loads((ROOT / "app.json").read_text())
# Read by the platform, gunicorn or Flask's CLI rather than by app.config.
PLATFORM_VARIABLES = {"FLASK_SKIP_DOTENV", "TZ", "WEB_CONCURRENCY"}


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        entries[name.strip()] = command.strip()
    return entries


def test_the_formation_runs_every_process_and_one_scheduler():
    processes = set(_procfile()) - {"release"}
    assert set(APP_JSON["formation"]) == processes
    assert APP_JSON["formation"]["scheduler"]["quantity"] == 1
    assert "release" in _procfile()


def test_secrets_are_generated_and_production_needs_are_declared():
    env = APP_JSON["env"]
    for name in (*SIGNING_SECRETS, "RQ_DASHBOARD_PASSWORD"):
        assert env[name].get("generator") == "secret", name
    assert env["MONGO_URL"]["required"] is True
    assert env["TRUSTED_PROXY_HOPS"]["value"] == "1"
    assert any(addon["plan"].startswith("heroku-redis") for addon in APP_JSON["addons"])


def test_every_config_var_is_a_setting_the_app_knows():
    known = set(dotenv_values(ENV_EXAMPLE_FILE)) | PLATFORM_VARIABLES
    assert set(APP_JSON["env"]) <= known, set(APP_JSON["env"]) - known


def test_a_clean_build_from_requirements_txt_serves():
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/check_heroku_build.sh")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'GET /api/v1/health -> {"status":"ok"}' in result.stdout
    assert "APP_ENV = production" in result.stdout
