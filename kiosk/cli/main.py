"""Entry point of the ``kiosk`` command.

Sub-commands live in their own modules and are attached here. Nothing heavy is imported
at module level (no Qt, no OpenCV, no HTTP server) so ``kiosk devices …`` starts fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from config import ConfigError, ExitCode
from config.logs import setup_logging
from devices.errors import DeviceError
from kiosk.cli import app_cmd, config_cmd, devices, flows_cmd, queue_cmd, sandbox_cmd
from kiosk.cli.common import CliState, err

app = typer.Typer(
    name="kiosk",
    help="Quanban Kiosk (全办自助终端): run the kiosk, and install, diagnose and repair it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run")(app_cmd.run)
app.command("demo")(app_cmd.demo)
app.add_typer(devices.app, name="devices")
app.add_typer(config_cmd.app, name="config")
app.add_typer(queue_cmd.app, name="queue")
app.add_typer(flows_cmd.app, name="flows")
app.add_typer(sandbox_cmd.app, name="sandbox")


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Machine config file (TOML); env KIOSK_CONFIG."),
    ] = None,
    site: Annotated[
        Path | None, typer.Option(help="Site config file (TOML); env KIOSK_SITE_CONFIG.")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override one setting, e.g. --set ui.language=en."),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="Console log level (DEBUG, INFO, WARNING, ERROR).")
    ] = "WARNING",
) -> None:
    ctx.obj = CliState(config=config, site=site, overrides=list(set_ or []), log_level=log_level)
    setup_logging(None, console_level=log_level.upper())


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; translate our error types into messages and exit codes."""
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        return int(ExitCode.UNEXPECTED)
    except typer.TyperException as exc:  # usage errors: bad option, unknown command
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(str(exc))
        return int(getattr(exc, "exit_code", ExitCode.USAGE))
    except ConfigError as exc:
        err.print(f"[bold red]config error:[/] {exc}", markup=True)
        return int(ExitCode.CONFIG_ERROR)
    except DeviceError as exc:
        err.print(f"[bold red]{exc.code}:[/] {exc.reason} — {exc.consequence}", markup=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except Exception:
        logging.getLogger("kiosk.cli").exception("unexpected failure")
        err.print("[bold red]unexpected failure[/] (details in the log)", markup=True)
        return int(ExitCode.UNEXPECTED)
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
