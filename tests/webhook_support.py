"""Signing SendGrid Event Webhook requests as SendGrid does (ECDSA P-256 over timestamp +
body), with a key pair the test generates."""

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app import clock

URL = "/api/v1/webhooks/sendgrid"


def key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """(private key, public key as SendGrid shows it: base64 DER)."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


def signed(private, body: bytes, timestamp: int | None = None) -> dict:
    """The headers SendGrid sends with `body`."""
    timestamp = str(timestamp if timestamp is not None else int(clock.now().timestamp()))
    signature = private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }
