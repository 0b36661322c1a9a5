"""A4 printing through CUPS (registry key ``a4_cups``): PDF in, the job followed to its end.

URL: ``cups:///QUEUE`` (the default CUPS server of the machine) or
``cups://HOST:PORT/QUEUE`` (a given server, e.g. a test's private cupsd).

Why pycups rather than ``lp``/``lpstat``: the job must be *followed* to completion or
failure. Over IPP, pycups gives ``job-state`` (pending, held, processing, stopped,
canceled, aborted, completed) and ``printer-state-reasons`` (media-empty, cover-open…)
as values; ``lpstat`` prints text meant for people, says "completed" for canceled and
aborted jobs alike, and is localised. pycups is OpenPrinting's own binding of libcups
(built from source against ``libcups2-dev``).

Job life: ``print_pdf`` checks the printer state (a stopped printer or one reporting
media-empty / cover-open refuses the job before it is queued), submits the PDF, then
polls ``job-state`` until it is completed (→ result), canceled/aborted (→
:class:`~devices.receipt.errors.PrintJobFailedError`) or the command's deadline passes
(→ the job is cancelled and :class:`~devices.errors.DeviceTimeoutError` raised). While
a job is held up by the printer (``printer-state`` stopped or a media/cover reason), the
fault is raised at once rather than waiting for the deadline.

Status: idle polling of ``printer-state`` / ``printer-state-reasons`` every
``poll_interval`` seconds; detail ``{"paper": "ok|near_end|out", "cover": "open|closed",
"printer": "online|offline"}`` as for receipt printers.

Threading: libcups is called only on the device worker (devices.base). For a
``cups://HOST:PORT/…`` URL the driver also sets libcups's process-wide server and port
(job URIs are built from them), so one process should talk to one CUPS server. Personal data:
documents are written to a private temporary file (0600) for the spooler and deleted
after submission; titles are the document kind, never a name.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from config.logs import Safe
from devices.base import CancelToken, CommandHandle, Device, DeviceState, EventSink, Identity
from devices.errors import DeviceError, DeviceNotFoundError, DeviceTimeoutError, Remediation
from devices.receipt.errors import PrintJobFailedError, error_for_fault

if TYPE_CHECKING:
    from printing.document import Document

log = logging.getLogger(__name__)

# IPP enums (RFC 8011 §5.3.7 job-state, §5.4.11 printer-state).
JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED = 3, 4, 5, 6
JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = 7, 8, 9
PRINTER_IDLE, PRINTER_PROCESSING, PRINTER_STOPPED = 3, 4, 5
JOB_STATE_NAMES = {
    3: "pending",
    4: "held",
    5: "processing",
    6: "stopped",
    7: "canceled",
    8: "aborted",
    9: "completed",
}


def parse_cups_url(url: str) -> tuple[str | None, int | None, str]:
    """``cups://host:port/queue`` → (host, port, queue); host None means the default server."""
    parts = urlsplit(url)
    if parts.scheme != "cups":
        raise DeviceError(
            f"not a CUPS URL: {url!r} (expected cups:///QUEUE or cups://HOST:PORT/QUEUE)",
            code="bad_url",
            remediation=Remediation.CONFIGURATION,
        )
    queue = unquote(parts.path.strip("/"))
    if not queue or "/" in queue:
        raise DeviceError(
            f"the CUPS URL {url!r} names no queue",
            code="bad_url",
            remediation=Remediation.CONFIGURATION,
        )
    return parts.hostname, parts.port, queue


