"""``kiosk flows``: flow definitions — list, validate, show, run headless, graph.

``FLOW`` is a shipped flow id (``yjs.newborn``) or the path of a YAML/JSON flow document.
Exit codes: ``FLOW_INVALID`` (60) for an invalid document, ``FLOW_NOT_FOUND`` (61) for an
unknown flow id, item or a missing file, ``FLOW_EVENTS_INVALID`` (62) for a malformed events
file.

Events file (``run --events FILE``), YAML or JSON: either a list of events or a mapping
``{item: CODE, online: bool, devices: {role: bool}, events: [...]}``; each event is
``{type: NAME, …}`` as documented in :mod:`flows.events`. The output is the trace: for each
event, the screens shown and the effects asked for. Personal data in ``--json`` output is
masked unless ``--reveal``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from config import ExitCode
from kiosk.cli.common import fail, out, print_json

app = typer.Typer(
    help="Flow definitions: list, validate, show, run headless, graph.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _read(path: Path, as_json: bool) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}", ExitCode.FLOW_NOT_FOUND, as_json=as_json)


def _flows_with(flow_arg: str, as_json: bool) -> tuple[Any, dict[str, Any]]:
    """Resolve FLOW to (FlowDef, registry containing it)."""
    from flows.loader import FlowError, load_flow, shipped_flows

    try:
        registry = dict(shipped_flows())
    except FlowError as exc:
        fail(f"shipped flows are invalid:\n{exc}", ExitCode.FLOW_INVALID, as_json=as_json)
    if flow_arg in registry:
        return registry[flow_arg], registry
    path = Path(flow_arg)
    if path.suffix in (".yaml", ".yml", ".json") or "/" in flow_arg:
        try:
            flow = load_flow(_read(path, as_json), str(path))
        except FlowError as exc:
            fail(
                str(exc),
                ExitCode.FLOW_INVALID,
                as_json=as_json,
                problems=[_problem(p) for p in exc.problems],
            )
        registry[flow.id] = flow
        return flow, registry
    fail(
        f"no flow {flow_arg!r} (known: {', '.join(sorted(registry))})",
        ExitCode.FLOW_NOT_FOUND,
        as_json=as_json,
    )


def _problem(p: Any) -> dict[str, str]:
    return {"source": p.source, "path": p.path, "reason": p.reason}


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List the shipped flows and the catalogue items each one runs."""
    from flows.catalogue import shipped_catalogue
    from flows.loader import FlowError, shipped_flows

    try:
        flows = shipped_flows()
    except FlowError as exc:
        fail(f"shipped flows are invalid:\n{exc}", ExitCode.FLOW_INVALID, as_json=json_)
    catalogue = shipped_catalogue()
    rows: list[dict[str, Any]] = [
        {
            "id": f.id,
            "title": f.title.as_dict(),
            "steps": len(f.steps),
            "devices": list(f.devices),
            "needs_online": f.needs_online,
            "items": [it.code for it in catalogue.items_for_flow(f.id)],
        }
        for f in flows.values()
    ]
    if json_:
        print_json({"flows": rows})
        return
    for r in rows:
        out.print(
            f"{r['id']:<24} {r['title']['zh_CN']}  steps={r['steps']}  "
            f"items={','.join(r['items']) or '-'}"
        )


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="Flow document (YAML or JSON).")],
    json_: JsonOpt = False,
) -> None:
    """Validate a flow document: schema, reachability, dead ends, translations, expressions."""
    from flows.loader import FlowError, load_flow

    text = _read(file, json_)
    try:
        flow = load_flow(text, str(file))
    except FlowError as exc:
        if json_:
            fail(
                "invalid flow",
                ExitCode.FLOW_INVALID,
                as_json=True,
                problems=[_problem(p) for p in exc.problems],
            )
        for p in exc.problems:
            typer.echo(str(p), err=True)
        raise typer.Exit(int(ExitCode.FLOW_INVALID)) from None
    if json_:
        print_json({"ok": True, "flow": flow.id, "steps": len(flow.steps)})
    else:
        out.print(f"{file}: OK (flow {flow.id}, {len(flow.steps)} steps)")


