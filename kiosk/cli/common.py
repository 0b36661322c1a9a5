"""Shared pieces of the technician CLI: global options, settings, output, error exits.

Output contract: with ``--json`` a command prints exactly one JSON document on stdout and
nothing else there; messages and errors go to stderr. Colour is used only on a terminal
(rich decides; ``NO_COLOR`` is honoured). Every failure exits with a code from
:class:`config.exit_codes.ExitCode`, never with a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from config import ConfigError, ExitCode, LoadedSettings, load_settings
from config.logs import setup_logging

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class CliState:
    config: Path | None = None
    site: Path | None = None
    overrides: list[str] = field(default_factory=list)
    log_level: str = "WARNING"
    _loaded: LoadedSettings | None = None

    def load(self) -> LoadedSettings:
        if self._loaded is None:
            self._loaded = load_settings(
                site_file=self.site, machine_file=self.config, overrides=self.overrides
            )
        return self._loaded


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def settings_of(ctx: typer.Context) -> LoadedSettings:
    return state(ctx).load()


def start_file_logging(ctx: typer.Context) -> None:
    """Long-running commands (run, demo, sandbox, watch) also log JSON lines to a file."""
    cfg = settings_of(ctx).settings.logging
    setup_logging(
        cfg.dir,
        level=cfg.level,
        max_bytes=cfg.max_bytes,
        backups=cfg.backups,
        console_level=state(ctx).log_level,
    )


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: ExitCode, *, as_json: bool = False, **extra: Any) -> NoReturn:
    """Report an error (stderr, or a JSON document on stdout with --json) and exit."""
    if as_json:
        print_json({"ok": False, "error": message, "exit_code": int(code), **extra})
    else:
        err.print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(int(code))


def config_error_exit(error: ConfigError) -> NoReturn:
    err.print(f"[bold red]config error:[/] {error}", markup=True)
    raise typer.Exit(int(ExitCode.CONFIG_ERROR))
