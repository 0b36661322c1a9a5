"""Printing benchmark: render and send a receipt to the virtual printer; generate a PDF.

Printed figures (median and 95th percentile over N runs, after one warm-up):

* ESC/POS render of the 受理回执 (80 mm) — document → bytes;
* render + send to the virtual printer over TCP on loopback and wait until the driver
  counts it as printed (DLE EOT before, the job, GS r and DLE EOT after — the whole
  live-status protocol, not only the write);
* one-page PDF of the 受理回执, A4 and 80 mm receipt (target ≤ 100 ms), with the one-off
  cost of loading the CJK TTF (once per process) shown separately.

The virtual printer runs in this process (its own threads); it writes no files here.
Run: ``.venv/bin/python -m bench.printing [--runs 30]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime

from devices.receipt.driver import EscPosPrinter
from devices.receipt.emulator import VirtualPrinter
from printing import documents
from printing.document import Document
from printing.escpos import render_escpos
from printing.pdf import render_pdf, warm_up

PDF_TARGET_MS = 100.0


def receipt() -> Document:
    return documents.acceptance_receipt(
        case_number="JN2026112800001",
        item_name="城乡居民基本养老保险参保登记",
        accepted_at=datetime(2026, 11, 28, 9, 30),
        kiosk_id="JN-LX-001",
        lookup_base_url="https://zwfw.example.gov.cn/q",
        applicant_name="王小明",
        promised_days=5,
    )


def measure(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    doc = receipt()

    start = time.perf_counter()
    warm_up()
    font_ms = (time.perf_counter() - start) * 1000

    med, p95 = measure(lambda: render_escpos(doc, width_mm=80), args.runs)
    print(f"ESC/POS render (80 mm receipt):        median {med:7.2f} ms   p95 {p95:7.2f} ms")

    vp = VirtualPrinter(None)
    host, port = vp.serve_tcp("127.0.0.1", 0)
    printer = EscPosPrinter("bench", f"socket://{host}:{port}", options={"poll_interval": 0})
    try:

        def send() -> None:
            result = printer.print_bytes(render_escpos(doc, width_mm=80), timeout=10).wait(15)
            assert result["printed"]

        med, p95 = measure(send, args.runs)
        print(f"render + send + status (TCP loopback): median {med:7.2f} ms   p95 {p95:7.2f} ms")
        print(f"  jobs received by the virtual printer: {len(vp.jobs)}")
    finally:
        printer.stop()
        vp.close()

    print(f"CJK TTF load (once per process):       {font_ms:7.2f} ms")
    for page in ("a4", "receipt80"):
        med, p95 = measure(lambda page=page: render_pdf(doc, page=page), args.runs)  # type: ignore[misc]
        verdict = "OK" if med <= PDF_TARGET_MS else "OVER TARGET"
        print(
            f"one-page PDF ({page:9s}):               median {med:7.2f} ms   p95 {p95:7.2f} ms"
            f"   target ≤ {PDF_TARGET_MS:.0f} ms: {verdict}"
        )


if __name__ == "__main__":
    main()
