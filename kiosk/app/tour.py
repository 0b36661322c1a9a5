"""Walking the real app through a session, as a citizen would: for the end-to-end tests,
``kiosk demo --screenshots`` and ``bench/app.py``.

:class:`GuiDriver` looks at the screen the app shows (the controller's current
view-model), decides the citizen's next action with the flow package's
:class:`~flows.headless.Autopilot` policy, and performs it the way a person does: it taps the
button widget on screen, places the synthetic card on the emulated reader, holds a 鲁通码 in
front of the emulated scanner. Everything else — device I/O, platform calls, the outbox,
printing — runs for real. Nothing here is a fake of the app's own behaviour.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget

from flows import events as ev
from flows.headless import Autopilot, Policy
from flows.views import StepView
from kiosk.app.screens import CATEGORIES
from kiosk.app.shell import KioskController
from kiosk.demo_env import DemoEnvironment


class DriveError(AssertionError):
    """The app did not reach the expected screen in time (the message says where)."""


def pump(seconds: float) -> None:
    """Run the Qt event loop for ``seconds`` (results arrive as queued signals), including
    the deferred deletions ``processEvents`` alone leaves for the main loop."""
    app = QApplication.instance()
    deadline = time.monotonic() + seconds
    while True:
        if app is not None:
            app.processEvents()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if time.monotonic() >= deadline:
            return
        time.sleep(0.005)


def wait_until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise DriveError(f"timed out waiting for {what}")
        pump(0)
        time.sleep(0.005)


def grab(widget: QWidget, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(path))
    return path


@dataclass
class Walk:
    """What one driven session went through."""

    item_code: str
    screens: list[str] = field(default_factory=list)  # "step_type:phase" in order
    ended: str | None = None
    transitions_ms: list[float] = field(default_factory=list)


class GuiDriver:
    def __init__(
        self,
        controller: KioskController,
        env: DemoEnvironment,
        *,
        policy: Policy | None = None,
        step_timeout_s: float = 20.0,
        on_view: Callable[[StepView], None] | None = None,
    ) -> None:
        self.c = controller
        self.env = env
        self.policy = policy or Policy(scan_fields=False, reason=False)
        self.step_timeout_s = step_timeout_s
        self.on_view = on_view
        self._ended: str | None = None
        controller.session_ended.connect(self._session_ended)

    def _session_ended(self, reason: str) -> None:
        self._ended = reason

    def run(
        self,
        item_code: str,
        *,
        identify: str = "id_card",
        stop_at: Callable[[StepView], bool] | None = None,
        max_actions: int = 80,
    ) -> Walk:
        """Tap ``item_code`` on the home screen and play the citizen until the session ends
        (or until ``stop_at(view)`` holds; the session is then left running)."""
        walk = Walk(item_code)
        self._ended = None
        pilot = Autopilot(Policy(**{**self.policy.__dict__, "method": identify}))
        home = self.c.home
        if not any(i.code == item_code for i in self.c.runtime.items()):
            raise DriveError(f"service {item_code} is not offered on the home screen")
        if item_code not in home.item_buttons:
            home.choose_category(
                next(k for k, _zh, _en, cats in CATEGORIES if self._category(item_code) in cats)
            )
        while item_code not in home.item_buttons and home.page < home.pages - 1:
            home.next_button.click()  # the service is on a later page

        def offered() -> bool:
            button = home.item_buttons.get(item_code)
            return button is not None and button.isEnabled()

        try:  # state changes reach the screen through queued events: give them a moment
            wait_until(offered, 5.0, f"service {item_code} to be offered")
        except DriveError:
            why = [a.reasons for a in self.c.runtime.availability() if a.item_code == item_code]
            raise DriveError(
                f"service {item_code} is not offered on the home screen {why}"
            ) from None
        button = home.item_buttons[item_code]
        button.click()
        placed_for: int | None = None
        scanned_for: int | None = None
        last: StepView | None = None
        for _ in range(max_actions):
            wait_until(
                functools.partial(self._moved_on, last),
                self.step_timeout_s,
                f"the next screen after {walk.screens[-1] if walk.screens else 'home'}",
            )
            if self._ended is not None:
                walk.ended = self._ended
                return walk
            view = self.c.current_view
            assert view is not None
            last = view
            walk.screens.append(f"{view.step_type}:{view.phase}")
            if self.on_view is not None:
                self.on_view(view)
            if stop_at is not None and stop_at(view):
                return walk
            if view.busy:
                continue  # the system is working; the next view will come
            if view.step_type == "identify" and view.phase == "waiting_card":
                if placed_for != id(view):
                    self.env.lift_card()
                    pump(0.35)
                    self.env.place_card()
                    placed_for = id(view)
                continue
            if view.step_type == "identify" and view.phase == "waiting_code":
                if scanned_for != id(view):
                    self.env.scan(self.env.issue_lutong_code())
                    scanned_for = id(view)
                continue
            self.act(pilot.act(view), view, walk)
        raise DriveError(f"{item_code}: more than {max_actions} actions: {walk.screens}")

    def _moved_on(self, previous: StepView | None) -> bool:
        view = self.c.current_view
        return self._ended is not None or (view is not None and view is not previous)

    def act(self, event: ev.Event, view: StepView, walk: Walk) -> None:
        """Perform the citizen's action on the real widgets where there is one."""
        start = time.perf_counter()
        if isinstance(event, ev.Press):
            step = self.c.step
            button = step.choice_buttons.get((event.action, event.value or ""))
            if button is None and view.button(event.action) is not None:
                button = step.buttons.get(event.action)
            if button is not None and button.isEnabled():
                button.click()
            else:
                self.c.feed(event)
        else:
            self.c.feed(event)
        walk.transitions_ms.append((time.perf_counter() - start) * 1000)

    def _category(self, item_code: str) -> str:
        item = next(i for i in self.c.runtime.items() if i.code == item_code)
        return item.category


