"""Benchmark of the kiosk app (offscreen Qt): cold start, step transitions, memory.

Prints:
* cold start to the home screen (a new process: import, QApplication, runtime with the
  emulated devices and the sandbox platform, first home screen drawn) next to a bare
  PySide6 window started the same way (target ≤ 1.5 s and a ratio ≤ 2);
* the median step-transition time: a tap on a real button until the next screen is drawn,
  over full 一件事 sessions (target ≤ 100 ms);
* RSS after 1,000 scripted sessions against after 10 (growth ≤ 10 MB). A scripted session
  taps a service, chooses the ID card, waits on "place your card", then cancels: every
  screen is built and wiped, the devices and the platform link stay up.

Run: ``.venv/bin/python -m bench.app [--sessions 1000] [--starts 5]``
"""

from __future__ import annotations

import argparse
import json
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

CHILD_KIOSK = """
import json, sys
from config.schema import Settings
from kiosk.app.qt_setup import application
app = application(offscreen=True)
from kiosk.app.shell import KioskController
settings = Settings.model_validate(json.load(open(sys.argv[1])))
shown = []
def runtime(post):
    from kiosk.runtime import Runtime  # as kiosk run does: after the first paint
    return Runtime(settings, post)
c = KioskController(runtime)
c.screen_shown.connect(shown.append)
c.start()  # returns with the home screen drawn; the runtime boots from the event loop
assert shown and shown[0] == "home", shown
print("READY", flush=True)
while not c.booted:
    app.processEvents()
print("BOOTED", flush=True)
c.stop()
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

    from kiosk.app.qt_setup import application

    application(offscreen=True)
    from flows import events as ev
    from kiosk.app.shell import KioskController
    from kiosk.app.tour import GuiDriver, pump, wait_until
    from kiosk.demo_env import DemoEnvironment
    from kiosk.runtime import Runtime

    with DemoEnvironment() as env:
        settings = env.start()
        # The child process cannot reach this process's in-process emulators: it gets the
        # same platform and printers, with the reader and scanner left unconfigured.
        child = settings.model_dump(mode="json")
        for role in ("idcard", "scanner"):
            child["devices"].pop(role)
        child["outbox"]["path"] = str(Path(tempfile.mkdtemp()) / "outbox.sqlite3")
        child["outbox"]["key_file"] = str(Path(child["outbox"]["path"]).with_suffix(".key"))
        cfg = Path(tempfile.mkdtemp()) / "settings.json"
        cfg.write_text(json.dumps(child), encoding="utf-8")
        bare = [time_to(CHILD_BARE)["READY"] for _ in range(args.starts)]
        runs = [time_to(CHILD_KIOSK, str(cfg)) for _ in range(args.starts)]
        bare_s = statistics.median(bare)
        kiosk_s = statistics.median(r["READY"] for r in runs)
        booted_s = statistics.median(r["BOOTED"] for r in runs)
        n = len(runs)
        print(f"cold start, bare PySide6 window   : {bare_s * 1000:7.0f} ms (median of {n})")
        print(f"cold start, kiosk home screen     : {kiosk_s * 1000:7.0f} ms (median of {n})")
        print(
            f"ratio kiosk / bare                : {kiosk_s / bare_s:7.2f}   (target ≤ 2, ≤ 1.5 s)"
        )
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
