"""The one JSON parser for what clients send: bounded depth and integer size, no NUL and no
unpaired surrogates, so no input can reach the stdlib's recursion limit, its 4,300-digit
integer limit or a store's UTF-8 encoder."""

import json
import re
from itertools import accumulate

# No request or webhook body the service takes nests deeper than a few levels.
MAX_DEPTH = 32
# No field takes an integer longer than this; the stdlib refuses more than 4,300 digits with a
# ValueError that is not a JSONDecodeError.
MAX_INT_DIGITS = 100
STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")


class JSONRejected(ValueError):
    """Well-formed JSON that the service refuses; `fields` maps where to why."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(fields)
        self.fields = fields


class InvalidJSON(ValueError):
    """Not JSON at all (syntax, encoding, NaN or Infinity)."""


def _depth(text: str) -> int:
    brackets = BRACKET.findall(STRING.sub("", text))
    steps = (1 if bracket in "[{" else -1 for bracket in brackets)
    return max(accumulate(steps, initial=0))


def _int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONRejected({"_schema": [f"Integers have at most {MAX_INT_DIGITS} digits."]})
    return int(literal)


def _constant(name: str):
    raise InvalidJSON(f"{name} is not JSON.")


def _bad_string(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_strings(document) -> None:
    """Walk `document` without recursion; reject NUL and unpaired surrogates anywhere."""
    stack = [("_schema", document)]
    while stack:
        field, value = stack.pop()
        if isinstance(value, str):
            if _bad_string(value):
                message = "Text may not contain NUL characters or unpaired surrogates."
                raise JSONRejected({field: [message]})
        elif isinstance(value, dict):
            for key, item in value.items():
                name = key if field == "_schema" else field
                stack.append((name, key))
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((field, item) for item in value)


def loads(data: bytes | str):
    """Parse `data` by the rules above; InvalidJSON or JSONRejected when it breaks them."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise InvalidJSON("The body is not UTF-8.") from exc
    if _depth(text) > MAX_DEPTH:
        raise JSONRejected({"_schema": [f"JSON may nest at most {MAX_DEPTH} levels deep."]})
    try:
        document = json.loads(text, parse_int=_int, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJSON(str(exc)) from exc
    except RecursionError:
        # Only if the bracket count above were fooled; the answer is the same.
        raise JSONRejected(
            {"_schema": [f"JSON may nest at most {MAX_DEPTH} levels deep."]}
        ) from None
    _check_strings(document)
    return document
