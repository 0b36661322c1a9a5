"""The virtual ESC/POS printer: TCP (port 9100, JetDirect style), a pty, and ``sim://receipt``.

Every connection gets its own :class:`~devices.receipt.interpreter.Interpreter`; the
fault switches (:class:`~devices.receipt.interpreter.Faults`) are shared by all of them and
can be flipped while it runs (``set_fault``), so DLE EOT / GS r answers change at once.
A job ends at a cut or when the connection closes; each job with content is written as
``DIR/job-NNNN.json`` and ``DIR/job-NNNN.png`` (numbers continue after existing files).
Jobs received while a fault that stops printing is on are still written, with
``"printed": false`` and the faults listed — a real printer would not have printed them.

Threading: one accept thread for TCP, one thread per TCP connection, one thread for the
pty master; job numbering and the in-memory job list are guarded by one lock. ``close()``
stops them all (sockets and the pty are closed, threads joined).

The pty: the emulator owns the master; a driver opens the slave path (``/dev/pts/N``) as
a serial port. When the driver closes the slave the master reads EIO — that is the end of
the connection (the job is flushed) and the emulator waits for the next open.

``sim://receipt?out=DIR&fault=paper_out&width=384`` gives an in-process printer (no socket).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import select
import socket
import threading
import tty
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from config.logs import Safe
from devices.receipt.interpreter import Faults, Interpreter, Job
from devices.sim import BytePipe

log = logging.getLogger(__name__)

_POLL_S = 0.1


class VirtualPrinter:
    """A virtual receipt printer; see the module docstring."""

    def __init__(
        self,
        out_dir: Path | None = None,
        *,
        faults: Faults | None = None,
        width: int = 576,
        on_job: Callable[[int, Job], None] | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.faults = faults or Faults()
        self.width = width
        self.jobs: list[Job] = []
        self._on_job = on_job
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._master_fd: int | None = None
        self._next_number = self._first_free_number()
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)

    # -- faults and jobs ------------------------------------------------------------------

    def set_fault(self, name: str, on: bool = True) -> None:
        self.faults.set(name, on)

    def clear_faults(self) -> None:
        self.faults.clear()

    def _first_free_number(self) -> int:
        if self.out_dir is None or not self.out_dir.exists():
            return 1
        numbers = [
            int(p.stem.split("-")[1])
            for p in self.out_dir.glob("job-*.json")
            if p.stem.split("-")[1].isdigit()
        ]
        return max(numbers, default=0) + 1

    def _record(self, job: Job, source: str) -> None:
        with self._cond:
            number = self._next_number
            self._next_number += 1
        if self.out_dir is not None:
            stem = self.out_dir / f"job-{number:04d}"
            doc = {
                "job": number,
                "source": source,
                "received_at": datetime.now(UTC).isoformat(),
                **job.as_dict(),
            }
            from devices.receipt.render import write_png

            write_png(job, stem.with_suffix(".png"), self.width)
            # JSON last: a watcher that sees the JSON finds the PNG already there.
            tmp = stem.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
            tmp.replace(stem.with_suffix(".json"))
        with self._cond:
            self.jobs.append(job)
            self._cond.notify_all()
        if self._on_job is not None:
            self._on_job(number, job)
        log.info("virtual printer: job %s (%s bytes) from %s", number, job.byte_count, Safe(source))

    def session(self, source: str) -> Interpreter:
        """A fresh interpreter for one connection, wired to the job recorder."""
        return Interpreter(lambda job: self._record(job, source), self.faults)

    def wait_jobs(self, count: int, timeout: float) -> list[Job]:
        """Block until at least ``count`` jobs were recorded (tests); return them."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.jobs) >= count, timeout)
            return list(self.jobs)

    # -- TCP ------------------------------------------------------------------------------

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 9100) -> tuple[str, int]:
        """Listen on ``host:port`` (0 = any free port); return the bound address."""
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(4)
        srv.settimeout(_POLL_S)
        self._sockets.append(srv)
        self._spawn(self._accept_loop, srv, name="vprinter-accept")
        bound = srv.getsockname()
        return str(bound[0]), int(bound[1])

    def _accept_loop(self, srv: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve_conn, conn, f"tcp:{peer[0]}:{peer[1]}", name="vprinter-conn")

    def _serve_conn(self, conn: socket.socket, source: str) -> None:
        conn.settimeout(_POLL_S)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        interp = self.session(source)
        try:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                reply = interp.feed(data)
                if reply:
                    conn.sendall(reply)
        except OSError:
            log.debug("virtual printer: connection %s dropped", Safe(source))
        finally:
            interp.close()
            conn.close()

    # -- pty ------------------------------------------------------------------------------

    def open_pty(self) -> str:
        """Create a pty pair; return the slave path a driver opens as its serial port."""
        master, slave = os.openpty()
        tty.setraw(slave)
        path = os.ttyname(slave)
        os.close(slave)  # the driver's open is the only one; its close reads as EIO here
        self._master_fd = master
        self._spawn(self._pty_loop, master, name="vprinter-pty")
        return path

    def _pty_loop(self, master: int) -> None:
        interp = self.session("pty")
        connected = False
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], _POLL_S)
            except (OSError, ValueError):
                break
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError as err:
                if err.errno != errno.EIO:
                    break
                if connected:  # the driver closed its end: the job (if any) is complete
                    interp.close()
                    interp = self.session("pty")
                    connected = False
                self._stop.wait(0.05)
                continue
            connected = True
            reply = interp.feed(data)
            if reply:
                try:
                    os.write(master, reply)
                except OSError:
                    log.debug("virtual printer: pty reply lost")
        interp.close()

    # -- lifecycle ------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: object, name: str) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def close(self) -> None:
        self._stop.set()
        for s in self._sockets:
            s.close()
        for t in list(self._threads):
            t.join(2.0)
        if self._master_fd is not None:
            os.close(self._master_fd)
            self._master_fd = None

    def __enter__(self) -> VirtualPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SimLink:
    """``sim://receipt`` endpoint: host writes go straight into an interpreter."""

    def __init__(self, printer: VirtualPrinter) -> None:
        self.printer = printer
        self._interp = printer.session("sim")
        self._to_host = BytePipe()
        self._lock = threading.Lock()

    def host_write(self, data: bytes) -> None:
        with self._lock:
            reply = self._interp.feed(data)
        if reply:
            self._to_host.write(reply)

    @property
    def to_host(self) -> BytePipe:
        return self._to_host

    def host_set_baudrate(self, baudrate: int) -> None:
        """Line speed does not matter to the virtual printer."""

    def host_close(self) -> None:
        with self._lock:
            self._interp.close()
        self._to_host.close()


def sim_endpoint(params: Mapping[str, list[str]]) -> _SimLink:
    """Build an in-process printer from ``sim://receipt?out=DIR&fault=NAME&width=N``."""
    out = params.get("out", [None])[0]
    faults = Faults()
    for name in params.get("fault", []):
        faults.set(name)
    width = int(params.get("width", ["576"])[0])
    return _SimLink(VirtualPrinter(Path(out) if out else None, faults=faults, width=width))
