"""The writer of the outbox crash test (``python -m tests.offline.crash_writer DIR``).

It is a small fork server so that hundreds of writers can be killed in a few seconds without
paying Python's start-up each time. It imports the outbox once, then reads commands on stdin:

* ``spawn RUN`` — fork a writer and print ``pid PID``. The writer opens the outbox in DIR and
  enqueues items (keys ``RUN-N``) as fast as it can; after each ``enqueue`` returns it writes
  ``ack KEY`` to stdout with one ``write(2)`` (a pipe write under PIPE_BUF is atomic, so a kill
  never leaves half a line). It runs until killed.
* ``reap PID`` — wait for that (killed) writer and print ``reaped PID``; every ack the writer
  wrote is in the pipe before this line.

The fork server is single-threaded, so forking is safe; each writer opens its own SQLite
connection after the fork. EOF on stdin ends the server.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from offline.outbox import Outbox
from offline.sealing import KeyRing
from tests.offline.synthetic import case_payload


def _writer(directory: Path, run: str) -> None:
    try:
        box = Outbox(directory / "outbox.sqlite3", KeyRing.load_or_create(directory / "outbox.key"))
        rng = random.Random(run)
        n = 0
        while True:
            key = f"{run}-{n:06d}"
            box.enqueue(
                "case",
                f"s-{run}-{n % 3}",
                case_payload(rng, pad=rng.randint(0, 3000)),
                idempotency_key=key,
            )
            os.write(1, f"ack {key}\n".encode())
            n += 1
    except BaseException as exc:  # the parent reports it; a crash-test writer never exits cleanly
        os.write(1, f"error {type(exc).__name__}: {exc}\n".encode())
    finally:
        os._exit(3)


def main() -> None:
    directory = Path(sys.argv[1])
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "spawn":
            pid = os.fork()
            if pid == 0:
                _writer(directory, arg)
            os.write(1, f"pid {pid}\n".encode())
        elif cmd == "reap":
            os.waitpid(int(arg), 0)
            os.write(1, f"reaped {arg}\n".encode())


if __name__ == "__main__":
    main()
