"""Benchmark of the kiosk app (offscreen Qt): cold start, step transitions, memory.

Prints:
* cold start to the home screen: ``kiosk run`` as a new process (``python -m kiosk.entry
  --config machine.toml run --windowed``, the console script's own code) until it reports
  the home screen drawn, next to a bare PySide6 window started the same way (target ≤ 1.5 s
  and a ratio ≤ 2); then until the services are ready (devices, platform link). The kiosk
  reports both over the systemd notify socket (kiosk.app.launch);
* the median step-transition time: a tap on a real button until the next screen is drawn,
  over full 一件事 sessions (target ≤ 100 ms);
* RSS after 1,000 scripted sessions against after 10 (growth ≤ 10 MB). A scripted session
  taps a service, chooses the ID card, waits on "place your card", then cancels: every
  screen is built and wiped, the devices and the platform link stay up.

Run: ``.venv/bin/python -m bench.app [--sessions 1000] [--starts 5]``
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_BARE = """
import time, sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
w = QLabel("全办自助终端"); w.resize(1280, 800); w.show(); app.processEvents()
print("READY", flush=True)
"""


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_to(code: str, *args: str) -> dict[str, float]:
    """Seconds from spawning a child until each line it prints (READY, BOOTED…)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    marks: dict[str, float] = {}
    while line := proc.stdout.readline():  # readline: iteration would read ahead and wait
        marks[line.strip()] = time.perf_counter() - start
    if proc.wait(60) != 0 or "READY" not in marks:
        raise RuntimeError("the child failed")
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--bundles", type=int, default=5)
    args = parser.parse_args()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    # Both starts read compiled bytecode, as an installed kiosk does (PySide6's was compiled
    # by pip; ours here, as scripts/setup.sh does: with PYTHONDONTWRITEBYTECODE set, an
    # editable checkout would otherwise be compiled from source at every start).
    root = Path(__file__).resolve().parent.parent
    for package in ("config", "devices", "flows", "kiosk", "offline", "printing"):
        compileall.compile_dir(root / package, quiet=1)

    from kiosk.app.qt_setup import application

    application(offscreen=True)
    from flows import events as ev
    from kiosk.app.shell import KioskController
    from kiosk.app.tour import GuiDriver, pump, wait_until
    from kiosk.demo_env import DemoEnvironment
    from kiosk.runtime import Runtime
    from tests.kiosk.kiosk_process import KioskProcess, child_config

    with DemoEnvironment() as env:
        settings = env.start()
        workdir = Path(tempfile.mkdtemp(prefix="bench-app-"))
        machine = child_config(settings, workdir)
        bare, homes, readies = [], [], []
        for _ in range(args.starts):  # alternated, so both see the same machine load
            bare.append(time_to(CHILD_BARE)["READY"])
            k = KioskProcess("--config", str(machine), "run", "--windowed")
            try:
                homes.append(k.wait_for("STATUS=home screen shown"))
                readies.append(k.wait_for("READY=1"))
            finally:
                k.close()
        bare_s = statistics.median(bare)
        kiosk_s = statistics.median(homes)
        booted_s = statistics.median(readies)
        ratios = statistics.median(h / b for h, b in zip(homes, bare, strict=True))
        n = len(homes)
        print(f"cold start, bare PySide6 window   : {bare_s * 1000:7.0f} ms (median of {n})")
        print(f"cold start, kiosk home screen     : {kiosk_s * 1000:7.0f} ms (median of {n})")
        print(f"ratio kiosk / bare                : {ratios:7.2f}   (median of per-run ratios;")
        print("                                              target ≤ 2, home ≤ 1.5 s)")
        print(f"services ready (devices, platform): {booted_s * 1000:7.0f} ms (median of {n})")

        c = KioskController(lambda post: Runtime(settings, post))
        c.start()
        wait_until(lambda: c.booted and c.runtime.online, 20, "the platform link")
        wait_until(lambda: c.runtime.device_up()["idcard"], 20, "the reader")
        code = next(i.code for i in c.runtime.items() if i.flow == "yjs.newborn")
        transitions: list[float] = []
        for _ in range(args.bundles):
            walk = GuiDriver(c, env).run(code)
            assert walk.ended == "finished", walk.screens
            transitions += walk.transitions_ms
        median = statistics.median(transitions)
        p95 = sorted(transitions)[int(len(transitions) * 0.95)]
        print(
            f"step transition (tap → next screen drawn): median {median:.1f} ms,"
            f" p95 {p95:.1f} ms over {len(transitions)} taps (target ≤ 100 ms)"
        )

        def scripted_session() -> None:
            if code not in c.home.item_buttons:
                c.home.choose_category("yijianshi")
            c.home.item_buttons[code].click()
            c.step.choice_buttons[("method", "id_card")].click()
            c.step.buttons["cancel"].click()
            assert c.engine.session is None

        for _ in range(10):
            scripted_session()
        pump(0.2)
        after_10 = rss_mb()
        started = time.perf_counter()
        for _ in range(args.sessions - 10):
            scripted_session()
            pump(0)  # the main loop's turn: queued events and deferred deletions
        pump(0.2)
        after_n = rss_mb()
        per = (time.perf_counter() - started) / max(1, args.sessions - 10) * 1000
        print(f"RSS after 10 sessions           : {after_10:7.1f} MB")
        print(f"RSS after {args.sessions} sessions         : {after_n:7.1f} MB")
        print(
            f"growth                          : {after_n - after_10:7.1f} MB (target ≤ 10 MB);"
            f" {per:.1f} ms per scripted session"
        )
        c.feed(ev.Press("cancel"))
        c.stop()


if __name__ == "__main__":
    main()
