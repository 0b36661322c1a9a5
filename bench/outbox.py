"""Outbox benchmark: durable enqueue rate vs a bare SQLite loop, and drain rate to the sandbox.

Run: ``.venv/bin/python -m bench.outbox [--items N] [--drain-items M] [--workers W]``

1. *Enqueue*: ``Outbox.enqueue`` of ~2 KB case payloads (JSON encoding, AES-GCM sealing,
   INSERT, commit with ``synchronous=FULL``) next to a bare loop that INSERTs a 2 KB blob and
   commits, in WAL mode with the same ``synchronous`` setting, on the same disk. The two
   alternate over several rounds and the medians are compared (target: ratio ≥ 0.8).
2. *Drain*: the real sandbox process on loopback (started via tests/sandbox_process.py and
   stopped by PID), M items of 2 KB across many sessions, the sender delivering them; items/s
   from the sender's start to the last delivery (target ≥ 200 items/s).

Figures are printed; this machine's fsync is cheap, real kiosk storage is slower.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from offline.client import Answer, PlatformClient
from offline.outbox import ItemDelivered, Outbox, OutboxEvent
from offline.sealing import KeyRing
from offline.sender import Sender

ITEM_BYTES = 2048


def payload(rng: random.Random, kiosk_id: str = "kiosk-bench") -> dict[str, Any]:
    """A case submission whose JSON is ITEM_BYTES long (synthetic data only)."""
    doc: dict[str, Any] = {
        "item_code": "YJS-0009",
        "kiosk_id": kiosk_id,
        "session_id": f"s{rng.randint(0, 10**9)}",
        "applicant": {
            "id_type": "resident",
            "id_number": "11010519491231002X",
            "name": "测试甲",
            "phone": "13900000000",
        },
        "form": {"note": ""},
        "materials": [],
        "submitted_at": "2026-11-28T10:00:00+08:00",
    }
    size = len(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())
    doc["form"]["note"] = "x" * (ITEM_BYTES - size)
    return doc


def bare_loop(path: Path, n: int) -> float:
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE,"
        " s TEXT, b BLOB, c REAL)"
    )
    blob = os.urandom(ITEM_BYTES)
    start = time.perf_counter()
    for i in range(n):
        db.execute(
            "INSERT INTO t (k, s, b, c) VALUES (?, ?, ?, ?)",
            (f"{start}-{i}", "s", blob, time.time()),
        )
    elapsed = time.perf_counter() - start
    db.close()
    return n / elapsed


def outbox_loop(box: Outbox, n: int, rng: random.Random) -> float:
    items = [payload(rng) for _ in range(n)]
    start = time.perf_counter()
    for i, item in enumerate(items):
        box.enqueue("case", f"s{i % 50}", item)
    return n / (time.perf_counter() - start)


def bench_enqueue(n: int, rounds: int) -> tuple[float, float, float]:
    """Medians of (bare rate, outbox rate, per-round ratio); the loops alternate each round
    so that both see the same disk and machine load."""
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="bench-outbox-", dir=".") as tmp:
        d = Path(tmp)
        box = Outbox(
            d / "outbox.sqlite3", KeyRing.load_or_create(d / "outbox.key"), max_pending=10**9
        )
        bare, durable, ratios = [], [], []
        try:
            outbox_loop(box, 50, rng)  # warm up both
            bare_loop(d / "bare.sqlite3", 50)
            for _ in range(rounds):
                b = bare_loop(d / "bare.sqlite3", n)
                o = outbox_loop(box, n, rng)
                bare.append(b)
                durable.append(o)
                ratios.append(o / b)
        finally:
            box.close()
    return statistics.median(bare), statistics.median(durable), statistics.median(ratios)


def bench_sealing_cost(n: int) -> float:
    """Microseconds per item that enqueue adds before its INSERT: JSON encoding and sealing."""
    rng = random.Random(4)
    items = [payload(rng) for _ in range(n)]
    with tempfile.TemporaryDirectory(prefix="bench-seal-", dir=".") as tmp:
        ring = KeyRing.load_or_create(Path(tmp) / "outbox.key")
        start = time.perf_counter()
        for item in items:
            plain = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
            ring.seal(plain, b"aad")
        return (time.perf_counter() - start) / n * 1e6


def bench_sender_capacity(n: int, workers: int, latency_s: float) -> float:
    """Items/s the sender itself sustains when each platform call takes ``latency_s`` (a stub
    client: no network), to tell the sender's limits from the platform's."""

    class StubClient(PlatformClient):
        def request(self, *args: Any, **kwargs: Any) -> Answer:
            time.sleep(latency_s)
            return Answer(201, {"case_number": "JN0", "status": "received"}, {}, b"")

    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="bench-sender-", dir=".") as tmp:
        d = Path(tmp)
        box = Outbox(
            d / "outbox.sqlite3", KeyRing.load_or_create(d / "outbox.key"), max_pending=10**9
        )
        client = StubClient("http://127.0.0.1:9", "kiosk-bench", "unused")
        try:
            return _drain(box, client, n, workers=workers, rng=rng, kiosk="kiosk-bench")
        finally:
            client.close()
            box.close()


def _drain(
    box: Outbox, client: PlatformClient, n: int, *, workers: int, rng: random.Random, kiosk: str
) -> float:
    for i in range(n):
        box.enqueue("case", f"sess-{i % 200}", payload(rng, kiosk))
    done = threading.Event()
    delivered = 0

    def on_event(ev: OutboxEvent) -> None:
        nonlocal delivered
        if isinstance(ev, ItemDelivered):
            delivered += 1
            if delivered == n:
                done.set()

    box.add_listener(on_event)
    sender = Sender(box, client, workers=workers, tick_s=0.2)
    start = time.perf_counter()
    sender.start()
    finished = done.wait(600)
    elapsed = time.perf_counter() - start
    sender.stop()
    counts = box.counts()
    if not finished or counts["delivered"] != n:
        raise SystemExit(f"drain incomplete: {counts}")
    return n / elapsed


def bench_drain(n: int, workers: int) -> float:
    from tests.sandbox_process import start_sandbox

    rng = random.Random(2)
    sb = start_sandbox(kiosk_id="kiosk-bench")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-drain-", dir=".") as tmp:
            d = Path(tmp)
            box = Outbox(
                d / "outbox.sqlite3", KeyRing.load_or_create(d / "outbox.key"), max_pending=10**9
            )
            client = PlatformClient(sb.url, sb.kiosk_id, sb.secret, pool_size=workers + 2)
            try:
                rate = _drain(box, client, n, workers=workers, rng=rng, kiosk=sb.kiosk_id)
            finally:
                client.close()
                box.close()
            platform_cases = sb.stats()["cases"]
            if platform_cases != n:
                raise SystemExit(f"platform holds {platform_cases} cases, expected {n}")
            return rate
    finally:
        sb.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500, help="items per enqueue round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--drain-items", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4, help="sender workers")
    args = parser.parse_args()

    bare, durable, ratio = bench_enqueue(args.items, args.rounds)
    print(f"item size: {ITEM_BYTES} bytes; SQLite {sqlite3.sqlite_version}, WAL, synchronous=FULL")
    print(f"bare SQLite insert+commit loop:   {bare:7.0f} rows/s  (median of {args.rounds})")
    print(f"Outbox.enqueue (sealed, durable): {durable:7.0f} items/s (median of {args.rounds})")
    print(f"ratio (median of per-round ratios): {ratio:.2f}  (target >= 0.80)")
    print(f"encode + seal per item (CPU, no I/O): {bench_sealing_cost(5000):.1f} µs")
    cap = bench_sender_capacity(args.drain_items, args.workers, 0.002)
    print(
        f"sender capacity, stub platform answering in 2 ms: {cap:.0f} items/s "
        f"({args.workers} workers)"
    )
    rate = bench_drain(args.drain_items, args.workers)
    print(
        f"drain to the sandbox on loopback: {rate:.0f} items/s "
        f"({args.drain_items} items, {args.workers} workers; target >= 200)"
    )


if __name__ == "__main__":
    main()
