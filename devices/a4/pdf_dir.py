"""A virtual A4 printer: each job becomes a PDF file in a directory (``file:///DIR``).

The A4 counterpart of the virtual ESC/POS printer, for the demo and the end-to-end tests
on machines without a CUPS server; production kiosks use :class:`devices.a4.driver.CupsPrinter`
(``a4_cups``), and the CUPS round trip is tested against a real cupsd with cups-pdf.

Wire format: none — the "device" is the directory. ``job-NNNN.pdf`` is written atomically
(temporary file, fsync, rename), so a reader never sees half a job. Fault switch: a file
named ``PAPER_OUT`` in the directory makes the printer report paper out (USER_ERROR,
``paper=out``) and refuse jobs, like a real printer whose tray is empty; ``COVER_OPEN``
likewise. A missing or unwritable directory is NO_DEVICE.

Threading: the base contract — every file operation runs on the device's worker.
Personal data: the PDFs are the printed documents themselves (in the demo's temp dir);
nothing is logged but the job number.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from config.exit_codes import ExitCode
from config.logs import Safe
from devices.base import CancelToken, CommandHandle, Device, DeviceState, EventSink, Identity
from devices.errors import DeviceError, DeviceNotFoundError, Remediation
from printing.document import Document

log = logging.getLogger(__name__)

FAULTS = {
    "PAPER_OUT": ("paper", "out", "paper_out", ExitCode.PAPER_OUT, "打印纸用完"),
    "COVER_OPEN": ("cover", "open", "cover_open", ExitCode.COVER_OPEN, "打印机盖打开"),
}


def directory_of(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme != "file" or not parts.path:
        raise DeviceError(
            f"{url!r} is not a file:///DIR URL",
            code="bad_url",
            remediation=Remediation.CONFIGURATION,
            exit_code=ExitCode.CONFIG_ERROR,
        )
    return Path(unquote(parts.path))


class PdfDirectoryPrinter(Device):
    """See the module docstring. Options: ``poll_interval`` (s, default 2)."""

    driver_name = "a4_pdf_dir"
    default_timeout = 30.0

    def __init__(
        self,
        name: str,
        url: str,
        on_event: EventSink | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(name, url, on_event, options=options, **kw)
        self.directory = directory_of(url)
        self.poll_interval = float(self.options.get("poll_interval", 2.0)) or None

    def print_document(
        self, doc: Document, *, page: str = "a4", timeout: float | None = None
    ) -> CommandHandle:
        from printing.pdf import render_pdf

        return self.print_pdf(render_pdf(doc, page=page), title=doc.kind, timeout=timeout)

    def print_pdf(
        self, pdf: bytes, *, title: str = "document", timeout: float | None = None
    ) -> CommandHandle:
        """Print a ready PDF (same signature as the CUPS driver); ``title`` is not kept."""
        return self.submit("print", lambda tok: self._print(pdf, tok), timeout=timeout, quiet=True)

    def jobs(self) -> list[Path]:
        return sorted(self.directory.glob("job-*.pdf"))

    # -- Device hooks ---------------------------------------------------------------------

    def _open(self) -> None:
        if not self.directory.is_dir() or not os.access(self.directory, os.W_OK):
            raise DeviceNotFoundError(f"{self.directory} is not a writable directory")

    def _close(self) -> None:
        pass

    def _identify(self) -> Identity:
        return Identity(self.driver_name, model="virtual A4 (PDF directory)")

    def _fault(self) -> tuple[str, str, str, ExitCode, str] | None:
        for marker, fault in FAULTS.items():
            if (self.directory / marker).exists():
                return fault
        return None

    def _poll(self, token: CancelToken) -> None:
        self._open()
        fault = self._fault()
        if fault is None:
            self.set_status(DeviceState.ONLINE, detail={}, error=None)
        else:
            key, value, _code, _exit, _text = fault
            self.set_status(DeviceState.USER_ERROR, detail={key: value})

    def _print(self, pdf: bytes, token: CancelToken) -> dict[str, Any]:
        self._poll(token)
        fault = self._fault()
        if fault is not None:
            _key, _value, code, exit_code, text = fault
            raise DeviceError(
                f"the A4 printer reports: {text}",
                code=code,
                remediation=Remediation.STAFF,
                exit_code=exit_code,
                consequence="the document was not printed",
            )
        token.check()
        number = len(self.jobs()) + 1
        target = self.directory / f"job-{number:04d}.pdf"
        tmp = target.with_suffix(".pdf.tmp")
        with tmp.open("wb") as fh:
            fh.write(pdf)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
        log.info("A4 job %d written", number, extra={"device": Safe(self.name)})
        return {"printed": True, "job": number, "bytes": len(pdf)}
