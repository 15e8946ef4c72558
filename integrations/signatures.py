"""Webhook signatures: X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">."""

import hashlib
import hmac
import time


class SignatureError(Exception):
    """The request is not signed by the source (or not recently enough)."""


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header a source sends; used by our own tools, tests and benchmarks."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def signature_verify(*, header: str, body: bytes, secrets: list[str], tolerance: int, now: float | None = None) -> None:
    if not header:
        raise SignatureError("missing X-Signature header")
    pairs = [item.strip().split("=", 1) for item in header.split(",") if "=" in item]
    given = [value for key, value in pairs if key == "v1"]
    try:
        timestamp = int(next(value for key, value in pairs if key == "t"))
    except (StopIteration, ValueError) as error:
        raise SignatureError("X-Signature needs t=<unix seconds>") from error
    now = time.time() if now is None else now
    if abs(int(now) - timestamp) > tolerance:  # in integers: a t of 400 digits is no float
        raise SignatureError("X-Signature timestamp is outside the tolerance")
    if not given:
        raise SignatureError("X-Signature needs v1=<hex digest>")
    for secret in secrets:
        expected = _digest(secret, timestamp, body)
        # compared as bytes: compare_digest refuses str with non-ASCII characters
        if any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in given):
            return
    raise SignatureError("X-Signature does not match")


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
