"""Settings under which a production app starts in a test: strong secrets made per run."""

import secrets

# Made at run time, so no value here is shipped in the repository (production refuses those).
STRONG_SECRETS = {
    "SECRET_KEY": secrets.token_urlsafe(48),
    "JWT_SECRET_KEY": secrets.token_urlsafe(48),
}
UNREACHABLE_MONGO_URL = "mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=100"


def production_overrides(**extra) -> dict:
    """make_app overrides for APP_ENV=production with strong secrets."""
    return {"APP_ENV": "production", **STRONG_SECRETS, **extra}
