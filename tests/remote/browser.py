"""Shared by the browser end-to-end tests: headless Debian Chromium with a fake camera
(a green y4m) and microphone, and the assistant console's login. The ``browser`` fixture
itself is in conftest.py."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.sandbox_process import SandboxProcess

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/setup.sh); never `playwright install`
WAIT_MS = 20_000
RED = (220, 30, 30)
GREEN_YUV = (150, 44, 21)  # Y, U, V of a green picture (BT.601)
CHROMIUM_ARGS = (
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: the centre pixel of the kiosk's video in the console is red (page JS, for wait_for_function)
CENTRE_IS_RED = (
    "() => { const p = centerPixel(); return p && p[0] > 170 && p[1] < 80 && p[2] < 80; }"
)
FRAMES_DECODED = "async () => (await inbound())?.framesDecoded > 0"


def write_y4m(path: Path, width: int = 320, height: int = 240, frames: int = 5) -> None:
    y, u, v = GREEN_YUV
    header = f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode()
    quarter = width * height // 4
    frame = b"FRAME\n" + bytes([y]) * (width * height) + bytes([u]) * quarter + bytes([v]) * quarter
    path.write_bytes(header + frame * frames)


def is_green(rgb: tuple[int, ...]) -> bool:
    """The browser's fake camera as the kiosk decodes it."""
    r, g, b = rgb[:3]
    return g > 120 and r < 90 and b < 110


def login(browser: Browser, sandbox: SandboxProcess, aid: str) -> Page:
    page = browser.new_page()
    page.goto(sandbox.url + "/assist/console/")
    page.fill("#aid", aid)
    page.fill("#pw", "pw-" + aid * 4)
    page.click("#login")
    page.wait_for_selector("text=已连接", timeout=WAIT_MS)
    page.check("#ready")
    return page
