"""``kiosk flows``: Flow definitions: list, validate, show, run headless, graph."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Flow definitions: list, validate, show, run headless, graph.", no_args_is_help=True
)
