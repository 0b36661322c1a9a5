"""Certificates for printing (证明打印, 完税证明) and 发票查验 on the real process."""

from __future__ import annotations

import subprocess
import tempfile
from typing import Any

from tests.sandbox_process import SandboxProcess


def pdf_text(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        return subprocess.run(
            ["pdftotext", fh.name, "-"], capture_output=True, check=True, text=True
        ).stdout


def test_social_insurance_certificate(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    body = {
        "item_code": "ZZ-0001",
        "id_number": holder["id_number"],
        "params": {"from_year": "2020", "to_year": "2022", "purpose": "落户"},
    }
    resp = sb.signed_request("POST", "/api/v1/certificates", json=body)
    assert resp.status_code == 201, resp.text
    issued = resp.json()
    assert issued["title"] == "社会保险参保缴费证明" and issued["pages"] == 1
    pdf = sb.signed_request("GET", f"/api/v1/documents/{issued['document_ref']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "社会保险参保缴费证明" in text
    assert holder["name"] in text
    assert "36个月" in text  # 2020-2022
    assert holder["id_number"] not in text  # the number is masked on the certificate
    assert holder["id_number"][-4:] in text


def test_tax_record_by_holder_ref_is_deterministic(
    sb: SandboxProcess, holder: dict[str, Any]
) -> None:
    body = {
        "item_code": "SW-0001",
        "holder_ref": holder["holder_ref"],
        "params": {"from_year": "2024", "to_year": "2024"},
    }
    texts = []
    for _ in range(2):
        issued = sb.signed_request("POST", "/api/v1/certificates", json=body).json()
        pdf = sb.signed_request("GET", f"/api/v1/documents/{issued['document_ref']}/pdf")
        texts.append(pdf_text(pdf.content))
    amounts = [line for t in texts for line in t.splitlines() if line.endswith("元")]
    assert amounts and len(set(amounts)) == 1


def test_certificate_errors(sb: SandboxProcess, holder: dict[str, Any]) -> None:
    def post(body: dict[str, Any]) -> Any:
        return sb.signed_request("POST", "/api/v1/certificates", json=body)

    base = {"item_code": "ZZ-0001", "id_number": holder["id_number"]}
    assert post({**base, "item_code": "YJS-0009"}).status_code == 422
    assert post({"item_code": "ZZ-0001"}).status_code == 422  # no holder given
    both = post({**base, "holder_ref": holder["holder_ref"]})
    assert both.status_code == 422
    bad_years = post({**base, "params": {"from_year": "2030", "to_year": "2020"}})
    assert bad_years.status_code == 422
    assert bad_years.json()["fields"][0]["loc"] == ["body", "params"]
    stranger = post({**base, "id_number": "11010119900307001X"})
    assert stranger.status_code == 404 and stranger.json()["error"] == "unknown_holder"
    missing = sb.signed_request("GET", "/api/v1/documents/doc-nope/pdf")
    assert missing.status_code == 404


def test_invoice_check(sb: SandboxProcess) -> None:
    def check(**body: str) -> dict[str, Any]:
        resp = sb.signed_request("POST", "/api/v1/invoices/check", json=body)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    ok = check(invoice_code="037002100111", invoice_date="2026-01-15", amount="100.00")
    assert ok == {"result": "consistent", "result_text": "查验一致"}
    assert check(invoice_code="037002100111", amount="99.00")["result"] == "inconsistent"
    assert check(invoice_code="037002100111", invoice_date="2026-01-16")["result"] == (
        "inconsistent"
    )
    assert check(invoice_code="999999999999")["result"] == "not_found"
    empty = sb.signed_request("POST", "/api/v1/invoices/check", json={"invoice_code": ""})
    assert empty.status_code == 422
