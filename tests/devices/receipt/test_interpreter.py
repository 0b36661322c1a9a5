"""The virtual printer's ESC/POS interpreter: real streams, decoding rules, status, fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.receipt import protocol as p
from devices.receipt.interpreter import Faults, Interpreter, Job
from tests.devices.receipt.conftest import VECTORS


def run(data: bytes, faults: Faults | None = None, chunks: list[int] | None = None) -> list[Job]:
    jobs: list[Job] = []
    interp = Interpreter(jobs.append, faults)
    if chunks is None:
        interp.feed(data)
    else:
        pos = 0
        for size in chunks:
            interp.feed(data[pos : pos + size])
            pos += size
        interp.feed(data[pos:])
    interp.close()
    return jobs


def stream(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def test_real_stream_receipt_with_qrcode() -> None:
    (job,) = run(stream("receipt-with-qrcode.bin"))
    assert job.qr_payloads == ["You can readme from your smartphone"]
    assert "L'assiette fiscale" in job.text_lines
    # ESC t 0 selected CP437 explicitly: 0x82 is "é", not the lead byte of a rare hanzi.
    assert "Québec, G1G 1G1" in job.text_lines
    images = [e for e in job.elements if e["type"] == "image"]
    assert images and all(e["command"] == "ESC *" and e["height"] == 24 for e in images)


def test_real_stream_receipt_with_logo() -> None:
    jobs = run(stream("receipt-with-logo.bin"))
    assert len(jobs) == 1
    job = jobs[0]
    text = "\n".join(job.text_lines)
    for expected in ("ExampleMart Ltd.", "SALES INVOICE", "Thank you for shopping at ExampleMart"):
        assert expected in text
    (logo,) = [e for e in job.elements if e["type"] == "image"]
    assert (logo["command"], logo["width"], logo["height"]) == ("GS ( L", 300, 236)
    assert any(logo["bits"])  # the logo has black dots
    assert job.cuts == [{"mode": "full"}]  # GS V 65 3
    bold_line = next(e for e in job.elements if e.get("text") == "SALES INVOICE")
    assert bold_line["bold"] is True
    big = next(e for e in job.elements if e.get("text") == "ExampleMart Ltd.")
    assert (big["width"], big["height"]) == (2, 1)  # ESC ! 0x20: double width


def test_real_stream_barcodes() -> None:
    (job,) = run(stream("barcodes.bin"))
    data = {b["symbology"]: b["data"] for b in job.barcodes}
    assert data["EAN8"] == "0123456"
    assert data["EAN13"] == "012345678901"
    assert data["UPC-A"] == "036000291452"
    assert data["CODE39"] == "ABCZ012"
    assert len(job.barcodes) == 9
    assert job.text_lines[0] == "Code128:"


@pytest.mark.parametrize(
    "name", ["barcodes.bin", "receipt-with-logo.bin", "receipt-with-qrcode.bin"]
)
@given(cuts=st.lists(st.integers(min_value=1, max_value=700), max_size=12))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_chunking_of_a_real_stream_decodes_the_same(name: str, cuts: list[int]) -> None:
    data = stream(name)
    whole = [j.as_dict() for j in run(data)]
    chunked = [j.as_dict() for j in run(data, chunks=cuts)]
    assert chunked == whole


def test_bare_gb18030_as_python_escpos_sends_it() -> None:
    # python-escpos MagicEncode: the whole string raw GB18030, no FS &, no code page.
    (job,) = run(p.INIT + "受理编号：JN2026 泉城".encode("gb18030") + b"\n" + p.cut())
    assert job.text_lines == ["受理编号：JN2026 泉城"]


def test_kanji_mode_off_uses_the_code_page_and_on_uses_gb18030() -> None:
    data = (
        p.KANJI_OFF + p.codepage(16) + b"caf\xe9\n"  # CP1252
        + p.KANJI_ON + "济南".encode("gb18030") + b"\n"
        + p.KANJI_OFF + p.codepage(0) + b"\x82t\xe9\n"  # CP437: é t Θ
    )  # fmt: skip
    (job,) = run(data)
    assert job.text_lines == ["café", "济南", "étΘ"]


def test_after_esc_t_gb2312_double_bytes_still_read_as_chinese() -> None:
    data = p.codepage(0) + "办结通知".encode("gb18030") + b"\n"
    (job,) = run(data)
    assert job.text_lines == ["办结通知"]


def test_styles_alignment_and_sizes_are_recorded() -> None:
    data = (
        p.align(p.Align.CENTER) + p.bold(True) + p.char_size(2, 2) + p.textln("TITLE")
        + p.char_size(1, 1) + p.bold(False) + p.align(p.Align.RIGHT) + p.underline(True)
        + p.textln("right")
    )  # fmt: skip
    (job,) = run(data)
    title, right = job.elements
    assert (title["align"], title["bold"], title["width"], title["height"]) == (
        "center",
        True,
        2,
        2,
    )
    assert (right["align"], right["bold"], right["underline"]) == ("right", False, True)


def test_raster_image_gs_v_0_is_decoded() -> None:
    rows = bytes([0b10000001, 0b1000_0000]) * 3  # 9 dots wide, 3 rows
    (job,) = run(p.raster(9, 3, rows) + p.cut())
    (img,) = [e for e in job.elements if e["type"] == "image"]
    assert (img["width"], img["height"], img["bits"]) == (16, 3, rows)


def test_a_job_ends_at_each_cut_and_at_close() -> None:
    data = p.textln("one") + p.cut() + p.textln("two") + p.cut(partial=False) + p.textln("three")
    jobs = run(data)
    assert [j.text_lines for j in jobs] == [["one"], ["two"], ["three"]]
    assert [j.cuts for j in jobs] == [[{"mode": "partial"}], [{"mode": "full"}], []]


def test_status_only_sessions_make_no_job() -> None:
    assert run(p.INIT + p.STATUS_REQUEST + p.PAPER_SENSOR_REQUEST) == []


@pytest.mark.parametrize(
    "fault", ["paper_near_end", "paper_out", "cover_open", "offline", "cutter_error"]
)
def test_dle_eot_answers_follow_the_fault_switches(fault: str) -> None:
    faults = Faults()
    faults.set(fault)
    interp = Interpreter(lambda job: None, faults)
    reply = interp.feed(p.STATUS_REQUEST)
    status = p.parse_status_reply(reply)
    expected = None if fault == "paper_near_end" else fault
    assert status.fault == expected
    assert status.paper_near_end == (fault in ("paper_near_end", "paper_out"))
    # GS r is not real time: a printer stopped by a fault never answers it.
    gs_r = interp.feed(p.PAPER_SENSOR_REQUEST)
    assert gs_r == (b"\x03" if fault == "paper_near_end" else b"")


def test_unresponsive_printer_answers_nothing_and_healthy_one_all_clear() -> None:
    faults = Faults(unresponsive=True)
    assert Interpreter(lambda job: None, faults).feed(p.STATUS_REQUEST) == b""
    healthy = Interpreter(lambda job: None)
    assert healthy.feed(p.STATUS_REQUEST) == b"\x12\x12\x12\x12"
    assert healthy.feed(p.PAPER_SENSOR_REQUEST) == b"\x00"
    assert healthy.feed(b"\x1dI\x43") == b"_QB-VP80\x00"


def test_jobs_received_during_a_fault_are_marked_not_printed() -> None:
    (job,) = run(p.textln("x") + p.cut(), Faults(paper_out=True))
    assert job.as_dict()["printed"] is False
    assert job.faults == ["paper_out"]


def test_bogus_huge_lengths_do_not_stall_the_stream() -> None:
    bogus = b"\x1dv0\x00\xff\xff\xff\xff"  # GS v 0 claiming 4 GB of raster
    (job,) = run(bogus + p.textln("after") + p.cut())
    assert "after" in job.text_lines[-1]


@given(st.binary(max_size=2048))
@settings(max_examples=300, deadline=None)
def test_fuzz_random_bytes_never_crash(data: bytes) -> None:
    jobs: list[Job] = []
    interp = Interpreter(jobs.append)
    reply = interp.feed(data)
    interp.close()
    assert isinstance(reply, bytes)
    assert interp.pending == 0
    for job in jobs:
        job.as_dict()


@given(
    st.lists(
        st.sampled_from(
            [
                b"\x1b",
                b"\x1d",
                b"\x1c",
                b"\x10",
                b"\x04",
                b"(",
                b"k",
                b"L",
                b"v0",
                b"\x00",
                b"\xff",
                b"\x01",
                b"\n",
                b"V",
                b"A",
                "汉".encode("gb18030"),
            ]
        ),
        max_size=200,
    )
)
@settings(max_examples=300, deadline=None)
def test_fuzz_command_shaped_garbage_never_crashes(parts: list[bytes]) -> None:
    jobs: list[Job] = []
    interp = Interpreter(jobs.append, Faults(paper_near_end=True))
    interp.feed(b"".join(parts))
    interp.close()
    for job in jobs:
        job.as_dict()


def test_png_rendering_of_a_real_stream(tmp_path: Path) -> None:
    from PIL import Image

    from devices.receipt.render import write_png

    (job,) = run(stream("receipt-with-logo.bin"))
    out = tmp_path / "job.png"
    write_png(job, out, 576)
    with Image.open(out) as img:
        assert img.width == 576 and img.height > 236
        # The logo's black dots made it onto the paper.
        assert img.convert("L").getextrema()[0] == 0
