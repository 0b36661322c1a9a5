"""Cases, evaluations and audit batches: Idempotency-Key semantics on the real process."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.sandbox.conftest import case_body
from tests.sandbox_process import SandboxProcess


def _key() -> str:
    return uuid.uuid4().hex


def _post_case(sb: SandboxProcess, key: str, body: dict[str, Any]) -> Any:
    return sb.signed_request("POST", "/api/v1/cases", json=body, headers={"Idempotency-Key": key})


def test_case_201_then_200_same_then_409(sb: SandboxProcess) -> None:
    key, body = _key(), case_body(sb.kiosk_id)
    before = sb.stats()["cases"]
    first = _post_case(sb, key, body)
    assert first.status_code == 201, first.text
    number = first.json()["case_number"]
    assert number.startswith("JN") and first.json()["status"] == "received"
    again = _post_case(sb, key, body)
    assert again.status_code == 200
    assert again.json() == first.json()
    other = _post_case(sb, key, case_body(sb.kiosk_id, child_name="另一个"))
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_conflict"
    assert sb.stats()["cases"] == before + 1
    stored = [c for c in sb.cases() if c["idempotency_key"] == key]
    assert [c["case_number"] for c in stored] == [number]


def test_same_body_other_key_is_another_case(sb: SandboxProcess) -> None:
    body = case_body(sb.kiosk_id)
    a = _post_case(sb, _key(), body).json()["case_number"]
    b = _post_case(sb, _key(), body).json()["case_number"]
    assert a != b


def test_concurrent_retries_create_one_case(sb: SandboxProcess) -> None:
    key, body = _key(), case_body(sb.kiosk_id, child_name="并发")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post_case(sb, key, body), range(16)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 15 + [201]
    assert len({r.json()["case_number"] for r in answers}) == 1
    assert len([c for c in sb.cases() if c["idempotency_key"] == key]) == 1


def test_unknown_item_is_422_with_field(sb: SandboxProcess) -> None:
    resp = _post_case(sb, _key(), case_body(sb.kiosk_id, item_code="NOPE-0000"))
    assert resp.status_code == 422
    body = resp.json()
    assert body["error"] == "validation_error"
    assert body["fields"] == [{"loc": ["body", "item_code"], "msg": "unknown item code"}]


def test_missing_or_short_idempotency_key_is_422(sb: SandboxProcess) -> None:
    resp = sb.signed_request("POST", "/api/v1/cases", json=case_body(sb.kiosk_id))
    assert resp.status_code == 422
    assert ["header", "Idempotency-Key"] in [f["loc"] for f in resp.json()["fields"]]
    short = _post_case(sb, "short", case_body(sb.kiosk_id))
    assert short.status_code == 422


def test_invalid_resident_id_number_is_422(sb: SandboxProcess) -> None:
    body = case_body(sb.kiosk_id)
    body["applicant"]["id_number"] = "370102198503123715"  # wrong check digit
    resp = _post_case(sb, _key(), body)
    assert resp.status_code == 422
    assert ["body", "applicant", "id_number"] in [f["loc"] for f in resp.json()["fields"]]


def test_case_for_another_kiosk_is_422(sb: SandboxProcess) -> None:
    resp = _post_case(sb, _key(), case_body("kiosk-someone-else"))
    assert resp.status_code == 422
    assert resp.json()["fields"][0]["loc"] == ["body", "kiosk_id"]


def test_case_status_and_its_changes(sb: SandboxProcess) -> None:
    number = _post_case(sb, _key(), case_body(sb.kiosk_id)).json()["case_number"]
    status = sb.signed_request("GET", f"/api/v1/cases/{number}")
    assert status.status_code == 200
    assert status.json()["status"] == "received"
    assert status.json()["status_text"] == "已接收"
    assert status.json()["item_code"] == "YJS-0009"
    sb.set_case_status(number, "completed")
    assert sb.signed_request("GET", f"/api/v1/cases/{number}").json()["status"] == "completed"
    missing = sb.signed_request("GET", "/api/v1/cases/JN2000010100000")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def _evaluation(satisfaction: int, order: str, **extra: Any) -> dict[str, Any]:
    return {
        "item_code": "YJS-0009",
        "satisfaction": satisfaction,
        "code_order": order,
        "reasons": ["501"],
        "comment": "",
        "channel": "5",
        "assessed_at": "2026-11-28T10:05:00+08:00",
        **extra,
    }


def test_evaluation_code_orders_are_mapped_explicitly(sb: SandboxProcess) -> None:
    expect = {
        (5, "five_is_best"): "非常满意",
        (1, "five_is_best"): "非常不满意",
        (1, "one_is_best"): "非常满意",
        (5, "one_is_best"): "非常不满意",
        (2, "one_is_best"): "满意",
        (3, "one_is_best"): "基本满意",
    }
    for (sat, order), level in expect.items():
        resp = sb.signed_request(
            "POST",
            "/api/v1/evaluations",
            json=_evaluation(sat, order),
            headers={"Idempotency-Key": _key()},
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["level"] == level, (sat, order)


def test_evaluation_idempotency_and_validation(sb: SandboxProcess) -> None:
    key = _key()
    body = _evaluation(4, "five_is_best")
    first = sb.signed_request(
        "POST", "/api/v1/evaluations", json=body, headers={"Idempotency-Key": key}
    )
    again = sb.signed_request(
        "POST", "/api/v1/evaluations", json=body, headers={"Idempotency-Key": key}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    clash = sb.signed_request(
        "POST",
        "/api/v1/evaluations",
        json=_evaluation(3, "five_is_best"),
        headers={"Idempotency-Key": key},
    )
    assert clash.status_code == 409
    bad = sb.signed_request(
        "POST",
        "/api/v1/evaluations",
        json=_evaluation(6, "five_is_best"),
        headers={"Idempotency-Key": _key()},
    )
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["loc"] == ["body", "satisfaction"]
    unknown_case = sb.signed_request(
        "POST",
        "/api/v1/evaluations",
        json=_evaluation(5, "five_is_best", case_number="JN0"),
        headers={"Idempotency-Key": _key()},
    )
    assert unknown_case.status_code == 422


def test_audit_batch_is_202_once(sb: SandboxProcess) -> None:
    key = _key()
    batch = {
        "events": [
            {"type": "session_did_start", "at": "2026-11-28T10:00:00+08:00"},
            {"type": "session_did_end", "at": "2026-11-28T10:03:00+08:00"},
        ]
    }
    before = sb.stats()["audit_events"]
    for _ in range(2):
        resp = sb.signed_request(
            "POST", "/api/v1/audit-events", json=batch, headers={"Idempotency-Key": key}
        )
        assert resp.status_code == 202
        assert resp.json() == {"accepted": 2}
    assert sb.stats()["audit_events"] == before + 2
    clash = sb.signed_request(
        "POST",
        "/api/v1/audit-events",
        json={"events": batch["events"][:1]},
        headers={"Idempotency-Key": key},
    )
    assert clash.status_code == 409


def _with_material(sb: SandboxProcess, material: dict[str, Any]) -> dict[str, Any]:
    body = case_body(sb.kiosk_id)
    body["materials"] = [material]
    return body


def test_a_captured_page_is_stored_as_the_jpeg_sent(sb: SandboxProcess) -> None:
    import base64
    import json

    from tests.sandbox.conftest import jpeg_bytes

    page = base64.b64encode(jpeg_bytes()).decode()
    body = _with_material(sb, {"code": "M01", "source": "captured", "content_b64": page})
    key = _key()
    resp = _post_case(sb, key, body)
    assert resp.status_code == 201, resp.text
    (stored,) = [c for c in sb.cases() if c["idempotency_key"] == key]
    saved = stored["body"] if isinstance(stored["body"], dict) else json.loads(stored["body"])
    assert saved["materials"][0]["content_b64"] == page


def test_a_captured_material_without_a_jpeg_page_is_422(sb: SandboxProcess) -> None:
    import base64

    loc = ["body", "materials", 0, "content_b64"]
    for material, msg in (
        ({"code": "M01", "source": "captured"}, "needs its page"),
        ({"code": "M01", "source": "captured", "content_b64": "%%%"}, "not valid base64"),
        (
            {
                "code": "M01",
                "source": "captured",
                "content_b64": base64.b64encode(b"GIF89a").decode(),
            },
            "not a JPEG",
        ),
        ({"code": "M01", "source": "waived", "content_b64": "AAAA"}, "only a captured"),
    ):
        resp = _post_case(sb, _key(), _with_material(sb, material))
        assert resp.status_code == 422, resp.text
        (field,) = resp.json()["fields"]
        assert field["loc"] == loc and msg in field["msg"]
