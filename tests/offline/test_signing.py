"""Request signing (offline.signing): the canonical form byte for byte, and fuzzing."""

from __future__ import annotations

import hashlib
import hmac
import random
from urllib.parse import parse_qsl, unquote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offline.signing import (
    NONCE_RE,
    canonical_query,
    canonical_string,
    new_nonce,
    sign_headers,
)


def test_canonical_string_layout() -> None:
    body = b'{"code":"abc"}'
    text = canonical_string(
        "post", "/api/v1/x%20y", "b=2&a=1&a=0", timestamp=1700000000, nonce="n" * 16, body=body
    )
    assert text.split("\n") == [
        "POST",
        "/api/v1/x%20y",
        "a=0&a=1&b=2",
        "1700000000",
        "n" * 16,
        hashlib.sha256(body).hexdigest(),
    ]
    assert not text.endswith("\n")


def test_empty_query_and_body() -> None:
    text = canonical_string("GET", "/api/v1/catalog", "", timestamp=1, nonce="x" * 16, body=None)
    assert text.split("\n")[2] == ""
    assert text.split("\n")[5] == hashlib.sha256(b"").hexdigest()


def test_query_is_percent_encoded_with_unreserved_kept() -> None:
    # '+' in a query is a space (form rules); '~' stays; '/' and non-ASCII are encoded.
    assert canonical_query(parse_qsl("holder=a+b~c/d&z=%E5%BC%A0")) == (
        "holder=a%20b~c%2Fd&z=%E5%BC%A0"
    )


def test_sign_headers_match_an_independent_hmac() -> None:
    headers = sign_headers(
        method="GET",
        url="http://127.0.0.1:1/api/v1/licences?holder=11010519491231002X",
        body=None,
        kiosk_id="kiosk-1",
        secret="s3cret",
        timestamp=1700000000,
        nonce="abcdefghijklmnop",
    )
    canonical = "\n".join(
        [
            "GET",
            "/api/v1/licences",
            "holder=11010519491231002X",
            "1700000000",
            "abcdefghijklmnop",
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    expected = hmac.new(b"s3cret", canonical.encode(), hashlib.sha256).hexdigest()
    assert headers == {
        "X-Kiosk-Id": "kiosk-1",
        "X-Timestamp": "1700000000",
        "X-Nonce": "abcdefghijklmnop",
        "X-Signature": expected,
    }


def test_bad_nonce_is_refused() -> None:
    with pytest.raises(ValueError, match="nonce"):
        sign_headers(
            method="GET",
            url="http://h/",
            body=None,
            kiosk_id="k",
            secret="s",
            timestamp=1,
            nonce="short",
        )


def test_nonces_are_valid_and_unique() -> None:
    nonces = {new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(NONCE_RE.fullmatch(n) for n in nonces)


pairs = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=6)


@given(pairs)
def test_canonical_query_ignores_order_and_round_trips(items: list[tuple[str, str]]) -> None:
    shuffled = list(items)
    random.Random(len(items)).shuffle(shuffled)
    text = canonical_query(items)
    assert text == canonical_query(shuffled)
    # What the server parses from the URL the client sends gives the same canonical form.
    assert canonical_query(parse_qsl(urlencode(items), keep_blank_values=True)) == text
    decoded = sorted(
        (unquote(p.split("=", 1)[0]), unquote(p.split("=", 1)[1])) for p in text.split("&") if p
    )
    assert decoded == sorted(items)


@given(st.text(max_size=200), st.text(max_size=60), st.binary(max_size=100))
def test_any_query_and_path_never_crash(query: str, path: str, body: bytes) -> None:
    text = canonical_string("GET", path, query, timestamp=0, nonce="n" * 16, body=body)
    assert text.count("\n") >= 5
