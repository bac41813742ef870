"""Request and response schemas of /auth."""

from marshmallow import Schema, fields, validate

from app.users.schemas import UserSchema
from app.validation import email_field, name_field, password_field, strict_boolean, timezone_field


class SignupSchema(Schema):
    email = email_field(required=True)
    password = password_field(required=True)
    name = name_field(required=True)
    timezone = timezone_field()


class LoginSchema(Schema):
    email = email_field(required=True)
    # Not length-checked beyond a bound: a wrong password is a 401, not a 422 hint.
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class LogoutSchema(Schema):
    refresh_token = fields.String(validate=validate.Length(max=4096))
    everywhere = strict_boolean(load_default=False)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    new_password = password_field(required=True)


class PasswordResetSchema(Schema):
    email = email_field(required=True)


class PasswordResetConfirmSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    new_password = password_field(required=True)


class GoogleTokenSchema(Schema):
    id_token = fields.String(required=True, validate=validate.Length(min=1, max=8192))


class GoogleCallbackArgs(Schema):
    state = fields.String(validate=validate.Length(max=256))
    code = fields.String(validate=validate.Length(max=2048))
    error = fields.String(validate=validate.Length(max=256))


class TokensSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class SessionSchema(TokensSchema):
    user = fields.Nested(UserSchema, required=True)


class GoogleSessionSchema(SessionSchema):
    created = fields.Boolean(required=True)
