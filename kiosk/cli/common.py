"""Shared pieces of the technician CLI: global options, settings, output, error exits.

Output contract: with ``--json`` a command prints exactly one JSON document on stdout and
nothing else there; messages and errors go to stderr. Colour is used only on a terminal
(rich decides; ``NO_COLOR`` is honoured). Every failure exits with a code from
:class:`config.exit_codes.ExitCode`, never with a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import typer
from rich.console import Console

from config import ConfigError, ExitCode, LoadedSettings, load_settings

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


def serve_line_commands(
    handle: Callable[[str, list[str]], str | None],
    *,
    announce: Callable[[], None],
    cleanup: Callable[[], None],
) -> None:
    """Serve an emulator until Ctrl-C, SIGTERM or a ``quit`` line on stdin, then ``cleanup``.

    ``announce`` (print the emulator's address) runs once SIGTERM is handled, so a caller
    that stops the emulator as soon as it knows the address still gets a clean stop.

    Every other non-empty stdin line is split into a command and its arguments and given to
    ``handle``, whose answer ("ok" when it returns None) is written as one line on stdout; a
    ValueError, KeyError, TypeError or OSError is answered as ``error: …``. stdin closing does
    not stop the emulator (it may run in the background with stdin from /dev/null).
    """
    stop = threading.Event()

    def on_term(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_term)
    announce()

    def answer(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def serve_stdin() -> None:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            cmd, args = words[0].lower(), words[1:]
            if cmd == "quit":
                stop.set()
                return
            try:
                reply = handle(cmd, args)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                answer(f"error: {exc}")
                continue
            answer("ok" if reply is None else reply)

    threading.Thread(target=serve_stdin, name="emulator-stdin", daemon=True).start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        cleanup()
