"""``kiosk devices scan`` and ``kiosk devices emulate scanner``: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from config import ExitCode
from kiosk.cli.devices_scanner import driver_for_url
from kiosk.cli.main import main
from tests.devices.scanner.images import Hardness, frame_with_code

REPO = Path(__file__).resolve().parents[3]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["devices", "scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def receipt_png(tmp_path: Path) -> Path:
    path = tmp_path / "receipt.png"
    cv2.imwrite(str(path), frame_with_code("JN2026112800001", Hardness(angle=15, noise=10)))
    return path


def test_scan_image_json(capsys: pytest.CaptureFixture[str], receipt_png: Path) -> None:
    code, out, _ = run(capsys, "--image", str(receipt_png), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["symbology"] == "qrcode" and doc["kind"] == "receipt"
    assert doc["text"] == "<receipt, 15 characters>" and doc["case_number"] == "JN2026112800001"
    code, out, _ = run(capsys, "--image", str(receipt_png), "--json", "--reveal")
    assert json.loads(out)["text"] == "JN2026112800001"


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar", "both"])
def test_scan_image_without_a_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, decoder: str
) -> None:
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), frame_with_code(None, Hardness(noise=20, clutter=True)))
    code, out, err = run(capsys, "--image", str(empty), "--decoder", decoder)
    assert code == ExitCode.NO_CODE_FOUND
    assert int(ExitCode.NO_CODE_FOUND) == 23  # a stable contract
    assert "no code found" in err and out == ""
    code, out, _ = run(capsys, "--image", str(empty), "--json")
    assert code == 23 and json.loads(out)["exit_code"] == 23


def test_scan_image_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--image", str(tmp_path / "missing.png"))
    assert code == ExitCode.DEVICE_NOT_FOUND and "no such image file" in err
    code, _, err = run(capsys, "--image", str(tmp_path / "x.png"), "--decoder", "opencv")
    assert code == ExitCode.USAGE and "unknown decoder" in err
    code, _, err = run(capsys, "--image", str(tmp_path / "x.png"), "--symbologies", "qr")
    assert code == ExitCode.USAGE and "unknown symbology" in err
    code, _, err = run(capsys, "--image", str(tmp_path / "x.png"), "--url", "sim://scanner")
    assert code == ExitCode.USAGE and "exactly one of" in err
    code, _, err = run(capsys)
    assert code == ExitCode.USAGE


def test_scan_url_sim_serial_and_wedge(capsys: pytest.CaptureFixture[str]) -> None:
    gb = "济南 全办".encode("gb18030").hex()
    code, out, _ = run(
        capsys, "--url", f"sim://scanner?payload_hex={gb}", "--json", "--reveal", "--timeout", "5"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc == {
        "symbology": "unknown",
        "text": "济南 全办",
        "kind": "text",
        "encoding": "gb18030",
        "masked": False,
    }
    code, out, _ = run(
        capsys, "--url", "sim://scanner?mode=wedge&payload=https://x.cn/a", "--json", "--reveal"
    )
    assert code == 0 and json.loads(out)["text"] == "https://x.cn/a"


def test_scan_url_lutong_stays_masked(capsys: pytest.CaptureFixture[str]) -> None:
    token = "LTM1.abcdefghijklmnopqrstuvwxyz012345"
    code, out, _ = run(capsys, "--url", f"sim://scanner?payload={token}", "--json", "--reveal")
    assert code == 0 and token not in out
    assert json.loads(out)["kind"] == "lutong"


def test_scan_url_timeout_and_missing_device(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--url", "sim://scanner", "--timeout", "0.5")
    assert code == ExitCode.NO_CODE_FOUND and "no code was read within 0.5 s" in err
    code, _, err = run(capsys, "--url", "/dev/ttyNOPE0", "--timeout", "1")
    assert code == ExitCode.DEVICE_NOT_FOUND
    code, _, err = run(capsys, "--url", "sim://scanner", "--suffix", "semicolon")
    assert code == ExitCode.USAGE and "bad scanner option" in err
    code, _, _ = run(capsys, "--url", "sim://scanner", "--timeout", "0")
    assert code == ExitCode.USAGE


def test_scan_url_camera_file(capsys: pytest.CaptureFixture[str], receipt_png: Path) -> None:
    code, out, _ = run(capsys, "--url", f"file://{receipt_png}", "--json", "--timeout", "5")
    assert code == 0 and json.loads(out)["kind"] == "receipt"


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("/dev/ttyACM0", "serial"),
        ("socket://10.0.0.5:4001", "serial"),
        ("sim://scanner?payload=x", "serial"),
        ("sim://scanner?mode=wedge", "wedge"),
        ("evdev://?name=Honeywell", "wedge"),
        ("/dev/input/by-id/usb-scanner-event-kbd", "wedge"),
        ("camera://0", "camera"),
        ("0", "camera"),
        ("rtsp://10.0.0.9/stream", "camera"),
        ("/dev/video0", "camera"),
        ("/tmp/clip.mp4", "camera"),
    ],
)
def test_driver_for_url(url: str, driver: str) -> None:
    assert driver_for_url(url) == driver


# --- two real processes: the emulator on a pty and the scan command -------------------------


@pytest.fixture
def emulator_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli.main", "devices", "emulate", "scanner", "--gb18030"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        if proc.poll() is None:
            proc.terminate()  # this PID only
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_emulator_on_a_pty_and_scan_in_another_process(
    emulator_process: tuple[subprocess.Popen[str], str],
) -> None:
    emu, path = emulator_process
    assert path.startswith("/dev/pts/")
    scan = subprocess.Popen(
        [
            *(sys.executable, "-m", "kiosk.cli.main", "devices", "scan", "--url", path),
            *("--json", "--reveal", "--timeout", "30"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emu.stdin is not None
        # The scanner discards input waiting when it opens the port, so keep scanning
        # until the scan command has its code (duplicates are suppressed).
        while scan.poll() is None:
            emu.stdin.write("scan 济南市 JN2026112800001\n")
            emu.stdin.flush()
            time.sleep(0.3)
        out, err = scan.communicate(timeout=10)
    finally:
        if scan.poll() is None:
            scan.kill()
            scan.wait(10)
    assert scan.returncode == 0, err
    doc = json.loads(out)
    assert doc["text"] == "济南市 JN2026112800001" and doc["encoding"] == "gb18030"
