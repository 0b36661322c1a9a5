"""Request signing of Platform API v1 (docs/platform-api.md, "Authentication").

Wire format
-----------
Every request under ``/api/v1`` except ``GET /api/v1/health`` carries four headers:
``X-Kiosk-Id``, ``X-Timestamp`` (Unix seconds), ``X-Nonce`` (16–64 of ``[A-Za-z0-9_-]``, never
reused) and ``X-Signature`` = lowercase hex HMAC-SHA256(secret as UTF-8, canonical string). The
canonical string is six lines joined by ``\\n`` (no trailing newline)::

    METHOD        upper case
    PATH          the path exactly as sent (percent-encoded), without the query
    QUERY         the query decoded with form rules ("+" is a space), each name and value
                  percent-encoded keeping only RFC 3986 unreserved characters, the encoded pairs
                  sorted by name then value, joined by "&" as name=value; empty without a query
    TIMESTAMP     the X-Timestamp value
    NONCE         the X-Nonce value
    BODY_SHA256   lowercase hex SHA-256 of the raw body bytes (of b"" without a body)

Everything here is pure (no I/O; the clock and the nonce are parameters) so the canonical
form is tested byte for byte and fuzzed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlsplit

NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: Headers of a signed request, in the order they are listed in the contract.
SIGNED_HEADERS = ("X-Kiosk-Id", "X-Timestamp", "X-Nonce", "X-Signature")

_UNRESERVED = "-._~"  # plus ALPHA / DIGIT, which quote() always keeps


def new_nonce() -> str:
    """A fresh 32-character nonce from the OS CSPRNG (URL-safe base64 alphabet)."""
    return _secrets.token_urlsafe(24)


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Percent-encoded pairs, sorted (encoded) by name then value, as ``n=v`` joined by ``&``."""
    encoded = sorted((quote(n, safe=_UNRESERVED), quote(v, safe=_UNRESERVED)) for n, v in pairs)
    return "&".join(f"{name}={value}" for name, value in encoded)


def body_sha256(body: bytes | None) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def canonical_string(
    method: str, path: str, query: str, *, timestamp: int, nonce: str, body: bytes | None
) -> str:
    """The canonical string of a request whose query part (after ``?``) is ``query``."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return "\n".join(
        (
            method.upper(),
            path or "/",
            canonical_query(pairs),
            str(timestamp),
            nonce,
            body_sha256(body),
        )
    )


def signature(secret: str, canonical: str) -> str:
    return hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_headers(
    *,
    method: str,
    url: str,
    body: bytes | None,
    kiosk_id: str,
    secret: str,
    timestamp: int,
    nonce: str,
) -> dict[str, str]:
    """The four authentication headers for a request to the (already encoded) ``url``."""
    if not NONCE_RE.fullmatch(nonce):
        raise ValueError("nonce must be 16-64 characters of [A-Za-z0-9_-]")
    parts = urlsplit(url)
    canonical = canonical_string(
        method, parts.path, parts.query, timestamp=timestamp, nonce=nonce, body=body
    )
    return {
        "X-Kiosk-Id": kiosk_id,
        "X-Timestamp": str(timestamp),
        "X-Nonce": nonce,
        "X-Signature": signature(secret, canonical),
    }
