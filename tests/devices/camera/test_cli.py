"""``kiosk devices camera-check`` and ``kiosk devices liveness``: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import ExitCode
from devices.camera.landmarks import load_model_bytes
from devices.camera.synthetic import Renderer
from kiosk.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["devices", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def face_png(renderer: Renderer, tmp_path: Path) -> Path:
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), renderer.still())
    return path


def test_camera_check_json(capsys: pytest.CaptureFixture[str], face_png: Path) -> None:
    code, out, _ = run(capsys, "camera-check", "--url", str(face_png), "--json", "--frames", "2")
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] and doc["face_seen"] and doc["faces"] == 1
    assert (doc["width"], doc["height"]) == (640, 480)
    assert doc["exposure"] == "n/a" and doc["focus"] == "n/a"


def test_camera_check_text_without_a_face(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((480, 640, 3), 90, np.uint8))
    code, out, _ = run(capsys, "camera-check", "--url", str(wall), "--frames", "1")
    assert code == 0
    assert "face_seen: False" in out


def test_camera_check_missing_camera_is_camera_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _out, err = run(capsys, "camera-check", "--url", str(tmp_path / "none.mp4"))
    assert code == ExitCode.CAMERA_ERROR
    assert "no such camera" in err


def test_liveness_on_a_photo_is_not_live(
    capsys: pytest.CaptureFixture[str], face_png: Path
) -> None:
    code, out, _err = run(
        capsys, "liveness", "--source", str(face_png), "--json", "--seed", "3", "--no-mouth"
    )
    assert code == ExitCode.NOT_LIVE
    doc = json.loads(out)
    assert doc["live"] is False
    assert doc["reason"].endswith(":timeout")
    assert doc["challenges"][-1]["passed"] is False
    assert doc["best_frame"] is False


def test_liveness_text_shows_guidance_on_stderr(
    capsys: pytest.CaptureFixture[str], renderer: Renderer, tmp_path: Path
) -> None:
    video = tmp_path / "short.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 30.0, (640, 480))
    for _ in range(15):
        writer.write(renderer.still())
    writer.release()
    code, out, err = run(capsys, "liveness", "--source", str(video), "--seed", "3")
    assert code == ExitCode.NOT_LIVE
    assert "请保持不动" in err and "live: False  reason: video_ended" in out


def test_missing_model_has_its_own_exit_code(
    capsys: pytest.CaptureFixture[str],
    face_png: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load_model_bytes()  # the real one is fine; point the loader elsewhere
    monkeypatch.setenv("QUANBAN_FACE_MODEL", str(tmp_path / "gone.task"))
    code, out, _ = run(capsys, "liveness", "--source", str(face_png), "--json")
    assert code == ExitCode.FACE_MODEL_MISSING
    doc = json.loads(out)
    assert doc["error_code"] == "face_model" and "install" in doc["error"]


def test_bad_usage(capsys: pytest.CaptureFixture[str], face_png: Path) -> None:
    code, _, _ = run(capsys, "liveness", "--source", str(face_png), "--timeout", "0")
    assert code == ExitCode.USAGE
    code, _, _ = run(capsys, "camera-check", "--url", str(face_png), "--frames", "0")
    assert code == ExitCode.USAGE
