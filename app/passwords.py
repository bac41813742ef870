"""Password hashing: argon2id (argon2-cffi defaults)."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import APIError

MIN_LENGTH = 8
MAX_LENGTH = 128

_hasher = PasswordHasher()


class PasswordIncorrect(APIError):
    status, code, message = 403, "password_incorrect", "The current password is wrong."


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash costs the same time and fails."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    # Unknown emails verify against this, so login takes as long whether or not they exist.
    return _hasher.hash("not-a-real-password-but-just-as-slow")
