"""``kiosk run`` as its own process, watched through the systemd notify socket it speaks
(kiosk.app.launch): used by tests/kiosk/test_launch.py and bench/app.py. The process is
stopped by its PID (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from config.schema import Settings
from kiosk.sandbox_process import stop_pid
from tests.toml_text import toml_text

KIOSK = [sys.executable, "-m", "kiosk.entry"]


def child_config(settings: Settings, workdir: Path) -> Path:
    """A machine file for a kiosk process beside a DemoEnvironment: the same platform and
    printers; the ID-card reader and scanner are the environment's in-process emulators,
    which another process cannot reach, so they are left out."""
    data: dict[str, Any] = settings.model_dump(mode="json")
    for role in ("idcard", "scanner"):
        data["devices"].pop(role, None)
    data["outbox"]["path"] = str(workdir / "outbox.sqlite3")
    data["outbox"]["key_file"] = str(workdir / "outbox.key")
    data["platform"]["catalog_cache"] = str(workdir / "catalog.json")
    data["logging"]["dir"] = str(workdir / "log")
    path = workdir / "machine.toml"
    path.write_text(toml_text(data), encoding="utf-8")
    return path


class KioskProcess:
    """A started ``kiosk … run`` with the time (s since spawn) of each notification."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self._dir = tempfile.mkdtemp(prefix="kiosk-notify-")
        self.address = os.path.join(self._dir, "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.address)
        child_env = dict(os.environ if env is None else env)
        child_env.setdefault("QT_QPA_PLATFORM", "offscreen")
        child_env["NOTIFY_SOCKET"] = self.address
        self.messages: list[tuple[float, str]] = []
        self.start = time.perf_counter()
        self._stderr = Path(self._dir, "stderr")
        with self._stderr.open("wb") as err:  # a file, not a pipe: a full pipe would block it
            self.proc = subprocess.Popen(
                [*KIOSK, *args], env=child_env, stdout=subprocess.DEVNULL, stderr=err
            )

    def wait_for(self, message: str, timeout: float = 60.0) -> float:
        """Seconds from spawn to ``message``; raises if the process ends or time runs out."""
        for at, seen in self.messages:
            if seen == message:
                return at
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._sock.settimeout(0.2)
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"kiosk exited with {self.proc.returncode}") from None
                continue
            at = time.perf_counter() - self.start
            for line in data.decode().splitlines():
                self.messages.append((at, line))
                if line == message:
                    return at
        raise TimeoutError(f"no {message!r} from the kiosk in {timeout} s")

    def stop(self, grace_s: float = 15.0) -> int:
        return stop_pid(self.proc, grace_s)

    def stderr(self) -> str:
        return self._stderr.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        self.stop()
        self._sock.close()
        for name in os.listdir(self._dir):
            os.unlink(os.path.join(self._dir, name))
        os.rmdir(self._dir)
