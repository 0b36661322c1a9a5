"""ID-card reader commands attached to ``kiosk devices`` (see kiosk.cli.devices).

* ``read-id --url URL [--baud N] [--timeout S] [--json] [--reveal]`` — one read; JSON keys
  are those of :meth:`devices.idcard.model.IdCard.as_dict`; name, ID number and addresses
  masked unless ``--reveal``. Exit codes: 0 read, 13 no card, 11 timeout, 12 protocol error,
  10 device not found, 14 bad check digit (also 18 card read failed, 19 SAM failure).
* ``probe [PATH…] [--json]`` — scan serial ports (plus the given paths/URLs) and identify
  SAM readers by asking SAM status; exit 10 when none is found.
* ``watch --url URL [--json] [--duration S]`` — live status and card events until Ctrl-C;
  with ``--json`` one JSON object per line (a stream, not one document).
* ``emulate idcard --card FILE [--baud N] [--link PATH]`` — the emulator on a new pty; the
  first stdout line is the path to open; line commands on stdin: ``place [FILE]``,
  ``lift``, ``fault NAME on|off``, ``unplug``, ``replug``, ``status``, ``quit``.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from config import ExitCode
from devices.base import Backoff, DeviceEvent, DeviceState, StatusChanged
from devices.errors import DeviceError
from kiosk.cli.common import err, fail, out, print_json, serve_line_commands
from kiosk.cli.devices import app, emulate, wait_settled

_BAUDS = (115200, 57600, 38400, 19200, 9600)


def _check_baud(baud: int, as_json: bool) -> None:
    if baud not in _BAUDS:
        fail(
            f"--baud must be one of {', '.join(map(str, _BAUDS))}", ExitCode.USAGE, as_json=as_json
        )


def _device_fail(exc: DeviceError, as_json: bool) -> None:
    fail(
        f"{exc.code}: {exc.reason} — {exc.consequence} (remediation: {exc.remediation})",
        exc.exit_code,
        as_json=as_json,
        error_code=exc.code,
        remediation=str(exc.remediation),
    )


@app.command("read-id")
def read_id(
    *,
    url: Annotated[str, typer.Option(help="Reader URL: /dev/ttyUSB0, socket://…, sim://idcard?…")],
    baud: Annotated[int, typer.Option(help="Line speed (115200 57600 38400 19200 9600).")] = 115200,
    timeout: Annotated[float, typer.Option(help="Seconds allowed for the read.")] = 10.0,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reveal: Annotated[
        bool, typer.Option(help="Show name, ID number and address unmasked (personal data!).")
    ] = False,
    fingerprint: Annotated[bool, typer.Option(help="Read with 30 10 (fingerprint).")] = False,
    appended_address: Annotated[bool, typer.Option(help="Also read 30 03.")] = False,
) -> None:
    """Read one ID card and print it (masked unless --reveal)."""
    from devices.idcard.driver import SamIdCardReader

    _check_baud(baud, json_)
    ident = max(0.5, min(3.0, timeout))
    reader = SamIdCardReader(
        "idcard",
        url,
        options={"baudrate": baud, "poll": False, "identify_timeout": ident},
        backoff=Backoff(base=60.0, cap=60.0),  # one-shot: never retry in the background
    )
    try:
        card = reader.read_card(
            fingerprint=fingerprint, appended_address=appended_address, timeout=timeout
        ).wait(timeout + 2 * ident + 2)
    except DeviceError as exc:
        _device_fail(exc, json_)
    finally:
        reader.stop()
    try:
        doc = card.as_dict(reveal=reveal)
    finally:
        card.wipe()
    if json_:
        print_json(doc)
        return
    table = Table("field", "value", title="ID card" + ("" if reveal else " (masked)"))
    for key, value in doc.items():
        if value is not None:
            table.add_row(key, str(value))
    out.print(table)


@app.command("probe")
def probe(
    *,
    paths: Annotated[
        list[str] | None, typer.Argument(help="Extra ports or URLs to try (e.g. a pty path).")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    baud: Annotated[int, typer.Option(help="Line speed to try.")] = 115200,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each port.")] = 2.0,
    scan: Annotated[bool, typer.Option(help="Scan the machine's serial ports.")] = True,
) -> None:
    """Find SAM ID-card readers: ask every serial port for its SAM status."""
    from devices.idcard.driver import SamIdCardReader

    _check_baud(baud, json_)
    candidates: list[tuple[str, str]] = []
    if scan:
        from serial.tools import list_ports

        for info in list_ports.comports():
            candidates.append((str(info.device), str(info.description or "")))
    candidates += [(p, "given") for p in paths or []]
    rows: list[dict[str, Any]] = []
    for i, (port, description) in enumerate(candidates):
        reader = SamIdCardReader(
            f"probe{i}",
            port,
            options={"baudrate": baud, "poll": False, "identify_timeout": timeout},
            backoff=Backoff(base=60.0, cap=60.0),
        )
        wait_settled(reader, timeout + 1)
        status, ident = reader.status, reader.identity
        reader.stop()
        error = status.error
        # A SAM that answers "self-test failed" is still a SAM reader.
        is_sam = ident is not None or (error is not None and error.code.startswith("sam_"))
        rows.append(
            {
                "port": port,
                "description": description,
                "sam_reader": is_sam,
                "state": str(status.state),
                "sam_id": ident.extra.get("sam_id") if ident else None,
                "error": error.as_dict() if error else None,
            }
        )
    found = any(r["sam_reader"] for r in rows)
    if json_:
        print_json({"ports": rows, "found": found})
    else:
        table = Table("port", "SAM reader", "SAM ID", "state", "note")
        for r in rows:
            note = r["error"]["reason"] if r["error"] else r["description"]
            table.add_row(
                r["port"], "yes" if r["sam_reader"] else "no", r["sam_id"] or "", r["state"], note
            )
        out.print(table)
        if not rows:
            err.print("no serial ports found")
    if not found:
        raise typer.Exit(int(ExitCode.DEVICE_NOT_FOUND))


def _event_doc(event: DeviceEvent) -> dict[str, Any]:
    doc: dict[str, Any] = {"event": type(event).__name__, "device": event.device}
    doc["at"] = event.at.isoformat()
    if isinstance(event, StatusChanged):
        doc["status"] = event.status.as_dict()
    return doc


@app.command("watch")
def watch(
    *,
    url: Annotated[str, typer.Option(help="Reader URL.")],
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    baud: Annotated[int, typer.Option(help="Line speed.")] = 115200,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    driver: Annotated[str, typer.Option(help="Driver name from the registry.")] = "idcard_sam",
) -> None:
    """Show the device's status and events (card presented/removed) live."""
    from devices.registry import build_device

    _check_baud(baud, json_)
    events: queue.Queue[DeviceEvent] = queue.Queue()
    options: dict[str, Any] = {"baudrate": baud} if driver == "idcard_sam" else {}
    device = build_device("watch", driver, url, on_event=events.put, options=options)
    deadline = None if duration is None else time.monotonic() + duration
    device.start()
    try:
        while deadline is None or time.monotonic() < deadline:
            left = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
            try:
                event = events.get(timeout=left)
            except queue.Empty:
                continue
            doc = _event_doc(event)
            if json_:
                sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                note = ""
                if "status" in doc:
                    st = doc["status"]
                    note = f"{st['state']} {st['detail']}"
                    if st["error"]:
                        note += f" — {st['error']['reason']}"
                out.print(f"{doc['at'][11:23]} {doc['event']} {note}")
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
    if device.status.state not in (DeviceState.ONLINE, DeviceState.BUSY) and not json_:
        err.print(f"last state: {device.status.state}")


