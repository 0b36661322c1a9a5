"""``kiosk queue``: the durable outbox — status, list, show, retry, dead letters, purge, keys.

Reads and writes the outbox file of the configured kiosk (``outbox.path``) through its own
SQLite connection, so it works while the kiosk runs (WAL). Payloads hold personal data: they
are shown only by ``show ID --reveal``; without it every value except a short list of
non-personal fields (item codes, levels, channels …) is masked. Exit codes:
``QUEUE_ITEM_NOT_FOUND`` for an unknown id, ``OUTBOX_ERROR`` when the outbox or its keys
cannot be used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from config import ExitCode
from kiosk.cli.common import fail, out, print_json, settings_of
from offline.errors import OutboxError
from offline.outbox import ItemState, Outbox, OutboxItem

app = typer.Typer(
    help="The durable outbox: status, list, show, retry, dead letters, purge.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
#: Payload fields that never hold personal data; every other value is masked. (Not "code":
#: in some bodies it is a scanned 鲁通码.)
UNMASKED_FIELDS = frozenset(
    {
        "item_code",
        "kiosk_id",
        "session_id",
        "source",
        "commitment",
        "required",
        "satisfaction",
        "code_order",
        "reasons",
        "channel",
        "id_type",
        "submitted_at",
        "assessed_at",
        "type",
        "at",
    }
)
MASK = "***"


def mask_payload(value: Any, key: str | None = None) -> Any:
    """Replace every leaf value whose key is not in :data:`UNMASKED_FIELDS` with ``***``."""
    if isinstance(value, dict):
        return {k: mask_payload(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_payload(v, key) for v in value]
    if key in UNMASKED_FIELDS and isinstance(value, str | int | float | bool | type(None)):
        return value
    return None if value is None else MASK


@contextmanager
def _outbox(ctx: typer.Context, as_json: bool) -> Iterator[Outbox]:
    cfg = settings_of(ctx).settings.outbox
    if not cfg.path.exists():
        fail(f"no outbox at {cfg.path} (outbox.path)", ExitCode.OUTBOX_ERROR, as_json=as_json)
    try:
        box = Outbox.from_config(cfg)
    except OutboxError as exc:
        fail(str(exc), exc.exit_code, as_json=as_json)
    try:
        yield box
    except OutboxError as exc:
        fail(str(exc), exc.exit_code, as_json=as_json)
    finally:
        box.close()


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def _table(items: list[OutboxItem], *, reasons: bool = False) -> Table:
    cols = ["id", "kind", "session", "state", "attempts", "created"]
    cols += ["reason"] if reasons else ["result / last error"]
    table = Table(*cols)
    for it in items:
        note = it.last_error or ""
        if not reasons and it.result:
            note = str(it.result.get("case_number") or it.result.get("evaluation_id") or "")
        table.add_row(
            str(it.id),
            it.kind,
            it.session_id[:12],
            str(it.state),
            str(it.attempts),
            _when(it.created_at),
            note,
        )
    return table


@app.command("status")
def status(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Counts per state, the offline window (accepting submissions or not, and why), keys."""
    with _outbox(ctx, json_) as box:
        counts = box.counts()
        window = box.accepting_submissions()
        doc = {
            "path": str(box.path),
            "counts": counts,
            "window": window.as_dict(),
            "current_key_id": box.keyring.current_id,
            "key_ids": box.keyring.key_ids,
        }
    if json_:
        print_json(doc)
        return
    out.print(f"outbox {doc['path']}")
    out.print(" ".join(f"{k}={v}" for k, v in counts.items()))
    if window.accepting:
        out.print("accepting submissions")
    else:
        out.print("[bold red]NOT accepting submissions:[/] " + "; ".join(window.reasons))
    out.print(f"sealing key {doc['current_key_id']} ({len(box.keyring.key_ids)} in the ring)")


@app.command("list")
def list_items(
    ctx: typer.Context,
    state: Annotated[
        ItemState | None, typer.Option(help="Only items in this state.", case_sensitive=False)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    json_: JsonOpt = False,
) -> None:
    """Items, newest first, without their payloads."""
    with _outbox(ctx, json_) as box:
        items = box.items(state=state, limit=limit)
    if json_:
        print_json({"items": [it.as_dict() for it in items]})
    else:
        out.print(_table(items))


@app.command("show")
def show(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(help="Item id (from `kiosk queue list`).")],
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show personal data in the payload.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """One item with its payload (personal data masked unless --reveal)."""
    with _outbox(ctx, json_) as box:
        item = box.get(item_id)
        payload = box.payload(item)
    doc = {**item.as_dict(), "payload": payload if reveal else mask_payload(payload)}
    if json_:
        print_json(doc)
        return
    for key, value in doc.items():
        if key != "payload":
            out.print(f"{key}: {value}")
    out.print("payload:" + ("" if reveal else " (masked; --reveal to show)"))
    out.print(json.dumps(doc["payload"], ensure_ascii=False, indent=2), markup=False)


@app.command("retry")
def retry(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(help="Item id of a dead or waiting item.")],
    json_: JsonOpt = False,
) -> None:
    """Put a dead (or backing-off) item back in line to be sent now."""
    with _outbox(ctx, json_) as box:
        item = box.retry(item_id)
    if json_:
        print_json({"ok": True, "item": item.as_dict()})
    else:
        out.print(f"item {item.id} is pending again")


@app.command("dead")
def dead(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Dead letters: items the platform refused (4xx), with the reason."""
    with _outbox(ctx, json_) as box:
        items = box.items(state=ItemState.DEAD, limit=10_000)
    if json_:
        print_json({"items": [it.as_dict() for it in items]})
    elif not items:
        out.print("no dead letters")
    else:
        out.print(_table(items, reasons=True))


@app.command("purge")
def purge(
    ctx: typer.Context,
    dead_: Annotated[bool, typer.Option("--dead", help="Also delete dead letters.")] = False,
    older_than_hours: Annotated[
        float | None,
        typer.Option(min=0, help="Age limit instead of outbox.retention_hours (0 = all)."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Delete delivered items past the retention (and dead ones with --dead); drop unused keys."""
    older = None if older_than_hours is None else older_than_hours * 3600.0
    with _outbox(ctx, json_) as box:
        n = box.purge(older_than_s=older, include_dead=dead_)
        keys = box.keyring.key_ids
    if json_:
        print_json({"ok": True, "deleted": n, "key_ids": keys})
    else:
        out.print(f"deleted {n} items; {len(keys)} sealing keys kept")


@app.command("rotate-key")
def rotate_key(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """Seal new items with a fresh key; old keys stay until no row needs them."""
    with _outbox(ctx, json_) as box:
        kid = box.keyring.rotate()
        keys = box.keyring.key_ids
    if json_:
        print_json({"ok": True, "current_key_id": kid, "key_ids": keys})
    else:
        out.print(f"new sealing key {kid}; {len(keys)} keys in the ring")
