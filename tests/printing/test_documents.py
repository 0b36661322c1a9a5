"""Every document, laid out once, rendered to ESC/POS (58/80 mm) and PDF (A4, receipt).

ESC/POS output is read back by the virtual printer's interpreter; PDFs are read back with
``pdftotext`` (poppler-utils) — Chinese must come out of the embedded font — and their QR
codes are decoded from a rasterised page (pdftoppm + zxing-cpp).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from devices.receipt.interpreter import Interpreter, Job
from printing import documents as d
from printing.document import Document
from printing.escpos import COLUMNS, qr_module_size, render_escpos
from printing.layout import columns, wrap
from printing.pdf import render_pdf

NOW = datetime(2026, 11, 28, 10, 15)


def id_number(body17: str) -> str:
    """A synthetic resident ID number with its GB 11643 (ISO 7064 MOD 11-2) check digit."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


ID = id_number("37010219900307123")


def all_documents() -> dict[str, Document]:
    cert = d.CertificateData(
        title="完税证明",
        holder_name="李华",
        id_number=ID,
        fields=[
            ("税种", "个人所得税"),
            ("所属期", "2026-01至2026-10"),
            ("实缴金额", "12,345.67元"),
        ],
        licence_number="37012026000123",
        issuer="国家税务总局济南市税务局",
        issued_at=NOW,
        verify_url="https://etax.example.gov.cn/verify?code=ABC123",
    )
    return {
        "acceptance_receipt": d.acceptance_receipt(
            case_number="JN2026112800007",
            item_name="城乡居民基本养老保险参保登记",
            accepted_at=NOW,
            kiosk_id="JN-LX-002",
            lookup_base_url="https://zwfw.example.gov.cn/q",
            applicant_name="欧阳晓明",
            promised_days=5,
        ),
        "completion_notice": d.completion_notice(
            case_number="JN2026112800007",
            item_name="城乡居民基本养老保险参保登记",
            completed_at=NOW,
            result="准予登记",
            pickup="电子证照已推送至爱山东APP",
            kiosk_id="JN-LX-002",
            applicant_name="欧阳晓明",
        ),
        "certificate": d.certificate(cert, printed_at=NOW, kiosk_id="JN-LX-002"),
        "queue_ticket": d.queue_ticket(
            ticket_number="A023", service="不动产登记", waiting_ahead=7, issued_at=NOW,
            window_hint="B区 12-15号窗口",
        ),
        "commitment_notify": d.commitment_letter(
            kind="notify_commit", applicant_name="李华", id_number=ID,
            item_name="食品经营许可证核发", signed_at=NOW, case_number="JN2026112800008",
        ),
        "commitment_missing": d.commitment_letter(
            kind="accept_missing", applicant_name="李华", id_number=ID,
            item_name="建设工程规划许可证核发", signed_at=NOW,
            missing_materials=["规划设计方案审查意见", "建设用地规划许可证复印件"],
            deadline_days=10,
        ),
        "test_page": d.test_page(kiosk_id="JN-LX-002", printed_at=NOW, width_mm=80),
    }  # fmt: skip


DOCS = all_documents()


def squash(lines: list[str]) -> str:
    return "".join("".join(lines).split())


def interpret(data: bytes) -> Job:
    jobs: list[Job] = []
    interp = Interpreter(jobs.append)
    interp.feed(data)
    interp.close()
    assert len(jobs) == 1
    return jobs[0]


@pytest.mark.parametrize("width", [58, 80])
@pytest.mark.parametrize("name", sorted(DOCS))
def test_escpos_rendering_reads_back_the_same_text_qr_and_cut(name: str, width: int) -> None:
    doc = DOCS[name]
    job = interpret(render_escpos(doc, width_mm=width))
    lines = [ln for ln in job.text_lines if set(ln) != {"-"}]
    printed = squash(lines).replace("_", "")
    expected = squash(doc.plain_text())
    # Barcode text is printed by the printer (HRI), not as a text line.
    for data in [b["data"] for b in job.barcodes]:
        expected = expected.replace(data, "", 1)
    assert printed == expected
    assert job.qr_payloads == doc.qr_payloads()
    assert job.cuts == [{"mode": "partial"}]
    # Nothing is wider than the paper: wrapping happened here, not in the printer.
    for e in job.elements:
        if e["type"] == "text":
            assert columns(e["text"]) * e["width"] <= COLUMNS[width] + 2


