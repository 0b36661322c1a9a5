"""``kiosk run`` and ``kiosk demo``: the citizen-facing app.

Qt is imported inside the commands, never at module level, so the rest of the CLI starts
fast. ``demo`` starts the sandbox platform and the emulated devices (kiosk.demo_env), the
kiosk in a window and the developer panel. Without a display it runs offscreen, writes a PNG
of every main screen (the same as ``--screenshots``) and exits; with ``--screenshots DIR`` it
always does that.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from config import ExitCode
from kiosk.cli.common import err, out, state


def run(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Machine config file (TOML); as the global option."),
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="kiosk (citizen self-service) or window (staffed).")
    ] = None,
    windowed: Annotated[
        bool, typer.Option(help="Not full screen, no lockdown (for development).")
    ] = False,
) -> None:
    """Run the kiosk app with the configured devices and platform."""
    from kiosk.app.launch import RunOptions, run_kiosk

    cli = state(ctx)
    code = run_kiosk(
        RunOptions(
            config=config or cli.config,
            site=cli.site,
            overrides=list(cli.overrides),
            log_level=cli.log_level,
            mode=mode,
            windowed=windowed,
        )
    )
    if code:
        raise typer.Exit(code)


def demo(
    screenshots: Annotated[
        Path | None,
        typer.Option(help="Write a PNG of every main screen to DIR, then exit."),
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep the demo's data here (default: a temp dir).")
    ] = None,
) -> None:
    """The whole product in a minute: platform, emulated devices, kiosk and developer panel.

    Starts the sandbox platform, emulated ID-card reader, scanner and printers, the kiosk
    app in a window and a developer panel to place cards, scan codes, jam the printer and
    cut the network. Without a display it writes screenshots of every main screen."""
    headless = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    from kiosk.app.devpanel import DevPanel
    from kiosk.app.launch import quit_on_signals
    from kiosk.app.qt_setup import application
    from kiosk.app.shell import KioskController
    from kiosk.app.tour import DriveError, screenshot_tour
    from kiosk.demo_env import DemoEnvironment
    from kiosk.runtime import Runtime

    app = application(offscreen=headless or screenshots is not None)
    with DemoEnvironment(workdir) as env:
        out.print("starting the sandbox platform and the emulated devices…")
        settings = env.start()
        out.print(f"platform: {settings.platform.url}   printed receipts: {env.printer_dir}")
        controller = KioskController(lambda post: Runtime(settings, post))
        if headless or screenshots is not None:
            target = screenshots or Path("var/demo-screenshots")
            if headless and screenshots is None:
                out.print("no display: running offscreen and writing screenshots instead")
            controller.start()
            try:
                shots = screenshot_tour(controller, env, target)
            except DriveError as exc:
                err.print(f"[bold red]the demo tour stopped:[/] {exc}", markup=True)
                raise typer.Exit(int(ExitCode.UNEXPECTED)) from exc
            finally:
                controller.stop()
            for shot in shots:
                out.print(f"  {shot}")
            out.print(f"{len(shots)} screenshots in {target}")
            return
        panel = DevPanel(env)
        controller.start()
        panel.move(controller.window.x() + controller.window.width() + 10, controller.window.y())
        panel.show()
        quit_on_signals(app)
        out.print("the kiosk is running; close the developer panel or press Ctrl-C to stop")
        app.setQuitOnLastWindowClosed(True)
        app.exec()
        controller.stop()
