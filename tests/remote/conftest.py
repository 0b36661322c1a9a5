"""The headless Chromium of the browser end-to-end tests (Playwright is imported only by the
tests that ask for it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.remote.alsa import AlsaFiles


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    from tests.remote.browser import CHROMIUM, CHROMIUM_ARGS, write_y4m

    assert shutil.which(CHROMIUM), "install chromium (scripts/setup.sh does)"
    camera = tmp_path / "green.y4m"
    write_y4m(camera)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def alsa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AlsaFiles:
    """A speaker and a microphone on ALSA's file plugin (tests/remote/alsa.py), for this
    test's process only."""
    from tests.remote.alsa import write_config

    files = write_config(tmp_path / "alsa")
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(files.config))
    monkeypatch.delenv("ALSA_CONFIG_DIR", raising=False)
    return files