@pytest.mark.parametrize("page", ["a4", "receipt80", "receipt58"])
@pytest.mark.parametrize("name", sorted(DOCS))
def test_pdf_text_extracts_with_chinese(name: str, page: str, tmp_path: Path) -> None:
    doc = DOCS[name]
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(render_pdf(doc, page=page))
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert squash([text]).replace("_", "") == squash(doc.plain_text())


def test_pdf_embeds_the_cjk_truetype_font_and_nothing_else(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(render_pdf(DOCS["certificate"], page="a4"))
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    assert fonts, "no fonts"
    for row in fonts:
        cols = row.split()
        assert "WenQuanYi" in cols[0] and cols[1] == "TrueType"
        assert cols[-5:-2] == ["yes", "yes", "yes"]  # embedded, subset, ToUnicode


@pytest.mark.parametrize("page", ["a4", "receipt58"])
def test_pdf_qr_code_decodes_to_the_payload(page: str, tmp_path: Path) -> None:
    import zxingcpp

    doc = DOCS["acceptance_receipt"]
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(render_pdf(doc, page=page))
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    with Image.open(tmp_path / "page.png") as img:
        found = [r.text for r in zxingcpp.read_barcodes(img.convert("L"))]
    assert doc.qr_payloads()[0] in found


def test_emulator_png_qr_code_decodes_to_the_payload(tmp_path: Path) -> None:
    import zxingcpp

    from devices.receipt.render import render_job

    doc = DOCS["acceptance_receipt"]
    img = render_job(interpret(render_escpos(doc, width_mm=80)))
    found = [r.text for r in zxingcpp.read_barcodes(img)]
    assert found == doc.qr_payloads()


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    return int(next(ln.split()[-1] for ln in info.stdout.splitlines() if ln.startswith("Pages:")))


def test_a4_pdf_breaks_long_documents_into_pages(tmp_path: Path) -> None:
    long = Document("long", "长文", tuple(DOCS["commitment_notify"].blocks) * 12)
    (tmp_path / "a4.pdf").write_bytes(render_pdf(long, page="a4"))
    assert pdf_pages(tmp_path / "a4.pdf") >= 2
    (tmp_path / "roll.pdf").write_bytes(render_pdf(long, page="receipt80"))
    assert pdf_pages(tmp_path / "roll.pdf") == 1  # a roll: one tall page


def test_unknown_page_and_width_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown page"):
        render_pdf(DOCS["queue_ticket"], page="letter")
    with pytest.raises(ValueError, match="58 or 80"):
        render_escpos(DOCS["queue_ticket"], width_mm=76)


def test_masking_and_id_numbers() -> None:
    assert d.mask_name("王五") == "王*"
    assert d.mask_name("欧阳晓明") == "欧**明"
    assert d.mask_id_number(ID) == ID[:4] + "*" * 10 + ID[-4:]
    assert "370102199003071237"[:17] + ID[-1] == ID
    assert "申请人：欧**明" in DOCS["acceptance_receipt"].plain_text()
    assert f"身份证号：{ID}" in DOCS["commitment_notify"].plain_text()  # the letter needs it


def test_commitment_letter_checks_its_input() -> None:
    with pytest.raises(ValueError, match="unknown commitment kind"):
        d.commitment_letter(
            kind="x", applicant_name="李华", id_number=ID, item_name="x", signed_at=NOW
        )
    with pytest.raises(ValueError, match="missing materials"):
        d.commitment_letter(
            kind="accept_missing", applicant_name="李华", id_number=ID, item_name="x", signed_at=NOW
        )


def test_case_lookup_url_escapes_the_case_number() -> None:
    assert d.case_lookup_url("https://q.example/", "JN 1/2") == "https://q.example/cases/JN%201%2F2"


@pytest.mark.parametrize("width", [10, 32, 48])
def test_wrap_never_exceeds_the_width_and_loses_nothing(width: int) -> None:
    text = (
        "高效办成一件事 Efficient-government-services 泉城，济南。"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    )
    lines = wrap(text, width)
    assert all(columns(line) <= width + 2 for line in lines)  # +2: hanging punctuation
    assert squash(lines) == squash([text])


def test_wrap_with_a_measure_function() -> None:
    measure: Callable[[str], float] = lambda s: float(len(s))  # noqa: E731
    assert wrap("abc def ghi", 7, measure) == ["abc def", "ghi"]


def test_qr_module_size_fits_the_paper() -> None:
    assert 2 <= qr_module_size("x" * 200, 28, 58) <= 8
    assert qr_module_size("short", 28, 80) >= qr_module_size("x" * 200, 28, 80)
