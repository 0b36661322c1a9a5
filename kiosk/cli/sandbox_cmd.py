"""``kiosk sandbox``: The reference central platform: serve, enrol kiosks, inject faults."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The reference central platform: serve, enrol kiosks, inject faults.", no_args_is_help=True
)