@emulate.command("idcard")
def emulate_idcard(
    card: Annotated[
        str | None,
        typer.Option(help="Card JSON file, or a built-in card name (resident, …); none: empty."),
    ] = "resident",
    baud: Annotated[int, typer.Option(help="Initial line speed of the emulated reader.")] = 115200,
    link: Annotated[
        Path | None, typer.Option(help="Stable symlink to the pty (default: in the temp dir).")
    ] = None,
) -> None:
    """Run an emulated SAM ID-card reader on a new pty; print its path first, then serve.

    Line commands on stdin: place [FILE], lift, fault NAME on|off, unplug, replug, status,
    quit. Stops on Ctrl-C, SIGTERM or quit.
    """
    from devices.idcard.emulator import Fault, PtyPort, SamReaderEmulator, load_card

    _check_baud(baud, False)
    try:
        first = load_card(card) if card else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"cannot load card {card!r}: {exc}", ExitCode.USAGE)
    link_path = link or Path(tempfile.gettempdir()) / f"quanban-idcard-{os.getpid()}"
    emulator = SamReaderEmulator(first, baudrate=baud)
    port = PtyPort(emulator, link_path)

    def announce() -> None:
        port.plug()
        sys.stdout.write(port.path + "\n")
        sys.stdout.flush()
        err.print(f"emulating a SAM ID-card reader on {port.tty_name} (link {port.path})")

    def handle(cmd: str, args: list[str]) -> str | None:
        if cmd == "place":
            emulator.place(load_card(args[0]) if args else None)
        elif cmd == "lift":
            emulator.lift()
        elif cmd == "fault" and len(args) == 2:
            emulator.set_fault(Fault(args[0]), args[1].lower() in ("on", "1", "true"))
        elif cmd == "unplug":
            port.unplug()
        elif cmd == "replug":
            port.replug()
        elif cmd == "status":
            return json.dumps(
                {
                    "plugged": port.plugged,
                    "tty": port.tty_name,
                    "card_present": emulator.card_present,
                    "faults": sorted(emulator.faults),
                    "baudrate": emulator.baudrate,
                }
            )
        else:
            raise ValueError(f"unknown command {' '.join([cmd, *args])!r}")
        return None

    def cleanup() -> None:
        port.close()
        emulator.close()

    serve_line_commands(handle, announce=announce, cleanup=cleanup)
