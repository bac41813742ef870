"""Field validators shared by the request schemas."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from marshmallow import ValidationError, fields, validate

from app.passwords import MAX_LENGTH, MIN_LENGTH


def validate_timezone(value: str) -> None:
    """Accept IANA zone names only (e.g. Europe/Berlin)."""
    if value not in _zones():
        raise ValidationError("Not a valid IANA timezone, e.g. Europe/Berlin.")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Not a valid IANA timezone, e.g. Europe/Berlin.") from None


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


class Trimmed(fields.String):
    """A string with surrounding white space removed before validation."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class EmailAddress(fields.Email):
    """An email address, trimmed and lower-cased before it is validated."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


def email_field(**kwargs) -> EmailAddress:
    """An email address, at most 254 characters."""
    return EmailAddress(validate=validate.Length(max=254), **kwargs)


def password_field(**kwargs) -> fields.String:
    """A password of 8–128 characters."""
    return fields.String(validate=validate.Length(min=MIN_LENGTH, max=MAX_LENGTH), **kwargs)


def name_field(**kwargs) -> Trimmed:
    """A display name of 1–100 characters after trimming."""
    return Trimmed(validate=validate.Length(min=1, max=100), **kwargs)


def timezone_field(**kwargs) -> fields.String:
    """An IANA timezone name."""
    return fields.String(validate=[validate.Length(max=64), validate_timezone], **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON true or false only; a set lookup alone would take 1 and 0 (1 == True)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def timestamp_field(**kwargs) -> fields.String:
    """A datetime as the API writes it: ISO 8601 UTC with milliseconds and `Z` (date-time)."""
    metadata = {"format": "date-time", **kwargs.pop("metadata", {})}
    return fields.String(metadata=metadata, **kwargs)


def strict_boolean(**kwargs) -> fields.Boolean:
    """A JSON true or false, nothing that merely looks like one ("yes", 1, 0)."""
    return StrictBoolean(**kwargs)
