"""Crash test of the outbox: a writer killed with SIGKILL at random moments, hundreds of times.

Every item whose ``enqueue`` had returned (the writer reported it on a pipe) must be in the
outbox afterwards, the file must pass ``PRAGMA integrity_check``, and every row must decrypt.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from offline.outbox import Outbox
from offline.sealing import KeyRing

REPO = Path(__file__).resolve().parents[2]
KILLS = 300


@pytest.mark.slow
def test_kill_minus_nine_loses_nothing_acknowledged(tmp_path: Path) -> None:
    KeyRing.load_or_create(tmp_path / "outbox.key")  # one key for every writer
    env = dict(os.environ, PYTHONPATH=str(REPO))
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.offline.crash_writer", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert server.stdout is not None
        for raw in server.stdout:
            lines.put(raw.decode().rstrip("\n"))

    reader = threading.Thread(target=pump, name="crash-pipe", daemon=True)
    reader.start()
    acked: set[str] = set()
    errors: list[str] = []
    rng = random.Random(20261128)
    live_pid: int | None = None
    killed_writing = 0

    def command(text: str) -> None:
        assert server.stdin is not None
        server.stdin.write(text.encode() + b"\n")
        server.stdin.flush()

    def read_until(prefix: str) -> str:
        while True:
            line = lines.get(timeout=30)
            if line.startswith("ack "):
                acked.add(line[4:])
                if line.startswith(prefix):
                    return line
            elif line.startswith("error "):
                errors.append(line)
            elif line.startswith(prefix):
                return line

    try:
        for run in range(KILLS):
            command(f"spawn run{run:04d}")
            live_pid = int(read_until("pid ").split()[1])
            if rng.random() < 0.9:
                # Once it is writing, at a random moment: mostly mid-enqueue, as that is
                # where the writer spends its time (sealing, INSERT, commit, fsync).
                read_until(f"ack run{run:04d}-")
                killed_writing += 1
            time.sleep(rng.uniform(0.0, 0.02))  # else also during start-up and open
            os.kill(live_pid, signal.SIGKILL)
            command(f"reap {live_pid}")
            read_until(f"reaped {live_pid}")
            live_pid = None
    finally:
        if live_pid is not None:
            os.kill(live_pid, signal.SIGKILL)
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        reader.join(5)

    assert errors == []
    runs_with_acks = {key.split("-")[0] for key in acked}
    assert len(runs_with_acks) >= killed_writing > KILLS // 2  # most kills hit a writing writer
    box = Outbox(tmp_path / "outbox.sqlite3", KeyRing.load_or_create(tmp_path / "outbox.key"))
    try:
        assert box.integrity_check() == ["ok"]
        stored = {it.idempotency_key for it in box.items(limit=10**9)}
        assert acked <= stored, f"{len(acked - stored)} acknowledged items lost"
        assert box.unopenable() == []
        some = box.items(limit=5)
        assert all(box.payload(it)["item_code"] == "YJS-0009" for it in some)
    finally:
        box.close()
