"""The receipt driver against the virtual printer over real transports (TCP, pty, usblp path).

Round trip: a document rendered by printing.escpos and sent by the driver comes back from
the virtual printer with the same text, QR payloads and cut. Every status fault reaches
DeviceStatus and refuses (or fails) the job with its own error and exit code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from config.exit_codes import ExitCode
from devices.base import DeviceState, StatusChanged
from devices.errors import DeviceError
from devices.receipt.driver import EscPosPrinter
from devices.receipt.emulator import VirtualPrinter
from devices.receipt.errors import (
    CoverOpenError,
    CutterError,
    PaperOutError,
    PrinterOfflineError,
)
from printing import documents
from printing.document import Document
from printing.escpos import render_escpos

MakePrinter = Callable[..., EscPosPrinter]
NOW = datetime(2026, 11, 28, 9, 30)


def receipt() -> Document:
    return documents.acceptance_receipt(
        case_number="JN2026112800001",
        item_name="个体工商户设立登记",
        accepted_at=NOW,
        kiosk_id="JN-LX-001",
        lookup_base_url="https://zwfw.example.gov.cn/q",
        applicant_name="王小明",
        promised_days=3,
    )


def squash(lines: list[str]) -> str:
    return "".join("".join(lines).split())


def printed_text(lines: list[str]) -> str:
    """The printed characters without rule lines and wrapping."""
    return squash([line for line in lines if set(line) != {"-"}])


def assert_round_trip(doc: Document, printed: dict[str, object]) -> None:
    assert printed_text(printed["text_lines"]) == squash(doc.plain_text())  # type: ignore[arg-type]
    assert printed["qr_payloads"] == doc.qr_payloads()
    assert printed["cuts"] == [{"mode": "partial"}]


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_round_trip_document_through_the_virtual_printer(
    transport: str,
    vprinter: VirtualPrinter,
    make_printer: MakePrinter,
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("tcp_url" if transport == "tcp" else "pty_path")
    printer = make_printer(url, paper_width_mm=58)
    doc = receipt()
    result = printer.print_document(doc, timeout=10).wait(15)
    assert result["printed"] is True
    assert result["status"]["fault"] is None
    (job,) = vprinter.wait_jobs(1, 5)
    assert_round_trip(doc, job.as_dict())
    assert "申请人：王*明" in job.text_lines  # masked on a slip
    assert printer.status.state == DeviceState.ONLINE
    assert printer.status.detail["paper"] == "ok"
    # The job files: JSON (written last) and PNG.
    out = vprinter.out_dir
    assert out is not None
    doc_json = json.loads((out / "job-0001.json").read_text("utf-8"))
    assert doc_json["qr_payloads"] == ["https://zwfw.example.gov.cn/q/cases/JN2026112800001"]
    assert (out / "job-0001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_usb_lp_path_transport(vprinter: VirtualPrinter, make_printer: MakePrinter) -> None:
    # usblp is a plain character device; a pty slave opened the same way stands in for it.
    path = vprinter.open_pty()
    printer = make_printer(f"usb://{path}")
    doc = documents.queue_ticket(
        ticket_number="A023", service="不动产登记", waiting_ahead=4, issued_at=NOW
    )
    printer.print_document(doc, timeout=10).wait(15)
    (job,) = vprinter.wait_jobs(1, 5)
    assert "A023" in job.text_lines


def test_several_jobs_on_one_connection_are_separate_files(
    vprinter: VirtualPrinter, tcp_url: str, make_printer: MakePrinter
) -> None:
    printer = make_printer(tcp_url)
    for n in range(3):
        doc = documents.queue_ticket(
            ticket_number=f"B{n:03d}", service="社保", waiting_ahead=n, issued_at=NOW
        )
        printer.print_document(doc, timeout=10).wait(15)
    jobs = vprinter.wait_jobs(3, 5)
    assert [j.text_lines[2] for j in jobs] == ["B000", "B001", "B002"]
    out = vprinter.out_dir
    assert out is not None
    assert sorted(p.name for p in out.iterdir()) == [
        f"job-000{n}.{ext}" for n in (1, 2, 3) for ext in ("json", "png")
    ]


@pytest.mark.parametrize(
    ("fault", "error", "state", "exit_code"),
    [
        ("paper_out", PaperOutError, DeviceState.USER_ERROR, ExitCode.PAPER_OUT),
        ("cover_open", CoverOpenError, DeviceState.USER_ERROR, ExitCode.COVER_OPEN),
        ("offline", PrinterOfflineError, DeviceState.OFFLINE, ExitCode.PRINTER_OFFLINE),
        ("cutter_error", CutterError, DeviceState.HARDWARE_ERROR, ExitCode.DEVICE_HARDWARE_ERROR),
        ("unresponsive", PrinterOfflineError, DeviceState.OFFLINE, ExitCode.PRINTER_OFFLINE),
    ],
)
def test_a_fault_before_the_job_refuses_it_without_sending(
    fault: str,
    error: type[DeviceError],
    state: DeviceState,
    exit_code: ExitCode,
    vprinter: VirtualPrinter,
    tcp_url: str,
    make_printer: MakePrinter,
) -> None:
    vprinter.set_fault(fault)
    printer = make_printer(tcp_url, status_timeout=0.3)
    with pytest.raises(error) as info:
        printer.print_document(receipt(), timeout=5).wait(10)
    assert info.value.exit_code == exit_code
    assert printer.status.state == state
    if fault != "unresponsive":
        assert printer.status.error is not None and printer.status.error.code == info.value.code
    vprinter.close()
    assert vprinter.jobs == []  # nothing was sent


def test_paper_near_end_prints_but_shows_user_error_for_staff(
    vprinter: VirtualPrinter, tcp_url: str, make_printer: MakePrinter
) -> None:
    vprinter.set_fault("paper_near_end")
    printer = make_printer(tcp_url)
    result = printer.print_document(receipt(), timeout=10).wait(15)
    assert result["printed"] is True
    assert printer.status.state == DeviceState.USER_ERROR
    assert printer.status.detail["paper"] == "near_end"
    assert printer.status.error is None
    assert vprinter.wait_jobs(1, 5)[0].as_dict()["printed"] is True


def test_paper_running_out_during_the_job_fails_it(
    vprinter: VirtualPrinter, tcp_url: str, make_printer: MakePrinter
) -> None:
    # The paper runs out as the job reaches the cut: the job must not count as printed.
    printer = make_printer(tcp_url)
    vprinter._on_job = lambda number, job: vprinter.set_fault("paper_out")
    with pytest.raises(PaperOutError, match="after the job"):
        printer.print_document(receipt(), timeout=3).wait(10)
    assert printer.status.state == DeviceState.USER_ERROR
    assert printer.status.detail["paper"] == "out"


def test_idle_polling_reports_faults_and_recovery(
    vprinter: VirtualPrinter, tcp_url: str, make_printer: MakePrinter
) -> None:
    seen: list[tuple[DeviceState, str]] = []
    changed = threading.Condition()
    printer = make_printer(tcp_url, poll_interval=0.05)

    def on_event(event: object) -> None:
        if isinstance(event, StatusChanged):
            with changed:
                seen.append((event.status.state, event.status.detail.get("cover", "")))
                changed.notify_all()

    printer._on_event = on_event
    printer.start()

    def wait_for(state: DeviceState, cover: str) -> None:
        with changed:
            assert changed.wait_for(lambda: (state, cover) in seen, 5), seen

    wait_for(DeviceState.ONLINE, "closed")
    vprinter.set_fault("cover_open")
    wait_for(DeviceState.USER_ERROR, "open")
    vprinter.clear_faults()
    with changed:
        seen.clear()
    wait_for(DeviceState.ONLINE, "closed")


def test_check_status_command_and_identity(
    vprinter: VirtualPrinter, tcp_url: str, make_printer: MakePrinter
) -> None:
    printer = make_printer(tcp_url)
    status = printer.check_status(timeout=5).wait(10)
    assert status["fault"] is None and status["detail"]["paper"] == "ok"
    assert printer.identity is not None and printer.identity.model == "QB-VP80"
    selftest = printer.self_test(timeout=5).wait(10)
    assert selftest["status"]["fault"] is None


def test_wire_log_keeps_status_bytes_but_never_job_content(
    vprinter: VirtualPrinter, tcp_url: str, make_printer: MakePrinter
) -> None:
    printer = make_printer(tcp_url)
    printer.print_document(receipt(), timeout=10).wait(15)
    frames = printer.wire.snapshot()
    assert "tx 10 04 01 10 04 02 10 04 03 10 04 04" not in frames  # 12 bytes: length only
    assert any(f.startswith("rx 12 12 12 12") for f in frames)
    job_bytes = render_escpos(receipt(), width_mm=80)
    assert f"tx <{len(job_bytes)} bytes>" in frames  # one chunk: the whole job, length only
    assert job_bytes.hex(" ")[:40] not in " ".join(frames)


def test_missing_printer_is_no_device(make_printer: MakePrinter, tmp_path: Path) -> None:
    printer = make_printer(str(tmp_path / "no-such-tty"))
    with pytest.raises(DeviceError) as info:
        printer.check_status(timeout=2).wait(5)
    assert info.value.exit_code == ExitCode.DEVICE_NOT_FOUND
    assert printer.status.state == DeviceState.NO_DEVICE


def test_in_process_sim_url(make_printer: MakePrinter, tmp_path: Path) -> None:
    out = tmp_path / "sim-jobs"
    printer = make_printer(f"sim://receipt?out={out}&fault=paper_near_end&width=384")
    result = printer.print_document(receipt(), timeout=10).wait(15)
    assert result["status"]["detail"]["paper"] == "near_end"
    printer.stop()  # closing the port ends the connection; the cut already ended the job
    job = json.loads((out / "job-0001.json").read_text("utf-8"))
    assert job["source"] == "sim" and job["printed"] is True
    assert job["qr_payloads"] == receipt().qr_payloads()
    from PIL import Image

    with Image.open(out / "job-0001.png") as img:
        assert img.width == 384