#: Walks of the screenshot tour: (file-name prefix, flow).
TOUR_FLOWS = (("yijianshi", "yjs.newborn"), ("tax", "tax.insurance_payment"))


def screenshot_tour(controller: KioskController, env: DemoEnvironment, out_dir: Path) -> list[Path]:
    """Walk the main screens of the running demo and write a PNG of each; return the paths."""
    c = controller
    shots: list[Path] = []
    seen: set[str] = set()

    def shot(name: str) -> None:
        pump(0.05)
        shots.append(grab(c.window, out_dir / f"{len(shots) + 1:02d}-{name}.png"))

    def step_shot(prefix: str) -> Callable[[StepView], None]:
        def on_view(view: StepView) -> None:
            key = f"{prefix}-{view.step_type}-{view.phase}"
            if any(m.status == "captured" for m in view.materials):
                key += "-photographed"  # the page's preview with 重拍
            if key not in seen and not view.busy:
                seen.add(key)
                shot(key)

        return on_view

    wait_until(lambda: c.booted and c.runtime.online, 15, "the platform link")
    pump(0.5)
    shot("home")
    c.home.search_pad.show()
    for key in "SB":
        c.home.search_pad.press(key)
    shot("home-search-pinyin")
    c.home.reset()
    c.toggle_elder()
    shot("home-elder")
    c.toggle_elder()
    c.toggle_language()
    shot("home-english")
    c.toggle_language()
    items = {i.flow: i.code for i in c.runtime.items()}
    # an item whose paper material only the document camera (高拍仪) can give
    paper = next(
        (
            i.code
            for i in c.runtime.items()
            if i.flow == "yjs.personal"
            and any(m.required and not m.waivable and not m.licence_type for m in i.materials)
        ),
        None,
    )
    walks = [(prefix, items.get(flow)) for prefix, flow in TOUR_FLOWS] + [("paper", paper)]
    for prefix, code in walks:
        if code is not None:
            driver = GuiDriver(c, env, on_view=step_shot(prefix))
            driver.run(code)
            pump(0.3)
    env.printer_fault("paper_out")
    wait_until(c.window.fault_banner.isVisible, 15, "the paper-out banner")
    shot("fault-paper-out")
    env.printer.clear_faults()
    wait_until(lambda: not c.window.fault_banner.isVisible(), 15, "the printer to recover")
    env.cut_network()
    wait_until(lambda: not c.runtime.online, 20, "the offline state")
    pump(0.3)
    shot("offline-banner")
    env.restore_network()
    wait_until(lambda: c.runtime.online, 20, "the link to come back")
    # every device gone and the platform unreachable: nothing can be offered
    env.cut_network()
    for role in ("idcard", "scanner", "receipt_printer"):
        env.unplug(role)
    wait_until(lambda: c.window.stack.currentWidget() is c.out_of_service, 30, "out of service")
    shot("out-of-service")
    for role in ("idcard", "scanner", "receipt_printer"):
        env.replug(role)
    env.restore_network()
    jobs = sorted(env.printer_dir.glob("job-*.png"))
    if jobs:
        target = out_dir / f"{len(shots) + 1:02d}-printed-receipt.png"
        target.write_bytes(jobs[0].read_bytes())
        shots.append(target)
    return shots
