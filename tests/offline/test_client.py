"""The platform client against a scripted local HTTP server: retries, timeouts, typed errors,
link state. (The same client runs against the real sandbox in test_platform_sandbox.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from offline.client import PlatformClient, RetryPolicy
from offline.errors import (
    PlatformAuthError,
    PlatformConflictError,
    PlatformProtocolError,
    PlatformRejectedError,
    PlatformTooLargeError,
    PlatformUnavailableError,
    PlatformValidationError,
)
from offline.link import LinkState, LinkStateChanged
from tests.offline.scripted_server import Script, scripted_server


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    with scripted_server() as s:
        yield s


def make_client(url: str, **kw: Any) -> PlatformClient:
    kw.setdefault("retry", RetryPolicy(attempts=3, base_s=0.0, cap_s=0.0))
    kw.setdefault("timeout_s", 2.0)
    return PlatformClient(url, "kiosk-t", "secret-t", **kw)


def test_get_is_retried_on_503_with_fresh_signatures(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies += [(503, {"error": "outage"}), (502, None)]
    client = make_client(url)
    try:
        health = client.health()
        assert health.status == "ok"
        assert len(script.seen) == 3
        cat = [(503, {"error": "x"}), (200, {"version": "v1", "items": []})]
        script.replies += cat
        client.catalog()
        signed = script.seen[3:]
        assert len({r.headers["X-Nonce"] for r in signed}) == 2  # a new nonce per attempt
        assert all(r.headers["X-Kiosk-Id"] == "kiosk-t" for r in signed)
    finally:
        client.close()


def test_post_without_idempotency_key_is_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies += [(503, {"error": "outage"})]
    client = make_client(url)
    try:
        with pytest.raises(PlatformUnavailableError):
            client.verify_code("LTM-1")
        assert len(script.seen) == 1
    finally:
        client.close()


def test_post_with_idempotency_key_is_retried_with_the_same_key(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.replies += [("drop", None), (201, {"case_number": "JN1", "status": "received"})]
    client = make_client(url)
    try:
        receipt = client.submit_case({"item_code": "YJS-0009"}, "key-12345678")
        assert receipt.case_number == "JN1"
        assert [r.headers["Idempotency-Key"] for r in script.seen] == ["key-12345678"] * 2
        assert script.seen[0].body == script.seen[1].body
    finally:
        client.close()


def test_timeout_is_unavailable(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies += [("sleep", 1.0)]
    client = make_client(url, timeout_s=0.2, retry=RetryPolicy(attempts=1))
    try:
        with pytest.raises(PlatformUnavailableError, match="in time"):
            client.case_status("JN1")
    finally:
        client.close()


@pytest.mark.parametrize(
    ("status", "body", "error", "check"),
    [
        (
            401,
            {"error": "unauthorized", "reason": "stale_timestamp"},
            PlatformAuthError,
            lambda e: e.auth_reason == "stale_timestamp",
        ),
        (
            409,
            {"error": "idempotency_conflict"},
            PlatformConflictError,
            lambda e: e.error_code == "idempotency_conflict",
        ),
        (
            422,
            {
                "error": "validation_error",
                "message": "bad",
                "fields": [{"loc": ["body", "item_code"], "msg": "unknown item"}],
            },
            PlatformValidationError,
            lambda e: [f.loc for f in e.fields] == [("body", "item_code")],
        ),
        (
            403,
            {"error": "consent_required"},
            PlatformRejectedError,
            lambda e: e.status_code == 403 and e.error_code == "consent_required",
        ),
        (429, None, PlatformUnavailableError, lambda e: e.status_code == 429),
        (200, {"unexpected": True}, PlatformProtocolError, lambda e: e.retryable),
    ],
)
def test_typed_errors(
    server: tuple[str, Script], status: int, body: Any, error: type[Exception], check: Any
) -> None:
    url, script = server
    script.replies += [(status, body)]
    client = make_client(url, retry=RetryPolicy(attempts=1))
    try:
        with pytest.raises(error) as info:
            client.case_status("JN1")
        assert check(info.value)
    finally:
        client.close()


def test_4xx_is_never_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies += [(404, {"error": "not_found"})]
    client = make_client(url)
    try:
        with pytest.raises(PlatformRejectedError):
            client.case_status("nope")
        assert len(script.seen) == 1
    finally:
        client.close()


def test_link_goes_offline_then_the_probe_brings_it_back(server: tuple[str, Script]) -> None:
    url, script = server
    events: list[LinkStateChanged] = []
    online_again = threading.Event()
    client = make_client(url, probe_interval_s=0.05, retry=RetryPolicy(attempts=1))

    def listener(ev: LinkStateChanged) -> None:
        events.append(ev)
        if ev.state == LinkState.ONLINE and ev.previous == LinkState.OFFLINE:
            online_again.set()

    client.link.add_listener(listener)
    try:
        script.replies += [(503, None), (503, None), (503, None)]
        with pytest.raises(PlatformUnavailableError):
            client.case_status("JN1")
        assert client.link.state == LinkState.OFFLINE
        # The probe (GET /api/v1/health, unsigned) gets two more 503s, then 200.
        assert online_again.wait(10)
        assert [e.state for e in events] == [LinkState.OFFLINE, LinkState.ONLINE]
        probes = [r for r in script.seen if r.path == "/api/v1/health"]
        assert len(probes) >= 3
        assert all("X-Signature" not in r.headers for r in probes)
    finally:
        client.close()


def test_connection_refused_is_unavailable_and_offline() -> None:
    with scripted_server() as (url, _):
        pass  # the port is closed again now
    client = make_client(url, retry=RetryPolicy(attempts=2, base_s=0, cap_s=0))
    try:
        with pytest.raises(PlatformUnavailableError):
            client.catalog()
        assert client.link.state == LinkState.OFFLINE
    finally:
        client.close()


def test_a_body_over_the_cap_is_abandoned_as_it_streams_and_not_retried(
    server: tuple[str, Script],
) -> None:
    url, script = server
    total = 64 * 1024 * 1024  # no Content-Length: only counting as it arrives can stop it
    script.replies += [("stream", total)]
    client = make_client(url)
    try:
        with pytest.raises(PlatformTooLargeError):
            client.assist_document("rh-1", "doc-1", max_bytes=32 * 1024)
        assert len(script.seen) == 1  # a GET, yet not retried: the same answer would come
        assert script.streamed < total  # the kiosk hung up instead of reading it all
        script.streamed = 0
        script.replies += [("stream", 20000)]
        got = client.assist_document("rh-1", "doc/2", max_bytes=32 * 1024)
        assert (got.content, got.content_type) == (b"0" * 20000, "application/pdf")
        assert script.seen[-1].path == "/api/v1/assist/requests/rh-1/documents/doc%2F2"
        assert "X-Signature" in script.seen[-1].headers
    finally:
        client.close()
