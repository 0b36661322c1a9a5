"""``kiosk devices capture-document``: the JPEG written, the output, and the exit codes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from config import ExitCode
from devices.document_camera.emulator import PlatenEmulator
from kiosk.cli.main import main
from sandbox.jpeg import jpeg_size


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["devices", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def platen(tmp_path: Path) -> PlatenEmulator:
    return PlatenEmulator(tmp_path / "platen.png")


def test_capture_writes_a_private_jpeg_and_reports_json(
    capsys: pytest.CaptureFixture[str], platen: PlatenEmulator, tmp_path: Path
) -> None:
    target = tmp_path / "page.jpg"
    code, out, _ = run(
        capsys, "capture-document", "--url", platen.url, "--out", str(target),
        "--json", "--settle", "0", "--max-edge", "1200",
    )  # fmt: skip
    assert code == 0, out
    doc = json.loads(out)
    data = target.read_bytes()
    assert doc["ok"] and doc["bytes"] == len(data)
    assert jpeg_size(data) == (doc["width"], doc["height"]) and max(jpeg_size(data)) == 1200
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert doc["sharpness"] > 60 and "jpeg" not in doc


def test_capture_text_output(
    capsys: pytest.CaptureFixture[str], platen: PlatenEmulator, tmp_path: Path
) -> None:
    target = tmp_path / "page.jpg"
    code, out, _ = run(
        capsys, "capture-document", "--url", platen.url, "--out", str(target), "--settle", "0"
    )
    assert code == 0
    assert f"out: {target}" in out and "width: 1240" in out


@pytest.mark.parametrize(
    ("lever", "exit_code", "error_code"),
    [
        (lambda e: e.remove(), ExitCode.NO_DOCUMENT, "no_document"),
        (lambda e: e.set_fault("blur"), ExitCode.DOCUMENT_UNREADABLE, "blurred"),
        (lambda e: e.set_fault("dark"), ExitCode.DOCUMENT_UNREADABLE, "too_dark"),
    ],
)
def test_refused_pages_have_their_own_exit_codes(
    capsys: pytest.CaptureFixture[str],
    platen: PlatenEmulator,
    tmp_path: Path,
    lever: object,
    exit_code: ExitCode,
    error_code: str,
) -> None:
    lever(platen)  # type: ignore[operator]
    target = tmp_path / "page.jpg"
    code, out, _ = run(
        capsys, "capture-document", "--url", platen.url, "--out", str(target),
        "--json", "--settle", "0",
    )  # fmt: skip
    assert code == exit_code
    doc = json.loads(out)
    assert doc["error_code"] == error_code and "请" in doc["guidance"]["zh_CN"]
    assert not target.exists()  # nothing is written for a refused page


def test_missing_camera_and_bad_usage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(
        capsys, "capture-document", "--url", str(tmp_path / "none.png"),
        "--out", str(tmp_path / "x.jpg"),
    )  # fmt: skip
    assert code == ExitCode.CAMERA_ERROR and "no such file" in err
    code, _, _ = run(
        capsys, "capture-document", "--url", "x.png", "--out", str(tmp_path / "x.jpg"),
        "--quality", "0",
    )  # fmt: skip
    assert code == ExitCode.USAGE
    code, _, _ = run(
        capsys, "capture-document", "--url", "x.png", "--out", str(tmp_path / "no" / "x.jpg")
    )
    assert code == ExitCode.USAGE
