"""Fixtures: the virtual printer on real TCP and pty transports, drivers pointed at it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.base import Backoff, DeviceEvent
from devices.receipt.driver import EscPosPrinter
from devices.receipt.emulator import VirtualPrinter

VECTORS = Path(__file__).resolve().parents[3].parent / "shared" / "vectors" / "escpos"


@pytest.fixture(scope="session")
def escpos_vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "escpos_vectors.json").read_text("utf-8"))
    return data


@pytest.fixture
def vprinter(tmp_path: Path) -> Iterator[VirtualPrinter]:
    printer = VirtualPrinter(tmp_path / "jobs")
    try:
        yield printer
    finally:
        printer.close()


@pytest.fixture
def tcp_url(vprinter: VirtualPrinter) -> str:
    host, port = vprinter.serve_tcp("127.0.0.1", 0)
    return f"socket://{host}:{port}"


@pytest.fixture
def pty_path(vprinter: VirtualPrinter) -> str:
    return vprinter.open_pty()


class Events:
    def __init__(self) -> None:
        self.items: list[DeviceEvent] = []

    def __call__(self, event: DeviceEvent) -> None:
        self.items.append(event)


@pytest.fixture
def make_printer() -> Iterator[Callable[..., EscPosPrinter]]:
    made: list[EscPosPrinter] = []

    def make(url: str, **options: Any) -> EscPosPrinter:
        opts = {"poll_interval": 0, "status_timeout": 1.0, **options}
        printer = EscPosPrinter(
            "receipt", url, Events(), options=opts, backoff=Backoff(base=0.05, cap=0.2)
        )
        made.append(printer)
        return printer

    try:
        yield make
    finally:
        for p in made:
            p.stop()
