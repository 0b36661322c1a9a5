"""Benchmark: code decoding in camera frames, and serial scan-to-event latency.

Printed figures:

* decode time per 640×480 frame for zxing-cpp and pyzbar (median and p95 over the generated
  hard set, on an empty frame, and inside a centred ROI of half the width and height);
* detection rates of zxing-cpp, pyzbar and both (zxing-cpp then pyzbar) on a generated set
  of hard images (rotated, 2–5 px modules, blurred, noisy, cluttered, low contrast) —
  ``tests/devices/scanner/images.py`` makes them, seeded, so runs are comparable;
* time from the last byte of a serial scan to the ``CodeScanned`` event (target ≤ 5 ms):
  bytes written to a real pty's master, the driver reading the slave; and over ``sim://``;
* CPU share of one core used by an idle serial scanner (the worker's blocking reads).

Run: ``.venv/bin/python -m bench.scanning [--hard 60] [--scans 200] [--idle 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import tty
from collections.abc import Callable

import numpy as np

from devices.base import DeviceEvent, DeviceState
from devices.camera_codes.decode import ChainDecoder, FrameDecoder, PyzbarDecoder, Roi, ZxingDecoder
from devices.camera_codes.decode import to_gray as gray_of
from devices.scanner.core import CodeScanned
from devices.scanner.driver_serial import SerialScanner
from devices.scanner.emulator import ScannerEmulator
from devices.sim import register_instance, unregister_instance
from tests.devices.scanner.images import Hardness, frame_with_code, hard_set


def _ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"median {statistics.median(values) * 1e3:7.2f} ms   p95 {p95 * 1e3:7.2f} ms"


def _time_decode(
    decoder: FrameDecoder, frames: list[np.ndarray], repeat: int = 1
) -> tuple[list[float], list[float]]:
    """Wall and CPU (this process) seconds per decode; CPU time is what a shared, loaded
    machine distorts least."""
    wall, cpu = [], []
    for _ in range(repeat):
        for g in frames:
            c0, t0 = time.process_time(), time.perf_counter()
            decoder.decode(g)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return wall, cpu


def _both(times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    return f"wall {_ms(wall)}   cpu median {statistics.median(cpu) * 1e3:7.2f} ms"


def bench_decoding(n_hard: int) -> None:
    hard = hard_set(n_hard)
    grays = [gray_of(f) for _, f in hard]
    easy = [
        gray_of(frame_with_code("JN2026112800001", Hardness(noise=10), seed=i)) for i in range(10)
    ]
    empty = [
        gray_of(frame_with_code(None, Hardness(noise=20, clutter=True), seed=i)) for i in range(10)
    ]
    roi = Roi(0.25, 0.25, 0.5, 0.5)
    centred = [
        roi.crop(gray_of(frame_with_code("JN2026112800001", Hardness(noise=10), seed=i)))
        for i in range(10)
    ]
    decoders: list[tuple[str, FrameDecoder]] = [
        ("zxing", ZxingDecoder()),
        ("pyzbar", PyzbarDecoder()),
        ("zxing[all]", ZxingDecoder(["all"])),
        ("pyzbar[all]", PyzbarDecoder(["all"])),
    ]
    print("== decode time per 640x480 frame (QR only = the default; [all] = every symbology)")
    for label, d in decoders:
        d.decode(easy[0])  # warm-up
        print(f"  {label:11s} easy code   {_both(_time_decode(d, easy, 3))}")
        print(f"  {label:11s} hard set    {_both(_time_decode(d, grays))}")
        print(f"  {label:11s} no code     {_both(_time_decode(d, empty, 3))}")
        print(f"  {label:11s} ROI 320x240 {_both(_time_decode(d, centred, 3))}")
    print(f"== detection rate on {n_hard} generated hard images")
    rated = [*decoders[:2], ("both", ChainDecoder(ZxingDecoder(), PyzbarDecoder()))]
    for label, d in rated:
        hits = sum(
            1
            for (text, _), g in zip(hard, grays, strict=True)
            if any(s.raw == text.encode() for s in d.decode(g))
        )
        false = sum(1 for g in empty if d.decode(g))
        print(
            f"  {label:11s} {hits:3d}/{n_hard} ({100 * hits / n_hard:5.1f} %)"
            f"   false detections on {len(empty)} empty frames: {false}"
        )


class _Latency:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()

    def __call__(self, event: DeviceEvent) -> None:
        if isinstance(event, CodeScanned) and event.code.text is not None:
            now = time.perf_counter()
            with self.cond:
                self.arrived[event.code.text] = now
                self.cond.notify_all()

    def wait(self, text: str, timeout: float = 2.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: text in self.arrived, timeout):
                raise RuntimeError("scan was not reported")
            return self.arrived[text]


def _measure(scans: int, send: Callable[[bytes], float], lat: _Latency) -> list[float]:
    out = []
    for i in range(scans):
        text = f"LTM1.bench-{i:06d}-abcdefghijklmnopqrstuvwxyz"
        sent = send(text.encode() + b"\r")
        out.append(lat.wait(text) - sent)
        time.sleep(0.01)
    return out


def bench_latency(scans: int, idle_s: float) -> None:
    print("== last byte of a serial scan -> CodeScanned event (target <= 5 ms)")
    master, slave = os.openpty()
    tty.setraw(slave)
    lat = _Latency()
    dev = SerialScanner("bench", os.ttyname(slave), lat, options={"duplicate_window_ms": 0})
    try:
        dev.start()
        while dev.status.state != DeviceState.ONLINE:
            time.sleep(0.01)
        time.sleep(0.1)

        def to_pty(data: bytes) -> float:
            os.write(master, data)
            return time.perf_counter()

        print(f"  pty      ({scans} scans)  {_ms(_measure(scans, to_pty, lat))}")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        time.sleep(idle_s)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        print(f"== idle serial scanner: {100 * cpu:.2f} % of one core over {idle_s:g} s")
    finally:
        dev.stop()
        os.close(master)
        os.close(slave)

    emu = ScannerEmulator(baudrate=None)
    register_instance("bench", lambda: emu)
    lat = _Latency()
    dev = SerialScanner(
        "bench", "sim://scanner?instance=bench", lat, options={"duplicate_window_ms": 0}
    )
    try:
        dev.start()
        while dev.status.state != DeviceState.ONLINE:
            time.sleep(0.01)

        def to_sim(data: bytes) -> float:
            emu.to_host.write(data)
            return time.perf_counter()

        print(f"  sim://   ({scans} scans)  {_ms(_measure(scans, to_sim, lat))}")
    finally:
        dev.stop()
        unregister_instance("bench")
        emu.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hard", type=int, default=60, help="hard images to generate")
    parser.add_argument("--scans", type=int, default=200, help="serial scans to time")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU sampling")
    args = parser.parse_args()
    bench_decoding(args.hard)
    bench_latency(args.scans, args.idle)


if __name__ == "__main__":
    main()
