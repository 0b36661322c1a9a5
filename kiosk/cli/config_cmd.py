"""``kiosk config check|show``: validate the layered configuration; show where keys came from."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kiosk.cli.common import out, print_json, settings_of

app = typer.Typer(help="Check and show the layered configuration.", no_args_is_help=True)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Validate every layer; exit 3 naming the file, key and reason if something is wrong."""
    loaded = settings_of(ctx)
    out.print(f"configuration OK ({len(loaded.settings.devices)} devices)")


SECRET_KEYS = ("technician_pin", "key_b64", "retired_keys_b64", "secret")


def _masked(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: ("***" if any(s in k for s in SECRET_KEYS) and v else _masked(v))
            for k, v in data.items()
        }
    return data


@app.command("show")
def show(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reveal: Annotated[bool, typer.Option(help="Show PINs and keys as they are.")] = False,
) -> None:
    """Print the effective settings and, for each key, the layer that set it."""
    loaded = settings_of(ctx)
    data = loaded.settings.model_dump(mode="json")
    if not reveal:
        data = _masked(data)
    if json_:
        print_json({"settings": data, "provenance": loaded.provenance})
        return
    for key in sorted(loaded.provenance):
        out.print(f"{key} ← {loaded.provenance[key]}")
