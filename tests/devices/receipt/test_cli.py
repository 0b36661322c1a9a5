"""``kiosk devices print-test / printer-status / emulate printer``: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.exit_codes import ExitCode
from devices.receipt.driver import EscPosPrinter
from devices.receipt.emulator import VirtualPrinter
from kiosk.cli.main import main
from kiosk.sandbox_process import stop_pid

REPO = Path(__file__).resolve().parents[3]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_print_test_prints_the_test_page_and_reports_ok(
    capsys: pytest.CaptureFixture[str], vprinter: VirtualPrinter, tcp_url: str
) -> None:
    code, out, _ = run_cli(capsys, "devices", "print-test", "--url", tcp_url, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True and doc["printed"] is True
    assert doc["status"]["detail"]["paper"] == "ok"
    (job,) = vprinter.wait_jobs(1, 5)
    assert "打印机测试页" in job.text_lines
    assert job.qr_payloads and job.qr_payloads[0].startswith("quanban-test:")
    assert job.barcodes == [{"symbology": "CODE128", "data": "QB1234567890"}]


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("paper_out", ExitCode.PAPER_OUT),
        ("cover_open", ExitCode.COVER_OPEN),
        ("offline", ExitCode.PRINTER_OFFLINE),
        ("unresponsive", ExitCode.PRINTER_OFFLINE),
        ("cutter_error", ExitCode.DEVICE_HARDWARE_ERROR),
    ],
)
def test_print_test_exit_codes(
    capsys: pytest.CaptureFixture[str],
    vprinter: VirtualPrinter,
    tcp_url: str,
    fault: str,
    code: ExitCode,
) -> None:
    vprinter.set_fault(fault)
    rc, out, _ = run_cli(
        capsys, "devices", "print-test", "--url", tcp_url, "--json", "--timeout", "3"
    )
    assert rc == code
    doc = json.loads(out)
    assert doc["ok"] is False and doc["printed"] is False
    assert doc["exit_code"] == code


def test_print_test_human_output_names_the_fault(
    capsys: pytest.CaptureFixture[str], vprinter: VirtualPrinter, tcp_url: str
) -> None:
    vprinter.set_fault("cover_open")
    rc, out, err = run_cli(capsys, "devices", "print-test", "--url", tcp_url)
    assert rc == ExitCode.COVER_OPEN
    assert "cover=open" in out
    assert "cover_open" in err and "staff_can_clear" in err


@pytest.mark.parametrize(
    ("faults", "code", "paper"),
    [
        ((), ExitCode.OK, "ok"),
        (("paper_near_end",), ExitCode.OK, "near_end"),
        (("paper_out",), ExitCode.PAPER_OUT, "out"),
        (("cover_open",), ExitCode.COVER_OPEN, "ok"),
        (("offline",), ExitCode.PRINTER_OFFLINE, "ok"),
    ],
)
def test_printer_status(
    capsys: pytest.CaptureFixture[str],
    vprinter: VirtualPrinter,
    tcp_url: str,
    faults: tuple[str, ...],
    code: ExitCode,
    paper: str,
) -> None:
    for f in faults:
        vprinter.set_fault(f)
    rc, out, _ = run_cli(capsys, "devices", "printer-status", "--url", tcp_url, "--json")
    assert rc == code
    doc = json.loads(out)
    assert doc["printer"]["detail"]["paper"] == paper
    assert vprinter.jobs == []


def test_printer_status_of_a_missing_printer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rc, out, _ = run_cli(
        capsys, "devices", "printer-status", "--url", str(tmp_path / "nope"), "--json"
    )
    assert rc == ExitCode.DEVICE_NOT_FOUND
    assert json.loads(out)["error"]["code"] == "device_not_found"


def test_bad_width_is_a_usage_error(capsys: pytest.CaptureFixture[str], tcp_url: str) -> None:
    rc, _, err = run_cli(capsys, "devices", "print-test", "--url", tcp_url, "--width", "70")
    assert rc == ExitCode.USAGE
    assert "58 or 80" in err


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    out_dir = tmp_path / "jobs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "devices", "emulate", "printer",
         "--port", "0", "--pty", "--out", str(out_dir), "--fault", "paper_near_end"],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        yield proc, out_dir
    finally:
        stop_pid(proc, 10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_emulate_printer_process_contract(
    emulator_process: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, out_dir = emulator_process
    assert proc.stdout is not None and proc.stdin is not None
    pty_path = proc.stdout.readline().strip()
    tcp = proc.stdout.readline().strip()
    assert pty_path.startswith("/dev/pts/")
    assert tcp.startswith("socket://127.0.0.1:")

    for url in (tcp, pty_path):
        printer = EscPosPrinter("p", url, options={"poll_interval": 0})
        try:
            status = printer.check_status(timeout=5).wait(10)
            assert status["detail"]["paper"] == "near_end"  # the --fault switch
            printer.print_bytes(b"\x1b@" + "泉城".encode("gb18030") + b"\n\x1dVB\x00").wait(10)
        finally:
            printer.stop()
    proc.stdin.write("fault cover_open on\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "ok"
    printer = EscPosPrinter("p", tcp, options={"poll_interval": 0})
    try:
        assert printer.check_status(timeout=5).wait(10)["fault"] == "cover_open"
    finally:
        printer.stop()
    proc.stdin.write("status\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline()) == {
        "faults": ["paper_near_end", "cover_open"],
        "jobs": 2,
    }
    for n in (1, 2):
        job = json.loads((out_dir / f"job-000{n}.json").read_text("utf-8"))
        assert job["text_lines"] == ["泉城"] and job["cuts"] == [{"mode": "partial"}]
        assert (out_dir / f"job-000{n}.png").is_file()
    proc.stdin.write("quit\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.returncode == 0
