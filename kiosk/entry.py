"""The ``kiosk`` console script.

``kiosk run`` is how a kiosk starts every morning, and a citizen may be standing in front of
it: a well-formed ``kiosk [--config F] [--site F] [--set K=V]… [--log-level L] run [--config F]
[--mode M] [--windowed]`` goes straight to :func:`kiosk.app.launch.run_kiosk`, which draws the home
screen before anything slow is imported (the full CLI alone — typer, rich, every command
module, pydantic — is ~400 ms of CPU). Everything else, including ``--help`` and any
malformed command line, goes to the full CLI (:mod:`kiosk.cli.main`), which also owns the
usage errors; the two accept the same ``run`` options (tests/kiosk/test_launch.py checks it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.app.launch import RunOptions


class _DeclinedError(Exception):
    """Not a plain ``run`` command line: the full CLI handles it."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _DeclinedError(message)


def run_options(argv: list[str]) -> RunOptions | None:
    """The options of a plain ``kiosk … run …`` command line, else None."""
    if "run" not in argv or any(a in ("-h", "--help") for a in argv):
        return None
    split = argv.index("run")
    root = _Parser(add_help=False, allow_abbrev=False)
    root.add_argument("--config", "-c", type=Path)
    root.add_argument("--site", type=Path)
    root.add_argument("--set", dest="overrides", action="append", default=[])
    root.add_argument("--log-level", default="WARNING")
    run = _Parser(add_help=False, allow_abbrev=False)
    run.add_argument("--config", "-c", type=Path)  # `kiosk run --config F`, as the issue has it
    run.add_argument("--mode")
    run.add_argument("--windowed", action="store_true", default=False)
    run.add_argument("--no-windowed", dest="windowed", action="store_false")
    try:
        g = root.parse_args(argv[:split])
        r = run.parse_args(argv[split + 1 :])
    except _DeclinedError:
        return None
    return RunOptions(
        config=r.config or g.config,
        site=g.site,
        overrides=list(g.overrides),
        log_level=g.log_level,
        mode=r.mode,
        windowed=r.windowed,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    opts = run_options(args)
    if opts is not None:
        from kiosk.app.launch import run_kiosk

        return run_kiosk(opts)
    from kiosk.cli.main import main as cli_main

    return cli_main(args)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
