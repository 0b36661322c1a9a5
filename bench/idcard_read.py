"""Benchmark: a full ID-card read against the emulator over a pty at 115200 baud, and the
CPU cost of idle polling.

The emulator runs in its own process (``kiosk devices emulate idcard``), paced at the line
rate, so this process holds only the driver. Printed figures:

* median time of ``read_card`` (20 01 + 20 02 + 30 01) over N reads, and its ratio to the
  wire time: (3 commands × 10 B + 15 + 19 + 1295 B of replies) × 10 / 115200 = 118.0 ms;
  target ≤ 1.15;
* CPU share of one core used by this process (the driver) while it idle-polls (20 01 every
  300 ms) for ``--idle`` seconds; target < 1 %.

Run: ``.venv/bin/python bench/idcard_read.py [--reads 30] [--idle 10]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devices.base import DeviceState
from devices.idcard.driver import SamIdCardReader

BAUD = 115200
WIRE_BYTES = 3 * 10 + 15 + 19 + 1295


def _command(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    answer = proc.stdout.readline().strip()
    if answer != "ok":
        raise RuntimeError(f"emulator said {answer!r} to {line!r}")


def _wait_online(reader: SamIdCardReader, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    reader.start()
    while reader.status.state != DeviceState.ONLINE:
        if time.monotonic() > deadline:
            raise RuntimeError(f"reader not online: {reader.status}")
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=30)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args()

    link = Path(tempfile.mkdtemp(prefix="idcard-bench-")) / "ttyIDCARD"
    cmd = [sys.executable, "-m", "kiosk.cli.main", "devices", "emulate", "idcard"]
    proc = subprocess.Popen(
        [*cmd, "--card", "resident", "--baud", str(BAUD), "--link", str(link)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()

        reader = SamIdCardReader("bench", path, options={"baudrate": BAUD, "poll": False})
        _wait_online(reader)
        times = []
        for _ in range(args.reads):
            _command(proc, "lift")
            _command(proc, "place")
            t0 = time.perf_counter()
            card = reader.read_card(timeout=5).wait(10)
            times.append(time.perf_counter() - t0)
            card.wipe()
        reader.stop()

        wire = WIRE_BYTES * 10 / BAUD
        median = statistics.median(times)
        print(f"full read (find + select + 30 01) at {BAUD} baud over a pty, {args.reads} reads")
        print(
            f"  median {median * 1000:.1f} ms  (min {min(times) * 1000:.1f}, "
            f"max {max(times) * 1000:.1f})"
        )
        print(f"  wire time {wire * 1000:.1f} ms ({WIRE_BYTES} bytes x 10 / {BAUD})")
        print(f"  ratio {median / wire:.3f}  (target <= 1.15)")

        _command(proc, "lift")
        poller = SamIdCardReader("bench-idle", path, options={"baudrate": BAUD})
        _wait_online(poller)
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(args.idle)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        polls = wall / (poller.poll_interval or 1)
        poller.stop()
        print(f"idle polling every {poller.poll_interval} s for {wall:.1f} s (~{polls:.0f} polls)")
        print(
            f"  driver process CPU {cpu * 1000:.1f} ms = {100 * cpu / wall:.2f} % of one core "
            "(target < 1 %)"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
