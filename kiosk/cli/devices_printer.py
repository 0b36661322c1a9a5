"""Printer commands attached to ``kiosk devices`` (see kiosk.cli.devices).

* ``print-test --url URL [--width 58|80] [--timeout S] [--json]`` — print the technician
  test page and report the printer status. ESC/POS URLs (``socket://host:9100``,
  ``/dev/ttyUSB0``, a pty, ``usb:///dev/usb/lp0``, ``sim://receipt?…``) print the
  receipt; ``cups:///QUEUE`` or ``cups://HOST:PORT/QUEUE`` print it as an A4 PDF.
* ``printer-status --url URL [--json]`` — query the live status once.

Both exit 0 when the printer can print and otherwise with the fault's code: 20 paper out,
21 cover open, 22 printer offline (also when it does not answer), 15 other hardware
errors (cutter), 10 not found, 11 timeout, 12 protocol error. Paper near end is reported
(``detail.paper = near_end``) but still exits 0: the page printed.

* ``emulate printer [--port 9100] [--host 127.0.0.1] [--pty] --out DIR [--fault NAME]…``
  — the virtual ESC/POS printer. The first stdout line is where to connect:
  ``socket://HOST:PORT`` or, with ``--pty``, the pty path (a TCP address follows on the
  second line when ``--port`` is also given). Jobs are written as ``DIR/job-NNNN.json``
  and ``.png``. Line commands on stdin: ``fault NAME on|off``, ``clear``, ``status``,
  ``quit``; it stops on quit, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from config import ConfigError, ExitCode
from devices.base import Device
from devices.errors import DeviceError
from kiosk.cli.common import err, fail, out, print_json, serve_line_commands, settings_of
from kiosk.cli.devices import app, emulate

if TYPE_CHECKING:
    from devices.a4.driver import CupsPrinter
    from devices.receipt.driver import EscPosPrinter

_FAULT_HELP = "paper_near_end, paper_out, cover_open, offline, cutter_error, unresponsive"


def _build(url: str, width: int, json_: bool) -> EscPosPrinter | CupsPrinter:
    if width not in (58, 80):
        fail("--width must be 58 or 80", ExitCode.USAGE, as_json=json_)
    try:
        if url.startswith("cups:"):
            from devices.a4.driver import CupsPrinter

            return CupsPrinter("printer", url, options={"poll_interval": 0})
        from devices.receipt.driver import EscPosPrinter

        return EscPosPrinter("printer", url, options={"poll_interval": 0, "paper_width_mm": width})
    except DeviceError as exc:
        fail(f"{exc.code}: {exc.reason}", exc.exit_code, as_json=json_)


def _report(
    json_: bool, *, ok: bool, url: str, device: Device, extra: dict[str, Any], exc: Exception | None
) -> None:
    status = device.status
    doc: dict[str, Any] = {"ok": ok, "url": url, **extra, "status": status.as_dict()}
    if isinstance(exc, DeviceError):
        doc["error"] = exc.as_dict()
        doc["exit_code"] = int(exc.exit_code)
    if json_:
        print_json(doc)
        return
    detail = ", ".join(f"{k}={v}" for k, v in status.detail.items())
    out.print(f"state: {status.state}" + (f" ({detail})" if detail else ""))
    for key, value in extra.items():
        out.print(f"{key}: {value}")
    if isinstance(exc, DeviceError):
        err.print(
            f"[bold red]{exc.code}:[/] {exc.reason} — {exc.consequence} "
            f"(remediation: {exc.remediation})",
            markup=True,
        )


@app.command("print-test")
def print_test(
    ctx: typer.Context,
    *,
    url: Annotated[str, typer.Option(help="Printer URL: socket://host:9100, /dev/…, cups:///Q")],
    width: Annotated[int, typer.Option(help="Receipt paper width in mm (58 or 80).")] = 80,
    timeout: Annotated[float, typer.Option(help="Seconds allowed for the job.")] = 30.0,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the technician test page and report the printer status."""
    from printing.documents import test_page

    device = _build(url, width, json_)
    try:
        kiosk_id = settings_of(ctx).settings.kiosk_id
    except ConfigError:  # a broken config must not stop a printer test
        kiosk_id = "kiosk"
    cups = url.startswith("cups:")
    doc = test_page(kiosk_id=kiosk_id, printed_at=datetime.now(), width_mm=None if cups else width)
    try:
        handle = device.print_document(doc, timeout=timeout)
        result = handle.wait(timeout + 5)
    except DeviceError as exc:
        _report(json_, ok=False, url=url, device=device, extra={"printed": False}, exc=exc)
        raise typer.Exit(int(exc.exit_code)) from None
    finally:
        device.stop()
    _report(json_, ok=True, url=url, device=device, extra=dict(result), exc=None)


