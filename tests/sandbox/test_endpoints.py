"""Catalogue, identity, licences, benefits, queue and heartbeat on the real process."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.sandbox.conftest import jpeg_bytes, make_id
from tests.sandbox_process import SandboxProcess


def test_catalog_etag_and_304(sb: SandboxProcess) -> None:
    first = sb.signed_request("GET", "/api/v1/catalog")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    doc = first.json()
    assert etag == f'"{doc["version"]}"'
    assert {"code", "name", "category", "materials", "flow"} <= set(doc["items"][0])
    same = sb.signed_request("GET", "/api/v1/catalog", headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["ETag"] == etag
    stale = sb.signed_request("GET", "/api/v1/catalog", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200


def test_catalog_change_changes_the_etag(sb: SandboxProcess) -> None:
    items = sb.signed_request("GET", "/api/v1/catalog").json()["items"]
    old = sb.signed_request("GET", "/api/v1/catalog").headers["ETag"]
    try:
        sb.admin("PUT", "/admin/catalog", items[:1])
        changed = sb.signed_request("GET", "/api/v1/catalog", headers={"If-None-Match": old})
        assert changed.status_code == 200
        assert [i["code"] for i in changed.json()["items"]] == [items[0]["code"]]
        assert changed.headers["ETag"] != old
    finally:
        sb.admin("PUT", "/admin/catalog", items)
    restored = sb.signed_request("GET", "/api/v1/catalog", headers={"If-None-Match": old})
    assert restored.status_code == 304


def _verify(sb: SandboxProcess, code: str) -> dict[str, Any]:
    resp = sb.signed_request("POST", "/api/v1/identity/verify-code", json={"code": code})
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    return result


def test_verify_code_valid_expired_forged(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    valid = sb.issue_code(holder_ref=holder["holder_ref"], ttl_s=60)
    answer = _verify(sb, valid["code"])
    assert answer["result"] == "valid"
    assert answer["holder_ref"] == holder["holder_ref"]
    assert 0 < answer["expires_in"] <= 60
    expired = sb.issue_code(id_number=holder["id_number"], ttl_s=-1)
    assert _verify(sb, expired["code"]) == {
        "result": "expired",
        "holder_ref": None,
        "expires_in": None,
    }
    forged = valid["code"][:-2] + ("AA" if not valid["code"].endswith("AA") else "BB")
    assert _verify(sb, forged)["result"] == "rejected"


def test_user_info_only_after_consent(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    ref = holder["holder_ref"]
    for consent in (None, {"granted": False, "scope": ["name"], "at": "2026-11-28T10:00:00+08:00"}):
        body: dict[str, Any] = {"holder_ref": ref}
        if consent is not None:
            body["consent"] = consent
        resp = sb.signed_request("POST", "/api/v1/identity/user-info", json=body)
        assert resp.status_code == 403
        assert resp.json()["error"] == "consent_required"
    granted = {"granted": True, "scope": ["name", "id_number"], "at": "2026-11-28T10:00:00+08:00"}
    resp = sb.signed_request(
        "POST", "/api/v1/identity/user-info", json={"holder_ref": ref, "consent": granted}
    )
    assert resp.status_code == 200
    info = resp.json()
    assert info["id_number"] == holder["id_number"]
    assert info["name"] == holder["name"]
    assert set(info) == {"name", "id_number", "gender", "birth", "phone", "address"}
    unknown = sb.signed_request(
        "POST", "/api/v1/identity/user-info", json={"holder_ref": "h-nobody", "consent": granted}
    )
    assert unknown.status_code == 404


def _face(sb: SandboxProcess, image: bytes, **who: str) -> Any:
    body = {"image_jpeg_b64": base64.b64encode(image).decode(), **who}
    return sb.signed_request("POST", "/api/v1/identity/face-match", json=body)


def test_face_match_stand_in_and_override(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    image = jpeg_bytes()
    first = _face(sb, image, holder_ref=holder["holder_ref"])
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["match"] is True and result["score"] >= result["threshold"]
    # Deterministic: the same holder and image give the same score, by either key.
    assert _face(sb, image, id_number=holder["id_number"]).json() == result
    sb.set_face_score(holder["holder_ref"], 0.31)
    try:
        forced = _face(sb, image, holder_ref=holder["holder_ref"]).json()
        assert forced == {"score": 0.31, "threshold": result["threshold"], "match": False}
    finally:
        sb.set_face_score(holder["holder_ref"], None)
    assert _face(sb, image, holder_ref=holder["holder_ref"]).json() == result


def test_face_match_rejects_non_jpeg(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    for image in (b"\x89PNG\r\n\x1a\n" + b"0" * 40, jpeg_bytes()[:-30]):
        resp = _face(sb, image, holder_ref=holder["holder_ref"])
        assert resp.status_code == 422
        assert resp.json()["fields"][0]["loc"] == ["body", "image_jpeg_b64"]
    bad_b64 = sb.signed_request(
        "POST",
        "/api/v1/identity/face-match",
        json={"image_jpeg_b64": "***not base64***", "holder_ref": holder["holder_ref"]},
    )
    assert bad_b64.status_code == 422
    both = _face(sb, jpeg_bytes(), holder_ref=holder["holder_ref"], id_number=holder["id_number"])
    assert both.status_code == 422


def test_licences_and_pdf_with_embedded_cjk_font(
    sb: SandboxProcess, holder: dict[str, Any]
) -> None:
    resp = sb.signed_request("GET", f"/api/v1/licences?holder={holder['id_number']}")
    assert resp.status_code == 200
    licences = resp.json()["licences"]
    assert {lic["type"] for lic in licences} >= {"resident_id"}
    assert all(lic["holder_name"] == holder["name"] for lic in licences)
    pdf = sb.signed_request("GET", licences[0]["pdf_path"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
    assert b"/FontFile2" in pdf.content  # an embedded TrueType font program
    assert re.search(rb"/BaseFont /[A-Z]{6}\+WenQuanYiMicroHei", pdf.content)  # subset of it
    missing = sb.signed_request("GET", "/api/v1/licences/LIC-nope/pdf")
    assert missing.status_code == 404


def test_licences_validate_the_id_number(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    wrong = holder["id_number"][:17] + ("0" if holder["id_number"][17] != "0" else "1")
    resp = sb.signed_request("GET", f"/api/v1/licences?holder={wrong}")
    assert resp.status_code == 422
    assert resp.json()["fields"][0]["loc"] == ["query", "holder"]
    unknown_but_valid = make_id("11010120000101001")
    empty = sb.signed_request("GET", f"/api/v1/licences?holder={unknown_but_valid}")
    assert empty.status_code == 200 and empty.json() == {"licences": []}


def test_benefits(sb: SandboxProcess) -> None:
    with_benefits = next(h for h in sb.holders() if h["name"] == "赵建国")
    resp = sb.signed_request("GET", f"/api/v1/benefits?holder={with_benefits['id_number']}")
    assert resp.status_code == 200
    codes = {b["code"] for b in resp.json()["benefits"]}
    assert codes == {"BN-ELDER", "BN-PENSION"}


def test_queue_tickets_count_up(sb: SandboxProcess) -> None:
    def take() -> dict[str, Any]:
        resp = sb.signed_request("POST", "/api/v1/queue-tickets", json={"category": "tax"})
        assert resp.status_code == 200
        result: dict[str, Any] = resp.json()
        return result

    a, b = take(), take()
    assert re.fullmatch(r"C\d{3}", a["ticket"]) and int(b["ticket"][1:]) == int(a["ticket"][1:]) + 1
    assert b["waiting"] == a["waiting"] + 1
    assert a["hall"]


def test_heartbeat_own_kiosk_only(sb: SandboxProcess) -> None:
    beat = {
        "devices": {"idcard": "ready", "printer": "paper_low"},
        "consumables": {"receipt_paper": 0.2},
        "queue_depth": 3,
        "version": "0.1.0",
    }
    before = sb.stats()["heartbeats"]
    resp = sb.signed_request("POST", f"/api/v1/kiosks/{sb.kiosk_id}/heartbeat", json=beat)
    assert resp.status_code == 200
    assert "server_time" in resp.json()
    other = sb.signed_request("POST", "/api/v1/kiosks/kiosk-other/heartbeat", json=beat)
    assert other.status_code == 403
    assert sb.stats()["heartbeats"] == before + 1