@app.command("show")
def show(
    flow: Annotated[str, typer.Argument(help="Flow id or file.")], json_: JsonOpt = False
) -> None:
    """Show a flow's steps, branches, devices and the catalogue items that use it."""
    from flows.catalogue import shipped_catalogue

    fdef, _ = _flows_with(flow, json_)
    steps: list[dict[str, Any]] = [
        {
            "id": s.id,
            "type": s.type,
            "title": s.title.as_dict(),
            "when": s.when_source,
            "next": [{"goto": b.goto, "if": b.source} for b in s.next],
            **({"methods": list(s.methods)} if s.methods else {}),
            **({"fields": [f.id for f in s.fields]} if s.fields else {}),
            **({"request": s.request} if s.request else {}),
            **({"document": s.document, "printer": s.printer} if s.document else {}),
            **({"on_decline": s.on_decline} if s.on_decline else {}),
        }
        for s in fdef.steps
    ]
    items = [it.code for it in shipped_catalogue().items_for_flow(fdef.id)]
    doc = {
        "id": fdef.id,
        "title": fdef.title.as_dict(),
        "devices": list(fdef.devices),
        "needs_online": fdef.needs_online,
        "items": items,
        "steps": steps,
    }
    if json_:
        print_json(doc)
        return
    out.print(f"{fdef.id} — {fdef.title.zh_CN} / {fdef.title.en}")
    out.print(f"devices: {', '.join(fdef.devices) or '-'}; needs online: {fdef.needs_online}")
    out.print(f"items: {', '.join(items) or '-'}")
    for s in steps:
        nxt = ", ".join(
            f"{b['goto']} if {b['if']}" if b["if"] else str(b["goto"]) for b in s["next"]
        )
        when = f"  [when {s['when']}]" if s["when"] else ""
        out.print(f"  {s['id']:<12} {s['type']:<11} → {nxt or 'end'}{when}", markup=False)


def _load_events(path: Path, as_json: bool) -> tuple[list[Any], dict[str, Any]]:
    from flows.events import EventFormatError, parse_event

    try:
        doc = yaml.safe_load(_read(path, as_json))
    except yaml.YAMLError as exc:
        fail(f"{path}: not valid YAML/JSON: {exc}", ExitCode.FLOW_EVENTS_INVALID, as_json=as_json)
    options: dict[str, Any] = {}
    if isinstance(doc, dict):
        options = {k: v for k, v in doc.items() if k != "events"}
        doc = doc.get("events")
    if not isinstance(doc, list):
        fail(
            f"{path}: expected a list of events or a mapping with 'events'",
            ExitCode.FLOW_EVENTS_INVALID,
            as_json=as_json,
        )
    events = []
    for i, raw in enumerate(doc):
        try:
            events.append(parse_event(raw))
        except EventFormatError as exc:
            fail(f"{path}: event {i}: {exc}", ExitCode.FLOW_EVENTS_INVALID, as_json=as_json)
    return events, options


@app.command("run")
def run(
    flow: Annotated[str, typer.Argument(help="Flow id or file.")],
    events: Annotated[Path, typer.Option("--events", help="Events file (YAML or JSON).")],
    item: Annotated[str | None, typer.Option(help="Catalogue item code.")] = None,
    json_: JsonOpt = False,
    reveal: Annotated[bool, typer.Option(help="Show personal data in --json output.")] = False,
) -> None:
    """Run FLOW headless on scripted events; print the trace of screens and effects."""
    from flows.catalogue import CatalogItem, shipped_catalogue
    from flows.engine import FlowEngine
    from flows.headless import all_devices, run_events

    fdef, registry = _flows_with(flow, json_)
    evs, options = _load_events(events, json_)
    code = item or options.get("item")
    catalogue = shipped_catalogue()
    if code is not None:
        try:
            cat_item = catalogue.item(str(code))
        except KeyError:
            fail(f"no catalogue item {code!r}", ExitCode.FLOW_NOT_FOUND, as_json=json_)
    else:
        users = catalogue.items_for_flow(fdef.id)
        cat_item = (
            users[0]
            if users
            else CatalogItem(
                code="TEST-0001",
                name=fdef.title.zh_CN,
                name_en=fdef.title.en,
                category="query",
                flow=fdef.id,
            )
        )
    devices = all_devices()
    raw_devices = options.get("devices") or {}
    if not isinstance(raw_devices, dict):
        fail("'devices' must map roles to true/false", ExitCode.FLOW_EVENTS_INVALID, as_json=json_)
    devices.update({str(k): bool(v) for k, v in raw_devices.items()})
    engine = FlowEngine(registry)
    trace = run_events(
        engine, fdef.id, cat_item, evs, devices=devices, online=bool(options.get("online", True))
    )
    if json_:
        print_json(
            {
                "flow": fdef.id,
                "item": cat_item.code,
                "end": trace.end_reason,
                "active": engine.active,
                "trace": [e.as_dict(reveal=reveal) for e in trace.entries],
            }
        )
        return
    for entry in trace.compact()["trace"]:
        out.print(f"{entry['event']}", markup=False)
        for effect in entry["effects"]:
            out.print(f"    → {effect}", markup=False)
    out.print(f"session: {trace.end_reason or 'still running'}", markup=False)


@app.command("graph")
def graph(flow: Annotated[str, typer.Argument(help="Flow id or file.")]) -> None:
    """Print the flow as a Mermaid flowchart."""
    from flows.headless import mermaid

    fdef, _ = _flows_with(flow, False)
    typer.echo(mermaid(fdef), nl=False)
