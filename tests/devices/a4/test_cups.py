"""A4 through a real CUPS: the job followed to completion, the PDF read back, the faults."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from config.exit_codes import ExitCode
from devices.a4.driver import CupsPrinter, fault_from_reasons, parse_cups_url
from devices.base import Backoff, DeviceState
from devices.errors import DeviceError
from devices.receipt.errors import PaperOutError, PrinterOfflineError, PrintJobFailedError
from kiosk.cli.main import main
from printing import documents as d
from printing.document import Document
from tests.devices.a4.conftest import CupsServer

NOW = datetime(2026, 11, 28, 14, 5)


def printer(server: CupsServer, queue: str) -> CupsPrinter:
    return CupsPrinter(
        "a4", server.url(queue), options={"poll_interval": 0}, backoff=Backoff(0.05, 0.2)
    )


def notice() -> Document:
    return d.completion_notice(
        case_number="JN2026112800011",
        item_name="食品经营许可证核发",
        completed_at=NOW,
        result="准予许可",
        pickup="窗口领取",
        kiosk_id="JN-LX-003",
        applicant_name="赵云",
    )


def wait_for_file(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), f"cups-pdf wrote no {path.name}"


def test_a4_round_trip_through_cups_pdf(cups_server: CupsServer) -> None:
    p = printer(cups_server, "kiosk_pdf")
    try:
        result = p.print_document(notice(), timeout=60).wait(70)
    finally:
        p.stop()
    assert result["printed"] is True and result["state"] == "completed"
    assert p.status.state == DeviceState.ONLINE
    out = cups_server.out_dir / "completion_notice.pdf"
    wait_for_file(out)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True, check=True, text=True
    ).stdout
    flat = "".join(text.split())
    # The Chinese came through spooler, filters and cups-pdf out of the embedded TTF.
    for phrase in (
        "办结通知",
        "食品经营许可证核发",
        "准予许可",
        "窗口领取",
        "赵*",
        "济南市政务服务中心",
    ):
        assert phrase in flat, phrase


def test_status_of_a_healthy_queue(cups_server: CupsServer) -> None:
    p = printer(cups_server, "kiosk_pdf")
    try:
        status = p.check_status(timeout=10).wait(15)
        assert status == {"fault": None, "detail": status["detail"], "queue": "kiosk_pdf"}
        assert status["detail"] == {"paper": "ok", "cover": "closed", "printer": "online"}
        assert p.identity is not None and p.identity.extra["queue"] == "kiosk_pdf"
    finally:
        p.stop()


def test_a_stopped_queue_refuses_the_job_as_offline(cups_server: CupsServer) -> None:
    cups_server.admin("cupsdisable", "kiosk_pdf")
    p = printer(cups_server, "kiosk_pdf")
    try:
        with pytest.raises(PrinterOfflineError) as info:
            p.print_document(notice(), timeout=20).wait(30)
        assert info.value.exit_code == ExitCode.PRINTER_OFFLINE
        assert p.status.state == DeviceState.OFFLINE
    finally:
        p.stop()
        cups_server.admin("cupsenable", "kiosk_pdf")


def test_paper_out_reported_by_the_backend_fails_the_job(cups_server: CupsServer) -> None:
    cups_server.admin("cupsenable", "kiosk_paper")
    p = printer(cups_server, "kiosk_paper")
    try:
        with pytest.raises(PaperOutError) as info:
            p.print_document(notice(), timeout=30).wait(40)
        assert info.value.exit_code == ExitCode.PAPER_OUT
        assert p.status.state == DeviceState.USER_ERROR
        assert p.status.detail["paper"] == "out"
    finally:
        p.stop()


def test_an_aborted_job_is_a_failure(cups_server: CupsServer) -> None:
    p = printer(cups_server, "kiosk_abort")
    try:
        with pytest.raises(PrintJobFailedError, match="aborted"):
            p.print_document(notice(), timeout=30).wait(40)
    finally:
        p.stop()


def test_unknown_queue_is_not_found(cups_server: CupsServer) -> None:
    p = printer(cups_server, "no_such_queue")
    try:
        with pytest.raises(DeviceError) as info:
            p.check_status(timeout=5).wait(10)
        assert info.value.exit_code == ExitCode.DEVICE_NOT_FOUND
    finally:
        p.stop()


def test_cli_print_test_on_a4(cups_server: CupsServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["devices", "print-test", "--url", cups_server.url("kiosk_pdf"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["printed"] is True and doc["state"] == "completed"
    cups_server.admin("cupsdisable", "kiosk_pdf")
    try:
        code = main(["devices", "printer-status", "--url", cups_server.url("kiosk_pdf"), "--json"])
        assert code == ExitCode.PRINTER_OFFLINE
        assert json.loads(capsys.readouterr().out)["printer"]["fault"] == "offline"
    finally:
        cups_server.admin("cupsenable", "kiosk_pdf")


@pytest.mark.parametrize(
    ("state", "reasons", "fault", "paper"),
    [
        (3, ["none"], None, "ok"),
        (3, ["media-low-report"], None, "near_end"),
        (5, ["media-empty-error"], "paper_out", "out"),
        (4, ["media-needed"], "paper_out", "out"),
        (3, ["cover-open-error"], "cover_open", "ok"),
        (5, ["paused"], "offline", "ok"),
        (3, ["offline-report"], "offline", "ok"),
    ],
)
def test_printer_state_reasons_map_to_faults(
    state: int, reasons: list[str], fault: str | None, paper: str
) -> None:
    got, detail = fault_from_reasons(state, reasons)
    assert got == fault and detail["paper"] == paper


def test_cups_urls() -> None:
    assert parse_cups_url("cups:///Office_A4") == (None, None, "Office_A4")
    assert parse_cups_url("cups://127.0.0.1:6310/q") == ("127.0.0.1", 6310, "q")
    for bad in ("ipp://x/printers/q", "cups://host:631/", "cups:///a/b"):
        with pytest.raises(DeviceError) as info:
            parse_cups_url(bad)
        assert info.value.code == "bad_url"
