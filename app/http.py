"""Facts of the HTTP surface that routes, the limiter and the OpenAPI setup all read."""

API_PREFIX = "/api/v1"
# The OpenAPI security requirement of routes that take an access token.
BEARER = [{"bearerAuth": []}]
