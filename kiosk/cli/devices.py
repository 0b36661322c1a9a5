"""``kiosk devices …``: list, self-test and (per device class) read, watch and emulate.

Device-class commands live in ``devices_<class>.py`` modules that take this module's
``app`` and ``emulate`` Typer apps and add their commands to them.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from config import ExitCode
from devices.base import Device, DeviceState, StatusChanged
from devices.errors import DeviceError
from devices.registry import build_device
from kiosk.cli.common import out, print_json, settings_of

app = typer.Typer(
    help="Configured devices: list, probe, read, watch, self-test, emulate.", no_args_is_help=True
)
emulate = typer.Typer(help="Run a device emulator on a new pty or port.", no_args_is_help=True)
app.add_typer(emulate, name="emulate")


def wait_settled(device: Device, timeout: float) -> None:
    """Start ``device`` and wait until it has left STARTING (or ``timeout`` passes)."""
    settled = threading.Event()

    def on_event(event: Any) -> None:
        if isinstance(event, StatusChanged) and event.status.state != DeviceState.STARTING:
            settled.set()

    device._on_event = on_event  # the CLI owns this device; no other listener exists
    device.start()
    deadline = time.monotonic() + timeout
    while not settled.is_set() and time.monotonic() < deadline:
        if device.status.state != DeviceState.STARTING:
            return
        settled.wait(0.05)


def _configured(ctx: typer.Context) -> list[tuple[str, Device]]:
    found = []
    for name, cfg in settings_of(ctx).settings.devices.items():
        if cfg.enabled:
            found.append((name, build_device(name, cfg.driver, cfg.url, options=cfg.options)))
    return found


@app.command("list")
def list_devices(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each device.")] = 3.0,
) -> None:
    """Configured devices with their driver, URL and current state."""
    rows: list[dict[str, Any]] = []
    settings = settings_of(ctx).settings
    for name, device in _configured(ctx):
        wait_settled(device, timeout)
        status = device.status
        ident = device.identity
        rows.append(
            {
                "name": name,
                "driver": settings.devices[name].driver,
                "url": device.url,
                "state": str(status.state),
                "detail": dict(status.detail),
                "identity": ident.as_dict() if ident else None,
                "error": status.error.as_dict() if status.error else None,
            }
        )
        device.stop()
    if json_:
        print_json({"devices": rows})
        return
    table = Table("name", "driver", "url", "state", "note")
    for row in rows:
        note = str(row["error"]["reason"]) if row["error"] else ""
        table.add_row(
            str(row["name"]), str(row["driver"]), str(row["url"]), str(row["state"]), note
        )
    out.print(table)


@app.command("selftest")
def selftest(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds allowed for each device.")] = 10.0,
) -> None:
    """Run the self-test of every configured device; exit non-zero if any fails."""
    results = []
    worst = ExitCode.OK
    for name, device in _configured(ctx):
        wait_settled(device, min(timeout, 3.0))
        try:
            detail = device.self_test(timeout=timeout).wait(timeout + 1)
            results.append({"name": name, "ok": True, "detail": detail})
        except DeviceError as exc:
            results.append({"name": name, "ok": False, "error": exc.as_dict()})
            worst = ExitCode.SELFTEST_FAILED
        finally:
            device.stop()
    if json_:
        print_json({"ok": worst == ExitCode.OK, "devices": results})
    else:
        for r in results:
            mark = "[green]PASS[/]" if r["ok"] else "[red]FAIL[/]"
            why = "" if r["ok"] else f" — {r['error']['reason']} ({r['error']['remediation']})"
            out.print(f"{mark} {r['name']}{why}", markup=True)
        if not results:
            out.print("no devices configured")
    if worst != ExitCode.OK:
        raise typer.Exit(int(worst))


# Device-class commands register themselves on `app` and `emulate` when imported.
from kiosk.cli import (  # noqa: E402, F401
    devices_camera,
    devices_doccam,
    devices_idcard,
    devices_printer,
    devices_scanner,
)
