"""Route guards beyond a valid token."""

from functools import wraps

from flask_jwt_extended import current_user, verify_jwt_in_request

from app.errors import APIError
from app.users.service import is_admin


class AdminRequired(APIError):
    status, code, message = 403, "admin_required", "This needs an administrator."


def admin_required(view):
    """Allow admins only (403 admin_required for everyone else)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        verify_jwt_in_request()
        if not is_admin(current_user):
            raise AdminRequired()
        return view(*args, **kwargs)

    return wrapper
