"""Flow engine throughput: events processed per second on a long scripted session.

A full visit of 企业信息变更“一件事” (YJS-0001) is recorded with the autopilot, then padded at
the form step with many citizen inputs (valid and invalid phone numbers) and clock ticks, and
replayed on a fresh engine. Every event builds a new screen view-model, as in the kiosk.
Target: ≥ 10,000 events/s (the engine must never be what a citizen waits for).

Run: ``.venv/bin/python -m bench.flows [--padding N] [--rounds R]`` (as a module: run as a
script, ``bench/`` would come first on ``sys.path`` and this file would shadow ``flows``).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from flows import events as ev
from flows.catalogue import shipped_catalogue
from flows.engine import FlowEngine
from flows.headless import Autopilot, Policy, all_devices, run_events
from flows.loader import shipped_flows


def build_script(padding: int) -> list[ev.Event]:
    flows = shipped_flows()
    item = shipped_catalogue().item("YJS-0001")
    trace = Autopilot(Policy()).drive(FlowEngine(flows), item.flow, item, devices=all_devices())
    assert trace.end_reason == "finished"
    recorded = [
        dataclasses.replace(e.event, request_id=None) if isinstance(e.event, ev.Result) else e.event
        for e in trace.entries
        if e.event is not None
    ]
    at = next(i for i, e in enumerate(recorded) if isinstance(e, ev.Input))
    pad: list[ev.Event] = []
    for i in range(padding):
        pad.append(ev.Input("phone", "12345" if i % 2 else "17000009999"))
        pad.append(ev.Tick(float(i)))
    pad.append(ev.Input("phone", "17000009999"))
    return recorded[:at] + pad + recorded[at:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--padding", type=int, default=10_000, help="input+tick pairs added")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    flows = shipped_flows()
    item = shipped_catalogue().item("YJS-0001")
    script = build_script(args.padding)
    rates = []
    for _ in range(args.rounds):
        engine = FlowEngine(flows)
        start = time.perf_counter()
        trace = run_events(engine, item.flow, item, script, devices=all_devices(), online=True)
        elapsed = time.perf_counter() - start
        if trace.end_reason != "finished":
            raise SystemExit(f"the scripted session did not finish: {trace.end_reason}")
        rates.append(engine.events_processed / elapsed)
    print(f"events per session: {len(script)}")
    print(
        f"events/s: median {statistics.median(rates):,.0f}, "
        f"min {min(rates):,.0f}, max {max(rates):,.0f}"
    )
    print(f"target 10,000 events/s: {'met' if min(rates) >= 10_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
