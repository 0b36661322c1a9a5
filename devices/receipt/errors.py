"""Printer faults as device errors: who must act, and the CLI exit code of each.

Shared by the receipt (ESC/POS) and A4 (CUPS) drivers. :func:`error_for_fault` turns a
fault name (``PrinterStatus.fault`` or a CUPS printer-state reason) into the error raised
when a job cannot be printed.
"""

from __future__ import annotations

from config.exit_codes import ExitCode
from devices.errors import DeviceError, Remediation


class PrinterFaultError(DeviceError):
    """The printer reports a condition that stops printing."""

    code = "printer_fault"
    remediation = Remediation.STAFF
    exit_code = ExitCode.DEVICE_HARDWARE_ERROR
    default_consequence = "documents cannot be printed; flows that must print are disabled"


class PaperOutError(PrinterFaultError):
    code = "paper_out"
    exit_code = ExitCode.PAPER_OUT
    default_consequence = "nothing can be printed until staff load paper"


class CoverOpenError(PrinterFaultError):
    code = "cover_open"
    exit_code = ExitCode.COVER_OPEN
    default_consequence = "nothing can be printed until staff close the printer cover"


class PrinterOfflineError(PrinterFaultError):
    code = "printer_offline"
    exit_code = ExitCode.PRINTER_OFFLINE
    default_consequence = "the printer does not accept jobs; staff should check it"


class CutterError(PrinterFaultError):
    code = "cutter_error"
    remediation = Remediation.MAINTENANCE
    exit_code = ExitCode.DEVICE_HARDWARE_ERROR
    default_consequence = "the auto-cutter is jammed; a technician must clear it"


class PrintJobFailedError(PrinterFaultError):
    """The job was sent but the printer (or spooler) says it did not print."""

    code = "print_failed"
    remediation = Remediation.RESET
    exit_code = ExitCode.DEVICE_HARDWARE_ERROR
    default_consequence = "the document was not printed; the kiosk may try again"


_BY_FAULT: dict[str, type[PrinterFaultError]] = {
    "paper_out": PaperOutError,
    "cover_open": CoverOpenError,
    "offline": PrinterOfflineError,
    "cutter_error": CutterError,
    "error": PrinterFaultError,
}


def error_for_fault(fault: str, reason: str) -> PrinterFaultError:
    return _BY_FAULT.get(fault, PrinterFaultError)(reason)
