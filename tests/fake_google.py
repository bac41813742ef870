"""A local fake of Google's OpenID provider: discovery, JWKS, token endpoint, signing key."""

import base64
import hashlib
import json
import time
import uuid
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fake_http import FakeServer, Reply

ISSUER = "https://accounts.google.com"
CLIENT_ID = "client-123.apps.googleusercontent.com"
CLIENT_SECRET = "client-secret"
KID = "test-key-1"


def new_key():
    """A fresh RSA private key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeGoogle:
    """Serves discovery, JWKS and the token endpoint; remembers what it was asked."""

    def __init__(self):
        self.key = new_key()
        self.codes: dict[str, dict] = {}
        self.server = FakeServer(self._respond)

    @property
    def discovery_url(self) -> str:
        return f"{self.server.url}/.well-known/openid-configuration"

    def requests_to(self, path: str):
        """The recorded requests whose path starts with `path`."""
        return [r for r in self.server.requests if r.path.startswith(path)]

    def id_token(self, key=None, kid=KID, **overrides) -> str:
        """A signed ID token with sensible claims, overridable one by one."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "sub": "google-sub-1",
            "email": "ada@example.com",
            "email_verified": True,
            "name": "Ada Lovelace",
            "iat": now,
            "exp": now + 3600,
            **overrides,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def consent(self, challenge: str, nonce: str, **claims) -> str:
        """What the user's browser gets from Google's consent page: a one-time code."""
        code = uuid.uuid4().hex
        self.codes[code] = {"challenge": challenge, "nonce": nonce, "claims": claims}
        return code

    def _respond(self, request) -> Reply:
        if request.path.startswith("/.well-known/openid-configuration"):
            return _json(
                {
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{self.server.url}/o/oauth2/v2/auth",
                    "token_endpoint": f"{self.server.url}/token",
                    "jwks_uri": f"{self.server.url}/certs",
                }
            )
        if request.path.startswith("/certs"):
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            jwk.update(kid=KID, alg="RS256", use="sig")
            return _json({"keys": [jwk]}, headers={"Cache-Control": "public, max-age=3600"})
        if request.path.startswith("/token"):
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if grant is None or grant["challenge"] != challenge:
                return _json({"error": "invalid_grant"}, status=400)
            token = self.id_token(nonce=grant["nonce"], **grant["claims"])
            return _json({"access_token": "at", "token_type": "Bearer", "id_token": token})
        return Reply(status=404)

    def close(self):
        self.server.close()


def _json(body, status=200, headers=None) -> Reply:
    return Reply(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
