"""Injected faults, size limits and error shapes on the real process."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.sandbox.conftest import case_body
from tests.sandbox_process import SandboxProcess, fault_rule, sign_headers, start_sandbox


def test_outage_answers_503_everywhere_under_api(sb: SandboxProcess) -> None:
    sb.set_faults(outage=True)
    for resp in (
        requests.get(sb.url + "/api/v1/health", timeout=5),
        sb.signed_request("GET", "/api/v1/catalog"),
    ):
        assert resp.status_code == 503
        assert resp.json()["error"] == "unavailable"
    assert sb.stats()["outage_answers"] >= 2  # the admin API is never faulted
    sb.clear_faults()
    assert requests.get(sb.url + "/api/v1/health", timeout=5).status_code == 200


def test_error_rate_per_endpoint_and_method(sb: SandboxProcess) -> None:
    sb.set_faults([fault_rule("/api/v1/cases", method="POST", error_rate=1.0)])
    key = uuid.uuid4().hex
    resp = sb.signed_request(
        "POST", "/api/v1/cases", json=case_body(sb.kiosk_id), headers={"Idempotency-Key": key}
    )
    assert resp.status_code == 503
    assert resp.json()["error"] == "fault_injected"
    assert sb.signed_request("GET", "/api/v1/catalog").status_code == 200  # other endpoints fine
    assert not [c for c in sb.cases() if c["idempotency_key"] == key]  # nothing was stored
    assert sb.stats()["injected_errors"] >= 1


def test_latency_is_added(sb: SandboxProcess) -> None:
    sb.set_faults([fault_rule("/api/v1/health", latency_ms=400)])
    started = time.monotonic()
    assert requests.get(sb.url + "/api/v1/health", timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.4  # a lower bound only: sleeping can't be shorter


def test_drop_closes_without_an_answer(sb: SandboxProcess) -> None:
    sb.set_faults([fault_rule("/api/v1/cat*", drop_rate=1.0)])
    with pytest.raises(requests.ConnectionError):
        sb.signed_request("GET", "/api/v1/catalog")
    # Raw socket view: the server closes and sends not a single byte.
    with socket.create_connection(
        (sb.url.split("//")[1].split(":")[0], int(sb.url.rsplit(":", 1)[1])), timeout=5
    ) as conn:
        conn.sendall(b"GET /api/v1/catalog HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.recv(100) == b""
    assert sb.stats()["injected_drops"] >= 2


def test_drop_after_processing_then_retry_gives_the_same_case(sb: SandboxProcess) -> None:
    key, body = uuid.uuid4().hex, case_body(sb.kiosk_id, child_name="掉线")
    sb.set_faults([fault_rule("/api/v1/cases", method="POST", drop_after_rate=1.0)])
    with pytest.raises(requests.ConnectionError):
        sb.signed_request("POST", "/api/v1/cases", json=body, headers={"Idempotency-Key": key})
    stored = [c for c in sb.cases() if c["idempotency_key"] == key]
    assert len(stored) == 1  # the platform did create the case
    sb.clear_faults()
    retry = sb.signed_request("POST", "/api/v1/cases", json=body, headers={"Idempotency-Key": key})
    assert retry.status_code == 200
    assert retry.json()["case_number"] == stored[0]["case_number"]


def test_admin_needs_the_token(sb: SandboxProcess) -> None:
    for headers in ({}, {"X-Admin-Token": "wrong"}):
        resp = requests.get(sb.url + "/admin/stats", headers=headers, timeout=5)
        assert resp.status_code == 403
        assert resp.json()["error"] == "forbidden"


def test_bad_fault_plan_is_422(sb: SandboxProcess) -> None:
    resp = requests.put(
        sb.url + "/admin/faults",
        json={"rules": [{"path": "/x", "error_rate": 2}]},
        headers={"X-Admin-Token": sb.admin_token},
        timeout=5,
    )
    assert resp.status_code == 422
    assert resp.json()["fields"][0]["loc"][:2] == ["body", "rules"]


def test_unknown_route_is_404_json(sb: SandboxProcess) -> None:
    for resp in (
        requests.get(sb.url + "/nowhere", timeout=5),
        sb.signed_request("GET", "/api/v1/nowhere"),
    ):
        assert resp.status_code == 404
        assert resp.json()["error"] == "not_found"
    wrong_method = sb.signed_request("DELETE", "/api/v1/catalog")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


def test_oversize_body_is_413(sb: SandboxProcess) -> None:
    big = b"x" * (8 * 1024 * 1024 + 1)
    headers = sign_headers(sb.kiosk_id, sb.secret, "POST", "/api/v1/cases", big)
    resp = requests.post(sb.url + "/api/v1/cases", data=big, headers=headers, timeout=30)
    assert resp.status_code == 413
    assert resp.json()["error"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(9):
            yield b"y" * (1024 * 1024)

    streamed = requests.post(sb.url + "/api/v1/cases", data=chunks(), headers=headers, timeout=30)
    assert streamed.status_code == 413


def test_exactly_8_mib_is_not_413(sb: SandboxProcess) -> None:
    body = b" " * (8 * 1024 * 1024)
    resp = sb.signed_request(
        "POST",
        "/api/v1/identity/verify-code",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 422  # parsed (and found empty), not refused for size


def test_bad_json_and_wrong_types_are_422_with_fields(sb: SandboxProcess) -> None:
    broken = sb.signed_request(
        "POST",
        "/api/v1/identity/verify-code",
        data=b'{"code": ',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["error"] == "validation_error"
    typed = sb.signed_request("POST", "/api/v1/identity/verify-code", json={"code": 5, "x": 1})
    assert typed.status_code == 422
    locs = [f["loc"] for f in typed.json()["fields"]]
    assert ["body", "code"] in locs and ["body", "x"] in locs
    assert all(isinstance(f["msg"], str) for f in typed.json()["fields"])
    not_object = sb.signed_request(
        "POST",
        "/api/v1/cases",
        data=json.dumps([1]).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "k" * 10},
    )
    assert not_object.status_code == 422


def test_faults_given_at_start() -> None:
    with start_sandbox(faults=["outage", "GET /api/v1/catalog:latency_ms=10"]) as sb:
        assert requests.get(sb.url + "/api/v1/health", timeout=5).status_code == 503
        plan = sb.admin("GET", "/admin/faults")
        assert plan["outage"] is True
        assert plan["rules"][0]["path"] == "/api/v1/catalog"
        assert plan["rules"][0]["method"] == "GET"
        assert plan["rules"][0]["latency_ms"] == 10
        sb.clear_faults()
        assert requests.get(sb.url + "/api/v1/health", timeout=5).status_code == 200
    assert not sb.running