@app.command("printer-status")
def printer_status(
    *,
    url: Annotated[str, typer.Option(help="Printer URL: socket://host:9100, /dev/…, cups:///Q")],
    timeout: Annotated[float, typer.Option(help="Seconds allowed for the query.")] = 5.0,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Query the printer's live status (DLE EOT for ESC/POS, IPP for CUPS)."""
    device = _build(url, 80, json_)
    try:
        result = device.check_status(timeout=timeout).wait(timeout + 5)
        code = ExitCode.OK
        exc: DeviceError | None = None
        fault = result.get("fault")
        if fault:
            from devices.receipt.errors import error_for_fault

            exc = error_for_fault(str(fault), f"printer reports {fault}")
            code = exc.exit_code
    except DeviceError as error:
        _report(json_, ok=False, url=url, device=device, extra={}, exc=error)
        raise typer.Exit(int(error.exit_code)) from None
    finally:
        device.stop()
    _report(json_, ok=exc is None, url=url, device=device, extra={"printer": result}, exc=exc)
    if code != ExitCode.OK:
        raise typer.Exit(int(code))


@emulate.command("printer")
def emulate_printer(
    *,
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for job-NNNN.json/.png.")],
    port: Annotated[
        int | None, typer.Option(help="TCP port (default 9100; 0 = any free port).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    pty: Annotated[bool, typer.Option("--pty", help="Listen on a new pty.")] = False,
    fault: Annotated[
        list[str] | None, typer.Option(help=f"Start with a fault: {_FAULT_HELP}.")
    ] = None,
    width: Annotated[int, typer.Option(help="Paper width in mm for the PNG (58 or 80).")] = 80,
) -> None:
    """Run the virtual ESC/POS printer; print where it listens first, then serve."""
    from devices.receipt.emulator import VirtualPrinter
    from devices.receipt.interpreter import Faults

    if width not in (58, 80):
        fail("--width must be 58 or 80", ExitCode.USAGE)
    faults = Faults()
    for name in fault or []:
        try:
            faults.set(name)
        except ValueError as exc:
            fail(str(exc), ExitCode.USAGE)
    printer = VirtualPrinter(out_dir, faults=faults, width=384 if width == 58 else 576)
    lines: list[str] = []
    try:
        if pty:
            lines.append(printer.open_pty())
        if port is not None or not pty:
            bound = printer.serve_tcp(host, 9100 if port is None else port)
            lines.append(f"socket://{bound[0]}:{bound[1]}")
    except OSError as exc:
        printer.close()
        fail(f"cannot listen: {exc}", ExitCode.DEVICE_NOT_FOUND)

    def announce() -> None:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        err.print(f"virtual printer on {', '.join(lines)}; jobs in {out_dir}")

    def handle(cmd: str, args: list[str]) -> str | None:
        if cmd == "fault" and len(args) == 2:
            printer.set_fault(args[0], args[1].lower() in ("on", "1", "true"))
        elif cmd == "clear":
            printer.clear_faults()
        elif cmd == "status":
            return json.dumps({"faults": printer.faults.active(), "jobs": len(printer.jobs)})
        else:
            raise ValueError(f"unknown command {' '.join([cmd, *args])!r}")
        return None

    serve_line_commands(handle, announce=announce, cleanup=printer.close)
