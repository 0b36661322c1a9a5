"""Kiosk request signing against the real sandbox process on loopback."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from tests.sandbox_process import SandboxProcess, sign_headers


def _reason(resp: requests.Response) -> str:
    assert resp.status_code == 401, resp.text
    body = resp.json()
    assert body["error"] == "unauthorized"
    return str(body["reason"])


def test_health_needs_no_signature(sb: SandboxProcess) -> None:
    resp = requests.get(sb.url + "/api/v1/health", timeout=5)
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"


def test_good_signature_is_accepted(sb: SandboxProcess) -> None:
    resp = sb.signed_request("GET", "/api/v1/catalog")
    assert resp.status_code == 200
    assert resp.json()["items"]


def test_signature_covers_the_query(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    path = f"/api/v1/licences?holder={holder['id_number']}"
    assert sb.signed_request("GET", path).status_code == 200
    # Signed for one holder, sent for another: the query is part of the canonical string.
    headers = sign_headers(sb.kiosk_id, sb.secret, "GET", path)
    other = sb.holders()[1]["id_number"]
    resp = requests.get(sb.url + f"/api/v1/licences?holder={other}", headers=headers, timeout=5)
    assert _reason(resp) == "bad_signature"


def test_query_order_and_encoding_do_not_matter(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    # Signed over sorted, re-encoded pairs; sent in another order with '+' for a space.
    headers = sign_headers(
        sb.kiosk_id, sb.secret, "GET", f"/api/v1/benefits?holder={holder['id_number']}&x=a%20b"
    )
    resp = requests.get(
        sb.url + f"/api/v1/benefits?x=a+b&holder={holder['id_number']}", headers=headers, timeout=5
    )
    assert resp.status_code == 200, resp.text


def test_bad_signature(sb: SandboxProcess) -> None:
    resp = sb.signed_request("GET", "/api/v1/catalog", secret="not-the-secret")
    assert _reason(resp) == "bad_signature"


def test_tampered_body_is_rejected(sb: SandboxProcess) -> None:
    body = json.dumps({"code": "abc"}).encode()
    headers = sign_headers(sb.kiosk_id, sb.secret, "POST", "/api/v1/identity/verify-code", body)
    resp = requests.post(
        sb.url + "/api/v1/identity/verify-code",
        data=json.dumps({"code": "abd"}).encode(),
        headers={**headers, "Content-Type": "application/json"},
        timeout=5,
    )
    assert _reason(resp) == "bad_signature"


def test_stale_and_future_timestamps(sb: SandboxProcess) -> None:
    now = int(time.time())
    for ts in (now - 301 - 5, now + 301 + 5, 0):
        resp = sb.signed_request("GET", "/api/v1/catalog", timestamp=ts)
        assert _reason(resp) == "stale_timestamp"
    # Inside the window (with margin for the test's own clock reads) is fine.
    assert sb.signed_request("GET", "/api/v1/catalog", timestamp=now - 250).status_code == 200
    assert sb.signed_request("GET", "/api/v1/catalog", timestamp=now + 250).status_code == 200


def test_replayed_nonce(sb: SandboxProcess) -> None:
    nonce = "replay-me-0123456789"
    assert sb.signed_request("GET", "/api/v1/catalog", nonce=nonce).status_code == 200
    assert _reason(sb.signed_request("GET", "/api/v1/catalog", nonce=nonce)) == "replayed_nonce"
    # The exact same bytes again (a captured request) are rejected as well.
    headers = sign_headers(sb.kiosk_id, sb.secret, "GET", "/api/v1/catalog", nonce="captured-" * 3)
    assert requests.get(sb.url + "/api/v1/catalog", headers=headers, timeout=5).ok
    again = requests.get(sb.url + "/api/v1/catalog", headers=headers, timeout=5)
    assert _reason(again) == "replayed_nonce"


def test_forged_request_does_not_burn_the_nonce(sb: SandboxProcess) -> None:
    nonce = "forged-first-0123456789"
    resp = sb.signed_request("GET", "/api/v1/catalog", nonce=nonce, secret="wrong")
    assert _reason(resp) == "bad_signature"
    assert sb.signed_request("GET", "/api/v1/catalog", nonce=nonce).status_code == 200


def test_unknown_kiosk(sb: SandboxProcess) -> None:
    resp = sb.signed_request("GET", "/api/v1/catalog", kiosk_id="kiosk-nobody")
    assert _reason(resp) == "unknown_kiosk"


def test_second_enrolled_kiosk_signs_with_its_own_secret(sb: SandboxProcess) -> None:
    secret = sb.enrol("kiosk-second")
    ok = sb.signed_request("GET", "/api/v1/catalog", kiosk_id="kiosk-second", secret=secret)
    assert ok.status_code == 200
    mixed = sb.signed_request("GET", "/api/v1/catalog", kiosk_id="kiosk-second")
    assert _reason(mixed) == "bad_signature"


def test_a_kiosk_re_keyed_by_another_process_signs_with_the_new_secret_at_once(
    sb: SandboxProcess,
) -> None:
    """The server caches secrets; a signature that fails against the cached one is checked
    against the database before it is refused (``kiosk sandbox enrol`` runs as its own process)."""
    old = sb.enrol("kiosk-rekeyed")
    ok = sb.signed_request("GET", "/api/v1/catalog", kiosk_id="kiosk-rekeyed", secret=old)
    assert ok.status_code == 200  # the old secret is now cached by the server
    new = sb.enrol("kiosk-rekeyed")
    assert new != old
    now = sb.signed_request("GET", "/api/v1/catalog", kiosk_id="kiosk-rekeyed", secret=new)
    assert now.status_code == 200, now.text
    wrong = sb.signed_request("GET", "/api/v1/catalog", kiosk_id="kiosk-rekeyed", secret="x" * 43)
    assert _reason(wrong) == "bad_signature"


def test_missing_or_malformed_headers(sb: SandboxProcess) -> None:
    good = sign_headers(sb.kiosk_id, sb.secret, "GET", "/api/v1/catalog")
    for drop in good:
        partial = {k: v for k, v in good.items() if k != drop}
        resp = requests.get(sb.url + "/api/v1/catalog", headers=partial, timeout=5)
        assert _reason(resp) == "missing_headers", drop
    for key, bad in (("X-Nonce", "short"), ("X-Nonce", "bad nonce!" * 3), ("X-Timestamp", "soon")):
        resp = requests.get(sb.url + "/api/v1/catalog", headers={**good, key: bad}, timeout=5)
        assert _reason(resp) == "missing_headers", (key, bad)


def test_rejections_are_counted_by_reason(sb: SandboxProcess) -> None:
    before = sb.stats()["auth_rejections"].get("unknown_kiosk", 0)
    sb.signed_request("GET", "/api/v1/catalog", kiosk_id="kiosk-nobody-2")
    assert sb.stats()["auth_rejections"]["unknown_kiosk"] == before + 1
