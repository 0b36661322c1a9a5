"""A private, real CUPS for the tests: ``cupsd -f`` with the cups-pdf virtual printer.

The session fixture writes a cupsd configuration into a temporary directory (its own
port, socket, spool and state; the system CUPS is not touched), starts ``cupsd -f`` and
stops it by its PID at the end. Queues, all added with ``lpadmin`` over the private socket:

* ``kiosk_pdf`` — cups-pdf (Debian ``printer-driver-cups-pdf``) writing into ``out/``
  through its per-instance configuration ``/etc/cups/cups-pdf-<instance>.conf`` (the
  only file written outside the temporary directory; removed at the end). cups-pdf turns
  PostScript into PDF, so CUPS converts our PDF first; the pdftocairo renderer is the one
  whose PostScript keeps the CJK text extractable (ghostscript's turns glyphs into paths);
* ``kiosk_paper`` — a backend that reports ``media-empty-error`` and fails (stop-printer);
* ``kiosk_abort`` — a backend that fails with the abort-job error policy.

The fault backends live in a private ``ServerBin`` (symlinks to the system's filters and
backends plus one small shell script), so nothing is installed into ``/usr/lib/cups``.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.sandbox_process import stop_pid

SYSTEM_SERVERBIN = Path("/usr/lib/cups")
PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_noopt.ppd")

FAULT_BACKEND = """#!/bin/sh
# qbfault:/paper → report paper out and fail; qbfault:/abort → fail. No arguments: discovery.
[ $# -eq 0 ] && exit 0
cat > /dev/null
case "$DEVICE_URI" in
  *paper*) echo "STATE: +media-empty-error" >&2; echo "ERROR: out of paper" >&2 ;;
  *) echo "ERROR: simulated printer failure" >&2 ;;
esac
exit 1
"""


@dataclass
class CupsServer:
    host: str
    port: int
    socket_path: Path
    out_dir: Path
    pid: int

    def url(self, queue: str) -> str:
        return f"cups://{self.host}:{self.port}/{queue}"

    def lpadmin(self, *args: str) -> None:
        subprocess.run(
            ["lpadmin", "-h", str(self.socket_path), *args], check=True, capture_output=True
        )

    def admin(self, command: str, queue: str) -> None:
        """cupsenable / cupsdisable / cupsaccept / cupsreject on the private server."""
        subprocess.run([command, "-h", str(self.socket_path), queue], check=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _private_serverbin(root: Path) -> Path:
    serverbin = root / "serverbin"
    serverbin.mkdir()
    for entry in SYSTEM_SERVERBIN.iterdir():
        if entry.name != "backend":
            (serverbin / entry.name).symlink_to(entry)
    backends = serverbin / "backend"
    backends.mkdir()
    for entry in (SYSTEM_SERVERBIN / "backend").iterdir():
        (backends / entry.name).symlink_to(entry)
    script = backends / "qbfault"
    script.write_text(FAULT_BACKEND)
    script.chmod(0o700)  # root-only: cupsd runs it as root, like cups-pdf
    return serverbin


@pytest.fixture(scope="session")
def cups_server() -> Iterator[CupsServer]:
    for tool in ("cupsd", "lpadmin", "pdftotext"):
        assert shutil.which(tool), f"{tool} missing: run scripts/setup.sh"
    root = Path(tempfile.mkdtemp(prefix="qb-cups-"))
    root.chmod(0o755)  # cupsd's children run as lp and must reach the spool
    instance = f"qbtest{uuid.uuid4().hex[:8]}"
    pdf_conf = Path(f"/etc/cups/cups-pdf-{instance}.conf")
    port = _free_port()
    sock = root / "cups.sock"
    out_dir = root / "out"
    etc = root / "etc"
    for d in (etc, out_dir, root / "spool" / "tmp", root / "cache", root / "state", root / "log"):
        d.mkdir(parents=True)
    serverbin = _private_serverbin(root)
    (etc / "cupsd.conf").write_text(
        f"LogLevel warn\nListen 127.0.0.1:{port}\nListen {sock}\nWebInterface No\n"
        "Browsing No\nDefaultAuthType Basic\n<Location />\n  Order allow,deny\n"
        "  Allow all\n</Location>\n<Policy default>\n  <Limit All>\n    Order deny,allow\n"
        "  </Limit>\n</Policy>\n"
    )
    (etc / "cups-files.conf").write_text(
        f"ServerRoot {etc}\nServerBin {serverbin}\nRequestRoot {root}/spool\n"
        f"TempDir {root}/spool/tmp\nCacheDir {root}/cache\nStateDir {root}/state\n"
        f"AccessLog {root}/log/access_log\nErrorLog {root}/log/error_log\n"
        f"PageLog {root}/log/page_log\nFileDevice No\nSystemGroup root\n"
    )
    pdf_conf.write_text(
        f"Out {out_dir}\nAnonDirName {out_dir}\nLabel 0\nTitlePref 1\nUserUMask 0022\nGrp root\n"
    )
    proc = subprocess.Popen(
        ["cupsd", "-f", "-c", str(etc / "cupsd.conf"), "-s", str(etc / "cups-files.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert proc.poll() is None, "cupsd exited at start"
            assert time.monotonic() < deadline, "cupsd did not start listening"
            time.sleep(0.1)
        server = CupsServer("127.0.0.1", port, sock, out_dir, proc.pid)
        server.lpadmin(
            "-p", "kiosk_pdf", "-E", "-v", f"cups-pdf:/{instance}", "-P", str(PPD),
            "-o", "pdftops-renderer-default=pdftocairo",
        )  # fmt: skip
        server.lpadmin(
            "-p", "kiosk_paper", "-E", "-v", "qbfault:/paper", "-P", str(PPD),
            "-o", "printer-error-policy=stop-printer",
        )  # fmt: skip
        server.lpadmin(
            "-p", "kiosk_abort", "-E", "-v", "qbfault:/abort", "-P", str(PPD),
            "-o", "printer-error-policy=abort-job",
        )  # fmt: skip
        yield server
    finally:
        stop_pid(proc, 15)
        pdf_conf.unlink(missing_ok=True)
        Path(f"/var/log/cups/cups-pdf-{instance}_log").unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)
