"""Driver registry: a configured ``{driver, url, options}`` becomes a :class:`Device`.

Drivers are imported lazily so that a technician command touching one device class does
not pay for importing the others (OpenCV, for one, is slow to import).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from devices.base import Device, EventSink
from devices.errors import DeviceError, Remediation

#: driver name → "module:Class"
DRIVERS: dict[str, str] = {
    "idcard_sam": "devices.idcard.driver:SamIdCardReader",
    "receipt_escpos": "devices.receipt.driver:EscPosPrinter",
    "a4_cups": "devices.a4.driver:CupsPrinter",
    "a4_pdf_dir": "devices.a4.pdf_dir:PdfDirectoryPrinter",
    "scanner_serial": "devices.scanner.driver_serial:SerialScanner",
    "scanner_wedge": "devices.scanner.driver_wedge:WedgeScanner",
    "camera": "devices.camera.driver:FaceCamera",
    "document_camera": "devices.document_camera.driver:DocumentCamera",
}


def build_device(
    name: str,
    driver: str,
    url: str,
    on_event: EventSink | None = None,
    options: Mapping[str, Any] | None = None,
) -> Device:
    target = DRIVERS.get(driver)
    if target is None:
        raise DeviceError(
            f"no driver named {driver!r} (known: {', '.join(sorted(DRIVERS))})",
            code="unknown_driver",
            remediation=Remediation.CONFIGURATION,
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    device: Device = cls(name, url, on_event, options=options or {})
    return device
