"""``kiosk queue``: The durable outbox: status, list, show, retry, dead letters, purge."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The durable outbox: status, list, show, retry, dead letters, purge.", no_args_is_help=True
)
