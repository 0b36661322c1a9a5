"""``kiosk sandbox``: the reference central platform — serve it, enrol kiosks, inject faults.

``kiosk sandbox [--host 127.0.0.1] [--port 8765] [--db PATH|URL] [--fault SPEC]...
[--admin-token T] [--catalog FILE]`` serves the platform until Ctrl-C, printing its URL and
admin token; ``kiosk sandbox enrol --kiosk-id ID [--db …] [--secret-file PATH]`` creates a
kiosk's secret and writes it to a 0600 file. The sandbox package (FastAPI, uvicorn,
SQLAlchemy) is imported only when a command runs, so other ``kiosk`` commands stay fast.
Exit codes: ``CONFIG_ERROR`` for a bad option, catalogue file, fault spec or address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from config import ExitCode
from kiosk.cli.common import fail, out

app = typer.Typer(
    help="The reference central platform: serve, enrol kiosks, inject faults.",
    invoke_without_command=True,
    no_args_is_help=False,
)

DbOption = Annotated[
    str, typer.Option("--db", help="SQLite file path or SQLAlchemy URL of the platform database.")
]


@app.callback(invoke_without_command=True)
def serve_cmd(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).", min=0, max=65535)] = (
        8765
    ),
    db: DbOption = "var/sandbox.sqlite3",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject a fault: 'outage' or '[METHOD ]PATH:latency_ms=N,error_rate=R,"
            "drop_rate=R,drop_after_rate=R' (repeatable).",
        ),
    ] = None,
    admin_token: Annotated[
        str | None, typer.Option(help="Token for /admin/* (random when omitted).")
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Catalogue file (default: sandbox/seed/catalog.json).")
    ] = None,
) -> None:
    """Serve the sandbox platform until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from sandbox.seed import CatalogFileError
    from sandbox.server import SandboxSetupError, ServeOptions, serve

    try:
        serve(
            ServeOptions(
                host=host,
                port=port,
                db=db,
                faults=list(fault or []),
                admin_token=admin_token,
                catalog=catalog,
            )
        )
    except (SandboxSetupError, CatalogFileError) as exc:
        fail(str(exc), ExitCode.CONFIG_ERROR)


@app.command("enrol")
def enrol_cmd(
    kiosk_id: Annotated[str, typer.Option("--kiosk-id", help="The kiosk's id.")],
    db: DbOption = "var/sandbox.sqlite3",
    secret_file: Annotated[
        Path | None,
        typer.Option(help="Where to write the secret (0600); default var/<kiosk-id>.secret."),
    ] = None,
) -> None:
    """Enrol a kiosk: create its secret in the platform database and a 0600 file."""
    from sandbox.server import SandboxSetupError, enrol

    path = secret_file or Path("var") / f"{kiosk_id}.secret"
    try:
        enrol(db, kiosk_id, path)
    except SandboxSetupError as exc:
        fail(str(exc), ExitCode.CONFIG_ERROR)
    out.print(f"enrolled {kiosk_id}; secret written to {path} (mode 0600)")