def fault_from_reasons(state: int, reasons: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    """Map IPP printer-state(-reasons) to (fault or None, status detail)."""
    names = {r.rsplit("-", 1)[0] if r.endswith(("-error", "-warning", "-report")) else r
             for r in reasons}  # fmt: skip
    paper = "ok"
    if names & {"media-empty", "media-needed", "media-jam"}:
        paper = "out"
    elif "media-low" in names:
        paper = "near_end"
    cover = "open" if names & {"cover-open", "door-open", "interlock-open"} else "closed"
    offline = state == PRINTER_STOPPED or bool(names & {"offline", "paused", "shutdown"})
    detail = {"paper": paper, "cover": cover, "printer": "offline" if offline else "online"}
    if paper == "out":
        return "paper_out", detail
    if cover == "open":
        return "cover_open", detail
    if offline:
        return "offline", detail
    return None, detail


class CupsPrinter(Device):
    """See the module docstring. Options: ``poll_interval`` (s), ``job_poll`` (s),
    ``cups_options`` (a mapping of IPP job options, e.g. ``{"media": "A4"}``)."""

    driver_name = "a4_cups"
    poll_interval: float | None = 10.0
    default_timeout = 120.0

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
        self.host, self.port, self.queue = parse_cups_url(url)
        self.poll_interval = float(self.options.get("poll_interval", 10.0)) or None
        self.job_poll = float(self.options.get("job_poll", 0.2))
        self.job_options = {str(k): str(v) for k, v in self.options.get("cups_options", {}).items()}
        self._conn: Any = None
        self._cups: Any = None

    # -- public commands ------------------------------------------------------------------

    def print_pdf(
        self, pdf: bytes, *, title: str = "document", timeout: float | None = None
    ) -> CommandHandle:
        """Queue ``pdf``; the result is ``{"printed": True, "job_id", "state"}``."""
        return self.submit(
            "print", lambda tok: self._print(pdf, title, tok), timeout=timeout, quiet=True
        )

    def print_document(
        self, doc: Document, *, page: str = "a4", timeout: float | None = None
    ) -> CommandHandle:
        from printing.pdf import render_pdf

        return self.print_pdf(render_pdf(doc, page=page), title=doc.kind, timeout=timeout)

    def check_status(self, *, timeout: float | None = None) -> CommandHandle:
        return self.submit("status", self._status_command, timeout=timeout, quiet=True)

    # -- Device hooks ---------------------------------------------------------------------

    def _open(self) -> None:
        import cups  # type: ignore[import-not-found]  # pycups ships no type information

        self._cups = cups
        try:
            if self.host is None:
                self._conn = cups.Connection()
            else:
                # libcups builds job URIs from its global server and port (ippPort()), not
                # from the connection: set them too, or printFile names the wrong printer.
                cups.setServer(self.host)
                cups.setPort(self.port or 631)
                self._conn = cups.Connection(host=self.host, port=self.port or 631)
            self._conn.getPrinterAttributes(self.queue, requested_attributes=["printer-state"])
        except (RuntimeError, cups.IPPError, cups.HTTPError) as err:
            self._conn = None
            raise DeviceNotFoundError(f"CUPS queue {self.queue!r} unavailable: {err}") from err

    def _close(self) -> None:
        self._conn = None

    def _identify(self) -> Identity:
        attrs = self._attrs(["printer-make-and-model", "printer-info", "printer-uri-supported"])
        return Identity(
            self.driver_name,
            model=str(attrs.get("printer-make-and-model", "unknown")),
            extra={"queue": self.queue},
            capabilities=frozenset({"pdf", "a4"}),
        )

    def _poll(self, token: CancelToken) -> None:
        self._status_command(token)

    def _self_test(self, token: CancelToken) -> Any:
        return {"identity": self._identify().as_dict(), "status": self._status_command(token)}

    def _is_transport_loss(self, err: BaseException) -> bool:
        cups = self._cups
        if cups is not None and isinstance(err, cups.HTTPError):
            return True
        return super()._is_transport_loss(err)

    # -- worker side ----------------------------------------------------------------------

    def _attrs(self, names: list[str]) -> dict[str, Any]:
        try:
            attrs: dict[str, Any] = self._conn.getPrinterAttributes(
                self.queue, requested_attributes=names
            )
        except self._cups.IPPError as err:
            raise DeviceNotFoundError(f"CUPS queue {self.queue!r}: {err}") from err
        return attrs

    def _printer_fault(self) -> tuple[str | None, dict[str, str]]:
        attrs = self._attrs(["printer-state", "printer-state-reasons", "printer-is-accepting-jobs"])
        state = int(attrs.get("printer-state", PRINTER_IDLE))
        reasons = [str(r) for r in attrs.get("printer-state-reasons", [])]
        fault, detail = fault_from_reasons(state, reasons)
        if fault is None and not attrs.get("printer-is-accepting-jobs", True):
            fault, detail = "offline", {**detail, "printer": "not_accepting"}
        return fault, detail

    def _apply(self, fault: str | None, detail: dict[str, str]) -> None:
        if fault in ("paper_out", "cover_open"):
            state = DeviceState.USER_ERROR
        elif fault == "offline":
            state = DeviceState.OFFLINE
        elif detail.get("paper") == "near_end":
            state = DeviceState.USER_ERROR
        else:
            state = DeviceState.ONLINE
        err = error_for_fault(fault, f"CUPS queue reports {fault}") if fault else None
        self.set_status(state, detail=detail, error=err)

    def _status_command(self, token: CancelToken) -> dict[str, object]:
        token.check()
        fault, detail = self._printer_fault()
        self._apply(fault, detail)
        return {"fault": fault, "detail": detail, "queue": self.queue}

    def _print(self, pdf: bytes, title: str, token: CancelToken) -> dict[str, object]:
        fault, detail = self._printer_fault()
        self._apply(fault, detail)
        if fault:
            raise error_for_fault(fault, f"CUPS queue reports {fault}; job not sent")
        self.set_status(DeviceState.BUSY, detail=detail)
        try:
            job_id = self._submit(pdf, title)
            state = self._follow(job_id, token)
        finally:
            if self.status.state == DeviceState.BUSY:
                self._apply(*self._printer_fault())
        self._apply(*self._printer_fault())
        return {"printed": True, "job_id": job_id, "state": JOB_STATE_NAMES[state]}

    def _submit(self, pdf: bytes, title: str) -> int:
        fd, path = tempfile.mkstemp(prefix="qb-print-", suffix=".pdf")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pdf)
            opts = {"document-format": "application/pdf", **self.job_options}
            try:
                job_id = int(self._conn.printFile(self.queue, path, title, opts))
            except self._cups.IPPError as err:
                raise PrintJobFailedError(f"CUPS refused the job: {err}") from err
        finally:
            os.unlink(path)
        self.record_wire("tx", pdf)
        log.info("printer %s: CUPS job %s queued", Safe(self.name), job_id)
        return job_id

    def _follow(self, job_id: int, token: CancelToken) -> int:
        while True:
            try:
                attrs = self._conn.getJobAttributes(
                    job_id, requested_attributes=["job-state", "job-state-reasons"]
                )
            except self._cups.IPPError as err:
                raise PrintJobFailedError(f"CUPS lost job {job_id}: {err}") from err
            state = int(attrs.get("job-state", JOB_PENDING))
            if state == JOB_COMPLETED:
                return state
            if state in (JOB_CANCELED, JOB_ABORTED):
                reasons = attrs.get("job-state-reasons", [])
                raise PrintJobFailedError(
                    f"CUPS job {job_id} {JOB_STATE_NAMES[state]} ({', '.join(map(str, reasons))})"
                )
            fault, _ = self._printer_fault()
            if fault and state in (JOB_PENDING, JOB_HELD, JOB_STOPPED, JOB_PROCESSING):
                raise error_for_fault(
                    fault, f"CUPS job {job_id} is waiting: the printer reports {fault}"
                )
            if token.remaining() <= 0 or token.cancelled:
                self._cancel(job_id)
                token.check()
                raise DeviceTimeoutError(f"CUPS job {job_id} did not complete in time")
            time.sleep(token.remaining(self.job_poll))

    def _cancel(self, job_id: int) -> None:
        try:
            self._conn.cancelJob(job_id)
        except self._cups.IPPError:
            log.warning("printer %s: could not cancel CUPS job %s", Safe(self.name), job_id)
