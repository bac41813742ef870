"""Route guards beyond a valid token."""

from functools import wraps

from flask_jwt_extended import current_user, get_current_user, get_jwt, verify_jwt_in_request

from app.errors import APIError
from app.users.service import is_admin


class AdminRequired(APIError):
    status, code, message = 403, "admin_required", "This needs an administrator."


def caller_is_admin() -> bool:
    """Whether the request carries a valid admin access token (none, or a bad one: False)."""
    try:
        verify_jwt_in_request(optional=True)
    except Exception:  # a bad token only means "not an admin" here; the probe still answers
        return False
    user = get_current_user()
    return user is not None and is_admin(user)


def admin_required(view):
    """Allow admins only (403 admin_required for everyone else)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request()
        if not is_admin(current_user):
            raise AdminRequired()
        return view(*args, **kwargs)

    return wrapper


def access_required(view):
    """jwt_required(), reusing the access token this request has already verified."""

    # The chat limiter keys on the user, so it verifies the token before the view: decoding
    # and checking it again there would double what the limiter costs a request.
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _access_token_verified():
            verify_jwt_in_request()
        return view(*args, **kwargs)

    return wrapper


def _access_token_verified() -> bool:
    # flask-jwt-extended stores a payload only once the token is valid, unrevoked and its user
    # loaded; an absent token leaves {} and a failed check leaves nothing.
    try:
        return get_jwt().get("type") == "access"
    except RuntimeError:  # nothing verified yet in this request
        return False
