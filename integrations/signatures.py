"""Webhook signatures: X-Signature: t=<unix seconds>,v2=<hex HMAC-SHA256 of "<t>.<source code>.<raw body>">.

v2 binds the signature to the source in the URL, so a message signed for one source is refused
at another's URL even when the two share a secret. The old v1 (HMAC of "<t>.<raw body>") is
accepted only while the transition lasts (settings.INBOUND_SIGNATURE_V1_UNTIL).
"""

import hashlib
import hmac
import time


class SignatureError(Exception):
    """The request is not signed by the source (or not recently enough)."""


def signature_header(*, secret: str, source_code: str, body: bytes, timestamp: int | None = None) -> str:
    """The header a source sends; used by our own tools, tests and benchmarks."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v2={_digest(secret, f'{timestamp}.{source_code}.', body)}"


def signature_header_v1(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The old header (no source in what is signed): only for testing the transition."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_digest(secret, f'{timestamp}.', body)}"


def signature_verify(
    *,
    header: str,
    source_code: str,
    body: bytes,
    secrets: list[str],
    tolerance: int,
    accept_v1: bool,
    now: float | None = None,
) -> str:
    """Raise SignatureError unless one of `secrets` signed `body` for `source_code` recently;
    return the scheme that matched ("v2", or "v1" during the transition).

    A header may carry several v2 (and, during the transition, v1) digests, e.g. one per secret
    while a rotation is under way; one match is enough."""
    if not header:
        raise SignatureError("missing X-Signature header")
    pairs = [item.strip().split("=", 1) for item in header.split(",") if "=" in item]
    try:
        timestamp = int(next(value for key, value in pairs if key == "t"))
    except (StopIteration, ValueError) as error:
        raise SignatureError("X-Signature needs t=<unix seconds>") from error
    now = time.time() if now is None else now
    if abs(int(now) - timestamp) > tolerance:  # in integers: a t of 400 digits is no float
        raise SignatureError("X-Signature timestamp is outside the tolerance")
    # What each scheme signs after the timestamp; v1 only while the transition lasts.
    schemes = {"v2": f"{timestamp}.{source_code}."}
    if accept_v1:
        schemes["v1"] = f"{timestamp}."
    given = [(key, value) for key, value in pairs if key in schemes]
    if not given:
        if any(key == "v1" for key, _value in pairs):
            raise SignatureError("X-Signature v1 is no longer accepted: sign with v2 (the source code included)")
        raise SignatureError("X-Signature needs v2=<hex digest>")
    for secret in secrets:
        for key, candidate in given:
            # compared as bytes: compare_digest refuses str with non-ASCII characters
            if hmac.compare_digest(_digest(secret, schemes[key], body).encode(), candidate.encode()):
                return key
    raise SignatureError("X-Signature does not match")


def _digest(secret: str, prefix: str, body: bytes) -> str:
    return hmac.new(secret.encode(), prefix.encode() + body, hashlib.sha256).hexdigest()
