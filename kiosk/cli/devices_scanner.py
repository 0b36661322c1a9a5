"""Code-scanner commands attached to ``kiosk devices`` (see kiosk.cli.devices).

* ``scan --url URL [--timeout S] [--json] [--reveal] [--verify]`` — wait for one code from
  a scanner or camera and print ``{"symbology", "text", "kind", …}``. The URL picks the
  driver: a serial port / pty / ``socket://`` / ``sim://scanner?…`` → serial scanner;
  ``evdev://…``, ``/dev/input/…`` or ``sim://scanner?mode=wedge…`` → keyboard wedge;
  ``camera://N``, ``v4l2://…``, ``rtsp://…``, a video or image file or a directory of
  images → camera decoding. ``--verify`` checks a 鲁通码 with the platform.
* ``scan --image FILE [--json]`` — decode a picture.
* ``emulate scanner [--payload TEXT]… [--payload-hex HEX]…`` — a serial scanner on a new
  pty; the first stdout line is the path to open; stdin line commands: ``scan TEXT``,
  ``scanhex HEX``, ``quit``.

Scanned text is personal data: it is masked unless ``--reveal``, and identity tokens
(鲁通码, 电子社保卡, 亮证码) are masked even then. Exit codes: 0 a code, 23 no code found
(or none scanned in time), 10 device or image not found, 2 bad usage.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from config import ExitCode
from devices.base import Backoff, Device
from devices.errors import DeviceError, DeviceTimeoutError
from devices.scanner.classify import CodeKind, ScannedCode
from kiosk.cli.common import err, fail, out, print_json, settings_of
from kiosk.cli.devices import app, emulate

_CAMERA_SCHEMES = ("camera://", "v4l2://", "rtsp://", "http://", "https://", "file://")


def driver_for_url(url: str) -> str:
    """Which driver a ``--url`` names: ``serial``, ``wedge`` or ``camera``."""
    if url.startswith("evdev://") or url.startswith("/dev/input/"):
        return "wedge"
    if url.startswith("sim://"):
        return "wedge" if "mode=wedge" in url else "serial"
    if url.startswith(_CAMERA_SCHEMES) or url.isdigit():
        return "camera"
    path = Path(url)
    if url.startswith("/dev/video") or path.is_dir():
        return "camera"
    if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp", ".mp4", ".avi", ".mkv", ".webm"}:
        return "camera"
    return "serial"


def _print_code(code: ScannedCode, *, as_json: bool, reveal: bool, extra: dict[str, Any]) -> None:
    doc = {**code.as_dict(reveal=reveal), **extra}
    if as_json:
        print_json(doc)
        return
    for key, value in doc.items():
        out.print(f"{key}: {value}")


def _verify(ctx: typer.Context, code: ScannedCode) -> dict[str, Any]:
    from devices.scanner.verify import PlatformCodeVerifier
    from offline.client import PlatformClient

    if code.kind is not CodeKind.LUTONG or code.text is None:
        return {"verification": None}
    cfg = settings_of(ctx).settings.platform
    try:
        client = PlatformClient.from_config(cfg)
    except (ValueError, OSError) as exc:
        fail(f"cannot set up the platform client: {exc}", ExitCode.CONFIG_ERROR)
    try:
        result = PlatformCodeVerifier(client).verify(code.text)
    finally:
        client.close()
    return {
        "verification": {
            "status": result.status.value,
            "reason": result.reason,
            "expires_in": result.expires_in,
            "message": result.message.zh_CN,
            "alternatives": list(result.alternatives),
        }
    }


@app.command("scan")
def scan(
    ctx: typer.Context,
    *,
    url: Annotated[
        str | None, typer.Option(help="Scanner or camera URL (see `kiosk devices scan --help`).")
    ] = None,
    image: Annotated[Path | None, typer.Option(help="Decode this picture instead.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a code.")] = 15.0,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reveal: Annotated[
        bool, typer.Option(help="Show the scanned text (identity tokens stay masked).")
    ] = False,
    verify: Annotated[bool, typer.Option(help="Verify a 鲁通码 with the platform.")] = False,
    decoder: Annotated[str, typer.Option(help="Camera decoder: zxing, pyzbar or both.")] = "zxing",
    roi: Annotated[str | None, typer.Option(help="Camera region x,y,w,h (fractions).")] = None,
    symbologies: Annotated[
        str, typer.Option(help="Camera/image symbologies, comma-separated, or all.")
    ] = "qrcode",
    suffix: Annotated[str, typer.Option(help="Serial/wedge suffix: cr, crlf, tab, none.")] = "cr",
    trigger: Annotated[str, typer.Option(help="Host trigger: none or honeywell.")] = "none",
    baud: Annotated[int, typer.Option(help="Serial line speed.")] = 9600,
) -> None:
    """Read one code from a scanner, a camera or a picture, and print what it is."""
    if (url is None) == (image is None):
        fail("give exactly one of --url or --image", ExitCode.USAGE, as_json=json_)
    if timeout <= 0:
        fail("--timeout must be positive", ExitCode.USAGE, as_json=json_)
    if image is not None:
        code = _scan_image(image, decoder, symbologies, roi, json_)
    else:
        assert url is not None
        code = _scan_url(
            url,
            timeout=timeout,
            decoder=decoder,
            symbologies=symbologies,
            roi=roi,
            suffix=suffix,
            trigger=trigger,
            baud=baud,
            as_json=json_,
        )
    extra = _verify(ctx, code) if verify else {}
    _print_code(code, as_json=json_, reveal=reveal, extra=extra)


def _scan_image(
    image: Path, decoder: str, symbologies: str, roi: str | None, as_json: bool
) -> ScannedCode:
    from devices.camera_codes.decode import Roi, make_decoder
    from devices.camera_codes.reader import decode_image_file

    try:
        dec = make_decoder(decoder, [s.strip() for s in symbologies.split(",")])
        region = Roi.parse(roi) if roi else None
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE, as_json=as_json)
    try:
        codes = decode_image_file(image, dec, roi=region)
    except DeviceError as exc:
        fail(exc.reason, exc.exit_code, as_json=as_json, error_code=exc.code)
    if not codes:
        fail(f"no code found in {image}", ExitCode.NO_CODE_FOUND, as_json=as_json)
    return codes[0]


def _scan_url(
    url: str,
    *,
    timeout: float,
    decoder: str,
    symbologies: str,
    roi: str | None,
    suffix: str,
    trigger: str,
    baud: int,
    as_json: bool,
) -> ScannedCode:
    kind = driver_for_url(url)
    once = Backoff(base=60.0, cap=60.0)  # one-shot: never retry in the background
    device: Device
    try:
        if kind == "camera":
            from devices.camera_codes.reader import CameraCodeReader

            options: dict[str, Any] = {
                "decoder": decoder,
                "symbologies": symbologies,
                "every_nth": 1,
            }
            if roi:
                options["roi"] = roi
            device = CameraCodeReader("scan", url, options=options, backoff=once)
        elif kind == "wedge":
            from devices.scanner.driver_wedge import WedgeScanner

            device = WedgeScanner("scan", url, options={"suffix": suffix}, backoff=once)
        else:
            from devices.scanner.driver_serial import SerialScanner

            device = SerialScanner(
                "scan",
                url,
                options={"suffix": suffix, "trigger": trigger, "baudrate": baud},
                backoff=once,
            )
    except DeviceError as exc:
        fail(exc.reason, ExitCode.USAGE, as_json=as_json, error_code=exc.code)
    try:
        handle = device.read_code(timeout)
        code: ScannedCode = handle.wait(timeout + 5)
    except DeviceTimeoutError:
        fail(f"no code was read within {timeout:g} s", ExitCode.NO_CODE_FOUND, as_json=as_json)
    except DeviceError as exc:
        fail(
            f"{exc.code}: {exc.reason} — {exc.consequence}",
            exc.exit_code,
            as_json=as_json,
            error_code=exc.code,
        )
    finally:
        device.stop()
    return code


@emulate.command("scanner")
def emulate_scanner(
    *,
    payload: Annotated[
        list[str] | None, typer.Option(help="Text to scan once the port is open (repeatable).")
    ] = None,
    payload_hex: Annotated[
        list[str] | None, typer.Option(help="Binary payload as hex (repeatable).")
    ] = None,
    gb18030: Annotated[bool, typer.Option(help="Send text payloads as GB18030.")] = False,
    suffix: Annotated[str, typer.Option(help="cr, crlf, tab or none.")] = "cr",
    trigger: Annotated[str, typer.Option(help="none or honeywell.")] = "none",
    aim: Annotated[str, typer.Option(help="AIM id to prefix, e.g. Q1 (none by default).")] = "",
    delay: Annotated[float, typer.Option(help="Seconds before the first payload.")] = 1.0,
) -> None:
    """Emulate a serial code scanner on a new pty (first stdout line: the path)."""
    from devices.scanner.emulator import PtyScanner, ScannerEmulator
    from devices.scanner.protocol import Suffix

    try:
        emu = ScannerEmulator(suffix=Suffix(suffix), trigger=trigger, aim=aim)
        binaries = [bytes.fromhex(h) for h in payload_hex or []]
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    codec = "gb18030" if gb18030 else "utf-8"
    pty = PtyScanner(emu)
    sys.stdout.write(pty.path + "\n")
    sys.stdout.flush()
    stop = threading.Event()
    try:
        if not stop.wait(delay):
            for text in payload or []:
                emu.present(text.encode(codec))
            for raw in binaries:
                emu.present(raw)
        for line in sys.stdin:
            cmd, _, arg = line.strip().partition(" ")
            if cmd == "quit":
                break
            if cmd == "scan" and arg:
                emu.present(arg.encode(codec))
            elif cmd == "scanhex" and arg:
                try:
                    emu.present(bytes.fromhex(arg))
                except ValueError:
                    err.print("scanhex needs hex digits")
            elif cmd:
                err.print(f"unknown command {cmd!r} (scan TEXT, scanhex HEX, quit)")
        else:
            stop.wait()  # stdin closed: keep serving until interrupted
    except KeyboardInterrupt:
        pass
    finally:
        pty.close()
