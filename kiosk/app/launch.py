"""``kiosk run``: the home screen first, then the validated settings, then the services.

Start-up order, chosen so a citizen sees the kiosk as early as the machine allows:

1. The configuration layers are read and merged without validation (:mod:`config.layers`;
   no pydantic, no typer, no rich) and give :class:`~config.layers.UiHints`: language,
   mode, full screen, elder mode.
2. The QApplication and the window are created and the home screen is drawn from the
   shipped catalogue (every service "正在启动…").
3. The settings are validated (:func:`config.loader.build`, ~200 ms of CPU for pydantic
   alone). An invalid configuration closes the window and exits with the config error's
   message and exit code 3, exactly as the CLI does. Valid settings win over the hints
   (language and elder mode are re-applied if a value needed coercion); the technician PIN
   is only taken from them — until then the gesture opens nothing.
4. The event loop starts; its first turn boots the runtime (devices, platform link, outbox,
   flows), after which the services become available.

systemd: with ``NOTIFY_SOCKET`` set (``Type=notify``), ``STATUS=home screen shown`` is sent
after step 2 and ``READY=1`` after step 4, and ``STOPPING=1`` on the way out. The start-up
benchmark (bench/app.py) listens on that socket.

Both ways into ``kiosk run`` end here: :mod:`kiosk.entry` (the console script's fast path,
before typer is imported) and :func:`kiosk.cli.app_cmd.run` (the full CLI).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.exit_codes import ExitCode
from config.layers import ConfigError, gather_layers, merge_layers, ui_hints
from config.logs import setup_logging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """The options of ``kiosk [global options] run [--mode M] [--windowed]``."""

    config: Path | None = None
    site: Path | None = None
    overrides: list[str] = field(default_factory=list)
    log_level: str = "WARNING"
    mode: str | None = None
    windowed: bool = False


def notify(state: str) -> None:
    """Tell systemd (``NOTIFY_SOCKET``) how start-up goes; nothing without the variable."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError:
        log.warning("cannot notify the service manager")


def _config_error(exc: ConfigError) -> int:
    sys.stderr.write(f"config error: {exc}\n")
    return int(ExitCode.CONFIG_ERROR)


def run_kiosk(opts: RunOptions) -> int:
    """Run the kiosk app until it is told to stop; returns the process's exit code."""
    setup_logging(None, console_level=opts.log_level.upper())
    try:
        layers = gather_layers(
            site_file=opts.site, machine_file=opts.config, overrides=opts.overrides
        )
    except ConfigError as exc:
        return _config_error(exc)
    hints = ui_hints(merge_layers(layers)[0])
    full = hints.fullscreen and not opts.windowed

    from kiosk.app.qt_setup import application
    from kiosk.app.shell import KioskController
    from kiosk.app.tts import EspeakSpeaker

    app = application()
    speaker = EspeakSpeaker()
    validated: dict[str, Any] = {}  # the Settings, set before the event loop runs

    def runtime(post: Any) -> Any:
        from kiosk.runtime import Runtime  # after the first paint (see KioskController.start)

        return Runtime(validated["settings"], post, speak=speaker.say)

    controller = KioskController(
        runtime,
        speaker=speaker,
        mode=opts.mode or hints.mode,
        language=hints.language,
        elder=hints.elder,
        technician_pin=os.urandom(16).hex(),  # nobody's PIN until the settings are valid
    )
    if full:
        from PySide6.QtCore import Qt

        app.setOverrideCursor(Qt.CursorShape.BlankCursor)  # touch kiosks show no cursor
    controller.start(fullscreen=full, lockdown=full)  # the home screen is drawn on return
    notify("STATUS=home screen shown")

    from config.loader import build

    try:
        settings = build(layers).settings
    except ConfigError as exc:
        controller.stop()
        return _config_error(exc)
    if settings.platform.secret_file is None:
        controller.stop()
        sys.stderr.write("config error: platform.secret_file is not set (enrol the kiosk first)\n")
        return int(ExitCode.CONFIG_ERROR)
    cfg = settings.logging
    setup_logging(
        cfg.dir,
        level=cfg.level,
        max_bytes=cfg.max_bytes,
        backups=cfg.backups,
        console_level=opts.log_level.upper(),
    )
    controller.technician_pin = settings.ui.technician_pin
    controller.apply_preferences(
        language=settings.ui.language, elder=settings.ui.elder_mode_default
    )
    validated["settings"] = settings
    controller.started.connect(lambda: notify("READY=1"))
    quit_on_signals(app)
    app.exec()
    notify("STOPPING=1")
    controller.stop()
    speaker.close()
    return 0


def quit_on_signals(app: Any) -> None:
    """SIGTERM and Ctrl-C end the Qt loop (a timer lets Python run its signal handlers).

    ``exit``, not ``quit``: Qt 6's quit() first asks every window to close, and the kiosk
    window refuses to close (lockdown), which cancels the quit."""
    from PySide6.QtCore import QTimer

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: app.exit(0))
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)
