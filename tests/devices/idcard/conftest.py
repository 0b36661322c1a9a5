"""Fixtures: an emulated reader behind a real pty, and drivers pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.base import Backoff
from devices.idcard.driver import SamIdCardReader
from devices.idcard.emulator import PtyPort, SamReaderEmulator, load_card
from tests.devices.idcard.helpers import Recorder


@pytest.fixture
def emulator() -> Iterator[SamReaderEmulator]:
    emu = SamReaderEmulator(load_card("resident"))
    try:
        yield emu
    finally:
        emu.close()


@pytest.fixture
def pty_port(emulator: SamReaderEmulator, tmp_path: Path) -> Iterator[PtyPort]:
    port = PtyPort(emulator, tmp_path / "ttyIDCARD")
    port.plug()
    try:
        yield port
    finally:
        port.close()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


ReaderFactory = Callable[..., SamIdCardReader]


@pytest.fixture
def make_reader(rec: Recorder) -> Iterator[ReaderFactory]:
    """Build readers (fast backoff); every reader built is stopped at the end."""
    built: list[SamIdCardReader] = []

    def make(url: str, **options: Any) -> SamIdCardReader:
        reader = SamIdCardReader(
            "idcard", url, rec, options=options, backoff=Backoff(base=0.05, cap=0.2)
        )
        built.append(reader)
        return reader

    try:
        yield make
    finally:
        for reader in built:
            reader.stop()
