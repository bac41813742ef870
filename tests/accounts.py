"""Helpers for tests that need users and tokens."""

from functools import cache

from app.passwords import hash_password
from app.users.service import create_user

PASSWORD = "correct horse battery"


@cache
def _hash(password: str) -> str:
    # An argon2 hash takes ~50 ms; users made directly share one per password (each row still
    # verifies through the real hasher at login).
    return hash_password(password)


def make_user(app, email="ada@example.com", password=PASSWORD, name="Ada", **fields) -> dict:
    """Insert a password user directly (as signup would) and return the document."""
    from app.db import get_db

    with app.app_context():
        user = create_user(email, name, password_hash=_hash(password) if password else None)
        if fields:
            get_db().users.update_one({"_id": user["_id"]}, {"$set": fields})
            user.update(fields)
        return user


def login(client, email="ada@example.com", password=PASSWORD) -> dict:
    """Log in through the API; returns the response body (user and tokens)."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


def refresh_status(client, refresh_token: str) -> int:
    """The status of POST /auth/refresh with `refresh_token`."""
    return client.post("/api/v1/auth/refresh", headers=bearer(refresh_token)).status_code


def me_status(client, access_token: str) -> int:
    """The status of GET /users/me with `access_token`."""
    return client.get("/api/v1/users/me", headers=bearer(access_token)).status_code
