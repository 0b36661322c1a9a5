"""Kiosk request signing (docs/platform-api.md, "Authentication: signed requests").

Wire format: headers ``X-Kiosk-Id``, ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (16-64 of
``[A-Za-z0-9_-]``) and ``X-Signature`` = lowercase hex HMAC-SHA256(secret as UTF-8,
canonical string). The canonical string is six lines joined by ``\\n``::

    METHOD          upper case
    PATH            the raw request path as sent, without the query
    QUERY           decoded (form rules: '+' is a space) name/value pairs, sorted by name then
                    value, each side percent-encoded keeping only RFC 3986 unreserved
                    characters, as name=value joined by '&'; empty when there is no query
    TIMESTAMP       the X-Timestamp header
    NONCE           the X-Nonce header
    BODY_SHA256     lowercase hex SHA-256 of the raw body bytes

Pure functions: no clock, no I/O; the caller supplies ``now``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote

WINDOW_S = 300
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
TIMESTAMP_RE = re.compile(r"-?[0-9]{1,12}")

#: 401 reasons, in the order they are checked.
REASONS = ("missing_headers", "unknown_kiosk", "stale_timestamp", "bad_signature", "replayed_nonce")


def canonical_query(raw_query: str) -> str:
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    enc = sorted((quote(k, safe="-._~"), quote(v, safe="-._~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in enc)


def canonical_string(
    method: str, raw_path: str, raw_query: str, *, timestamp: str, nonce: str, body: bytes
) -> str:
    return "\n".join(
        [
            method.upper(),
            raw_path,
            canonical_query(raw_query),
            timestamp,
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    )


def sign(secret: str, canonical: str) -> str:
    return hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def header_problem(
    kiosk_id: str | None, ts: str | None, nonce: str | None, sig: str | None
) -> str | None:
    """Why the four auth headers are unusable (missing or malformed), or None."""
    if not kiosk_id or not ts or not nonce or not sig:
        return "X-Kiosk-Id, X-Timestamp, X-Nonce and X-Signature are required"
    if len(kiosk_id) > 128:
        return "X-Kiosk-Id is too long"
    if not TIMESTAMP_RE.fullmatch(ts):
        return "X-Timestamp must be whole Unix seconds"
    if not NONCE_RE.fullmatch(nonce):
        return "X-Nonce must be 16-64 characters of [A-Za-z0-9_-]"
    if len(sig) != 64:
        return "X-Signature must be 64 lowercase hex characters"
    return None


def timestamp_fresh(ts: str, now: float) -> bool:
    return abs(int(ts) - now) <= WINDOW_S


def signature_ok(secret: str, canonical: str, given: str) -> bool:
    return hmac.compare_digest(sign(secret, canonical), given.lower())
