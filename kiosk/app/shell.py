"""The kiosk window and the session controller.

:class:`KioskController` is the GUI-thread glue: it starts a flow when a citizen taps a
service, feeds the flow engine with the citizen's taps, with results posted by the runtime
(through the :class:`EventBridge`) and with a one-second tick, and carries out the effects
the engine returns — drawing ``Show`` itself and handing everything else to
:class:`kiosk.runtime.Runtime`, which never blocks. On ``EndSession`` (finish, cancel,
timeout) every widget that held personal data is wiped before the home screen shows.

:class:`KioskWindow` is the citizen's window (full screen, frameless, locked down);
:class:`CitizenWindow` is the second screen of the staffed window-terminal mode, showing the
citizen what the clerk is submitting and taking the 好差评 evaluation.

Start-up: :meth:`KioskController.start` draws the home screen before anything slow, so this
module imports only what that first paint needs; the flow engine and its events, devices
and remote help are imported where they are used (all after the runtime boots).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QMouseEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from config.logs import Safe
from flows.model import Availability, IdleSpec, Text
from flows.shipped import shipped_home_entries
from kiosk.app.assist_documents import DocumentBar
from kiosk.app.lockdown import CornerTapDetector, LockdownFilter
from kiosk.app.qt_bridge import EventBridge
from kiosk.app.screens import CHROME, HomeScreen, OutOfServiceScreen, StepScreen, big_button, tr
from kiosk.app.theme import ELDER, NORMAL, Theme
from kiosk.app.tts import RecordingSpeaker, Speaker
from kiosk.app.video import VideoCorner
from kiosk.app.widgets.keypad import KeypadInput
from kiosk.remote.video import PictureReady

if TYPE_CHECKING:
    from flows import events as ev
    from flows.engine import FlowEngine
    from flows.views import StepView
    from kiosk.remote.notices import AssistStatus, CallbackOffered, ConsentRequested
    from kiosk.runtime import Runtime

log = logging.getLogger(__name__)

#: Consent scopes of remote help as the citizen reads them.
SCOPE_TEXT = {"fill": "代填信息", "navigate": "翻页操作", "document": "推送文件"}

#: What a citizen is told about a device fault (plain Chinese first).
FAULT_TEXT: dict[tuple[str, str], tuple[str, str]] = {
    ("receipt_printer", "paper=out"): ("打印机缺纸，请联系工作人员", "The printer is out of paper"),
    ("receipt_printer", "cover=open"): (
        "打印机盖未关好，请联系工作人员",
        "The printer cover is open",
    ),
    ("receipt_printer", ""): ("凭条打印机暂停服务", "The receipt printer is out of service"),
    ("a4_printer", ""): ("A4 打印机暂停服务", "The A4 printer is out of service"),
    ("idcard", ""): ("身份证阅读器暂停服务，可使用鲁通码", "The ID card reader is out of service"),
    ("scanner", ""): ("扫码器暂停服务", "The code scanner is out of service"),
    ("camera", ""): ("摄像头暂停服务", "The camera is out of service"),
}


def fault_text(role: str, detail: str) -> tuple[str, str]:
    for key, value in FAULT_TEXT.items():
        if key[0] == role and key[1] and key[1] in detail:
            return value
    return FAULT_TEXT.get((role, ""), (f"{role} 暂停服务", f"{role} is out of service"))


class KioskWindow(QMainWindow):
    """The citizen-facing window: banners on top, the current screen, the staff strip."""

    def __init__(self, language: Callable[[], str]) -> None:
        super().__init__()
        self.setWindowTitle("全办自助终端")
        self.allow_close = False
        self._language = language
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(16, 8, 16, 8)
        self.offline_banner = QLabel()
        self.offline_banner.setObjectName("banner")
        self.offline_banner.setWordWrap(True)
        self.offline_banner.hide()
        layout.addWidget(self.offline_banner)
        self.fault_banner = QLabel()
        self.fault_banner.setObjectName("faultBanner")
        self.fault_banner.setWordWrap(True)
        self.fault_banner.hide()
        layout.addWidget(self.fault_banner)
        # Remote help (自助+帮办): always above the screen while an assistant is connected.
        self.assist_bar = QWidget()
        assist = QHBoxLayout(self.assist_bar)
        self.assist_label = QLabel()
        self.assist_label.setObjectName("banner")
        self.assist_label.setWordWrap(True)
        assist.addWidget(self.assist_label, 1)
        self.assist_stop = big_button("停止协助 / Stop", name="primary")
        self.assist_end = big_button("结束求助 / End")
        assist.addWidget(self.assist_stop)
        assist.addWidget(self.assist_end)
        self.assist_bar.hide()
        layout.addWidget(self.assist_bar)
        self.consent_bar = QWidget()
        consent = QHBoxLayout(self.consent_bar)
        self.consent_label = QLabel()
        self.consent_label.setWordWrap(True)
        consent.addWidget(self.consent_label, 1)
        self.consent_grant = big_button("同意 / Allow", name="primary")
        self.consent_deny = big_button("不同意 / Refuse")
        consent.addWidget(self.consent_grant)
        consent.addWidget(self.consent_deny)
        self.consent_bar.hide()
        layout.addWidget(self.consent_bar)
        self.callback_bar = QWidget()
        callback = QHBoxLayout(self.callback_bar)
        self.callback_label = QLabel(
            "工作人员忙，可稍后回拨您 / Staff are busy: we can call you back"
        )
        callback.addWidget(self.callback_label, 1)
        self.callback_accept = big_button("请回拨我 / Call me back")
        callback.addWidget(self.callback_accept)
        self.callback_bar.hide()
        layout.addWidget(self.callback_bar)
        self.document_bar = DocumentBar(lambda: None)  # the controller gives it the printer
        layout.addWidget(self.document_bar)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.staff_strip = QLabel()
        self.staff_strip.setWordWrap(True)
        self.staff_strip.hide()
        layout.addWidget(self.staff_strip)
        self.staff_bar = QWidget()
        bar = QHBoxLayout(self.staff_bar)
        self.exit_button = big_button("退出终端 / Exit")
        self.close_staff_button = big_button("关闭 / Close")
        bar.addWidget(self.exit_button)
        bar.addWidget(self.close_staff_button)
        self.staff_bar.hide()
        layout.addWidget(self.staff_bar)
        self.pin_pad = KeypadInput("digits", masked=True)
        self.pin_pad.hide()
        layout.addWidget(self.pin_pad)
        # the assistant's video and the citizen's preview, over the screen's corner
        self.video = VideoCorner(central)
        self.setCentralWidget(central)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self.allow_close:
            event.accept()
        else:
            event.ignore()  # Alt+F4 and the window manager's close do nothing


class CitizenWindow(QWidget):
    """Window-terminal mode: the citizen's screen beside the clerk's console."""

    def __init__(self, language: Callable[[], str]) -> None:
        super().__init__()
        self.setWindowTitle("办事人确认屏")
        self._language = language
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setObjectName("title")
        layout.addWidget(self.heading)
        self.step = StepScreen(language)
        layout.addWidget(self.step, 1)
        self.idle = QLabel("欢迎办理业务 / Welcome")
        self.idle.setObjectName("title")
        self.idle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.idle)

    def mirror(self, view: StepView | None) -> None:
        """Show what is being submitted; the evaluation is taken here, not on the clerk's."""
        if view is None:
            self.step.wipe()
            self.step.hide()
            self.heading.setText("")
            self.idle.show()
            return
        self.idle.hide()
        self.step.show()
        self.heading.setText(tr(view.item_name, self._language()))
        self.step.show_view(view)
        interactive = view.step_type in ("evaluate", "review", "consent", "commitment")
        for name, button in self.step.buttons.items():
            if name not in ("help",):
                button.setEnabled(interactive and button.isEnabled())
        for button in self.step.choice_buttons.values():
            button.setEnabled(interactive and button.isEnabled())


class KioskController(QObject):
    """Runs sessions on the GUI thread. See the module docstring."""

    session_ended = Signal(str)
    screen_shown = Signal(str)  # "home" | step type | "out_of_service"
    started = Signal()  # the runtime is up: devices, platform link, outbox, flows

    def __init__(
        self,
        runtime_factory: Callable[[Callable[[object], None]], Runtime],
        *,
        speaker: Speaker | None = None,
        mode: str = "kiosk",
        language: str = "zh_CN",
        elder: bool = False,
        technician_pin: str = "000000",
        tick_ms: int = 1000,
    ) -> None:
        super().__init__()
        self.bridge = EventBridge()
        self.bridge.connect_handler(self.on_posted)
        self.language = language
        self.theme: Theme = ELDER if elder else NORMAL
        self.speaker: Speaker = speaker or RecordingSpeaker()
        self.technician_pin = technician_pin
        self.mode = mode
        self._factory = runtime_factory
        self._runtime: Runtime | None = None
        # set once stop() begins: events the workers queued before they stopped may still
        # be delivered, and must not touch a closed outbox or a stopped device
        self._stopped = False
        self._engine: FlowEngine | None = None
        self.session_id: str | None = None
        self.current_view: StepView | None = None
        self.window = KioskWindow(lambda: self.language)
        self.home = HomeScreen(lambda: self.language, lambda: self.theme)
        self.step = StepScreen(lambda: self.language)
        self.out_of_service = OutOfServiceScreen(lambda: self.language)
        for screen in (self.home, self.step, self.out_of_service):
            self.window.stack.addWidget(screen)
        self.citizen: CitizenWindow | None = (
            CitizenWindow(lambda: self.language) if mode == "window" else None
        )
        self.home.item_chosen.connect(self.start_item)
        self.home.elder_toggled.connect(self.toggle_elder)
        self.home.language_toggled.connect(self.toggle_language)
        self.step.acted.connect(self.feed)
        if self.citizen is not None:
            self.citizen.step.acted.connect(self.feed)
        self.window.pin_pad.submitted.connect(self._check_pin)
        self.window.assist_stop.clicked.connect(lambda: self._remote("stop"))
        self.window.assist_end.clicked.connect(lambda: self._remote("end"))
        self.window.consent_grant.clicked.connect(self._grant_consent)
        self.window.consent_deny.clicked.connect(lambda: self._remote("deny"))
        self.window.callback_accept.clicked.connect(lambda: self._remote("accept_callback"))
        self.window.document_bar.printer = self._a4_printer
        self._consent_scopes: frozenset[str] = frozenset()
        self._assisting = False  # an assistant is connected: the video corner may show
        self.window.close_staff_button.clicked.connect(self._close_staff)
        self.window.exit_button.clicked.connect(self._technician_exit)
        self._corner = CornerTapDetector()
        self._last_press: tuple[int, int, int] | None = None
        self._lockdown = LockdownFilter(self)
        self._tick = QTimer(self)
        self._tick.setInterval(tick_ms)
        self._tick.timeout.connect(self._on_tick)
        self._attract = QTimer(self)
        self._attract.setInterval(6000)
        self._attract.timeout.connect(self.home.next_attract)
        self.apply_theme()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def booted(self) -> bool:
        return self._runtime is not None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the kiosk runtime has not been started yet")
        return self._runtime

    @property
    def engine(self) -> FlowEngine:
        if self._engine is None:
            raise RuntimeError("the kiosk runtime has not been started yet")
        return self._engine

    @engine.setter
    def engine(self, value: FlowEngine) -> None:
        self._engine = value

    def start(self, *, fullscreen: bool = False, lockdown: bool = False) -> None:
        """Show the home screen at once; devices, platform link, outbox and flows start
        right after the first paint (``booted`` turns True), so a citizen sees the kiosk
        while the slow parts (imports, flow validation, opening devices) are done."""
        app = QApplication.instance()
        self.refresh_home()
        self.show_home()
        if fullscreen:
            self.window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
            self.window.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
            self.window.showFullScreen()
        else:
            self.window.resize(1280, 800)
            self.window.show()
        if self.citizen is not None:
            self.citizen.resize(1024, 768)
            screens = QApplication.screens()
            if len(screens) > 1:
                self.citizen.setScreen(screens[1])
                self.citizen.move(screens[1].geometry().topLeft())
            self.citizen.show()
            self.citizen.mirror(None)
        self._attract.start()
        if app is not None:
            app.processEvents()  # draw the home screen now, before the slow start below
            # Application-wide filters only after that first paint: each event then costs a
            # Python call, and the first paint alone is about a thousand events (60 ms of CPU).
            # The window was up for one pass of the loop; its closeEvent refuses anyway.
            if lockdown:
                app.installEventFilter(self._lockdown)
            app.installEventFilter(self)  # taps land on child widgets: watch them all
        QTimer.singleShot(0, self._boot)

    def _boot(self) -> None:
        if self._runtime is not None:
            return
        runtime = self._factory(self.bridge.post)
        self._runtime = runtime
        self.step.page_preview = runtime.captured_thumbnail
        self.engine = self._new_engine()
        runtime.start()
        self.refresh_home()
        if self.engine.session is None:
            self.show_home()
        self.home.warm_index()
        self.started.emit()

    def stop(self) -> None:
        self._tick.stop()
        self._attract.stop()
        if self._runtime is None:
            self._shut_windows()
            return
        if self.engine.session is not None:
            from flows import events as ev

            self.feed(ev.Press("cancel"))
        self._stopped = True
        self.runtime.stop()
        self._shut_windows()

    def _shut_windows(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
            app.removeEventFilter(self._lockdown)
        self.speaker.close()
        self.window.allow_close = True
        self.window.close()
        if self.citizen is not None:
            self.citizen.close()

    def _new_engine(self) -> FlowEngine:
        """The one engine of this kiosk: its request ids keep growing across sessions, so a
        late answer to a cancelled session's request can never be taken for a new one's."""
        from flows.engine import FlowEngine

        idle = self._idle_spec()
        return FlowEngine(
            self.runtime.flows, idle_timeout_s=idle.timeout_s, idle_warning_s=idle.warning_s
        )

    def _idle_spec(self) -> IdleSpec:
        """The configured idle timeout, longer in elder mode."""
        cfg = self.runtime.settings.session
        factor = self.theme.timeout_factor
        return IdleSpec(
            timeout_s=cfg.idle_timeout_s * factor, warning_s=cfg.idle_warning_s * factor
        )

    # -- appearance --------------------------------------------------------------------

    def apply_theme(self) -> None:
        sheet = self.theme.stylesheet()
        self.window.setStyleSheet(sheet)
        if self.citizen is not None:
            self.citizen.setStyleSheet(sheet)
        self.home.redraw()
        self.step.redraw()

    def apply_preferences(self, *, language: str, elder: bool) -> None:
        """The validated settings' language and elder mode, when they arrive after the first
        screen was drawn from unvalidated hints (``kiosk run``, kiosk.app.launch)."""
        theme = ELDER if elder else NORMAL
        if language == self.language and theme.name == self.theme.name:
            return
        self.language, self.theme = language, theme
        self.apply_theme()

    def toggle_elder(self) -> None:
        self.theme = NORMAL if self.theme.name == "elder" else ELDER
        if self.booted:
            self.engine.default_idle = self._idle_spec()  # from the next session on
        self.apply_theme()
        if self.theme.voice:
            self._say(CHROME["choose"].zh_CN, CHROME["choose"].en)

    def toggle_language(self) -> None:
        self.language = "en" if self.language == "zh_CN" else "zh_CN"
        self.home.redraw()
        self.step.redraw()
        self.refresh_banners()

    def _say(self, zh: str, en: str) -> None:
        if self.theme.voice:
            self.speaker.say(zh if self.language == "zh_CN" else en, self.language)

    # -- screens -----------------------------------------------------------------------

    def show_home(self) -> None:
        if not self.booted:
            self.window.stack.setCurrentWidget(self.home)
            self.screen_shown.emit("home")
            return
        avail = self.runtime.availability()
        if avail and not any(a.available for a in avail):
            reasons = sorted({tr(a.reason_text, self.language) for a in avail if a.reason_text})
            self.out_of_service.set_reason("\n".join(reasons[:3]))
            self.window.stack.setCurrentWidget(self.out_of_service)
            self.screen_shown.emit("out_of_service")
            return
        self.window.stack.setCurrentWidget(self.home)
        self.screen_shown.emit("home")

    def refresh_home(self) -> None:
        if not self.booted:
            # first paint: the shipped catalogue (read without validation), every service
            # "starting"; the runtime's validated catalogue replaces it at boot
            items = shipped_home_entries()
            starting = Text("正在启动…", "Starting…")
            self.home.set_items(
                items, [Availability(i.code, False, ("starting",), starting) for i in items]
            )
            return
        self.home.set_items(self.runtime.items(), self.runtime.availability())
        self.refresh_banners()

    def refresh_banners(self) -> None:
        w = self.window
        if self.runtime.online:
            w.offline_banner.hide()
        else:
            window = self.runtime.window()
            key = "offline" if window.accepting else "offline_full"
            w.offline_banner.setText(tr(CHROME[key], self.language))
            w.offline_banner.show()
        faults = self.runtime.device_faults()
        if faults:
            texts = [fault_text(role, detail) for role, _state, detail in faults]
            w.fault_banner.setText(
                "；".join(t[0] if self.language == "zh_CN" else t[1] for t in texts)
            )
            w.fault_banner.show()
        else:
            w.fault_banner.hide()
        if w.staff_strip.isVisible():
            self._render_staff()

    # -- sessions ----------------------------------------------------------------------

    def start_item(self, code: str) -> None:
        if not self.booted or self.engine.session is not None:
            return
        item = next((i for i in self.runtime.items() if i.code == code), None)
        if item is None:
            return
        self.session_id = uuid.uuid4().hex
        self.engine.now = time.monotonic()
        effects = self.engine.start(
            item.flow,
            item,
            devices=self.runtime.device_up(),
            online=self.runtime.online,
            session_id=self.session_id,
        )
        self._attract.stop()
        self._tick.start()
        log.info("session started", extra={"item_code": item.code, "flow": item.flow})
        self.carry_out(effects)

    def feed(self, event: ev.Event) -> None:
        if not self.booted or self.engine.session is None:
            return
        self.carry_out(self.engine.feed(event))

    def _on_tick(self) -> None:
        if not self.booted:
            return
        from flows import events as ev

        self.carry_out(self.engine.feed(ev.Tick(time.monotonic())))

    def carry_out(self, effects: list[ev.Effect]) -> None:
        from flows import events as ev

        for effect in effects:
            if isinstance(effect, ev.Show):
                self._show(effect.view)
            elif isinstance(effect, ev.EndSession):
                self._end_session(effect.reason)
            elif isinstance(effect, ev.StartTimer | ev.CancelTimer):
                continue  # the one-second tick drives the idle timer
            elif isinstance(effect, ev.Speak):
                if self.theme.voice:
                    self.speaker.say(tr(effect.text, self.language), self.language)
            else:
                self.runtime.carry_out(effect)

    def _show(self, view: StepView) -> None:
        self.current_view = view
        helper = getattr(self.runtime, "remote_help", None)
        if helper is not None and view.assistant in ("calling", "connected"):
            helper.view_changed(view)  # the assistant's masked live view follows the kiosk
        self.step.show_view(view)
        self.window.stack.setCurrentWidget(self.step)
        if self.citizen is not None:
            self.citizen.mirror(view)
            if view.step_type == "evaluate":
                # 好差评 is the citizen's own: the clerk's console cannot rate for them
                for (action, _value), button in self.step.choice_buttons.items():
                    if action in ("rate", "reason"):
                        button.setEnabled(False)
                if "submit" in self.step.buttons:
                    self.step.buttons["submit"].setEnabled(False)
        self.screen_shown.emit(view.step_type)

    def _end_session(self, reason: str) -> None:
        """The wipe: every copy of the session's data in the app goes before home shows."""
        self._tick.stop()
        self.runtime.wipe()  # also ends a remote-help session of this citizen
        self._hide_assist()
        self.window.document_bar.wipe()  # a pushed document stays until the citizen leaves
        self.current_view = None
        self.step.wipe()
        if self.citizen is not None:
            self.citizen.mirror(None)
        self.home.reset()
        self.session_id = None
        self.refresh_home()
        self.show_home()
        self._attract.start()
        log.info("session ended", extra={"reason_code": Safe(reason)})
        self.session_ended.emit(reason)

    # -- events from workers (GUI thread, via the bridge) ------------------------------

    def on_posted(self, event: object) -> None:
        if self._stopped:
            return
        from flows import events as ev
        from kiosk.remote.notices import (
            AssistStatus,
            CallbackOffered,
            ConsentRequested,
            DocumentReceived,
            DocumentRefused,
        )

        if isinstance(event, ev.Result):
            self.feed(event)
            return
        if isinstance(event, ev.Input | ev.Press):
            # an assistant's intent, already checked by kiosk.remote (granted scope, not
            # stale, not a citizen-only step or action): applied like the citizen's own tap
            self.feed(event)
            return
        if isinstance(event, AssistStatus | ConsentRequested | CallbackOffered):
            self._on_assist(event)
            return
        if isinstance(event, DocumentReceived | DocumentRefused):
            self.window.document_bar.show_document(event)
            return
        if isinstance(event, PictureReady):
            relay = getattr(self.runtime, "remote_video", None)
            picture = relay.take(event.source) if relay is not None else None
            if picture is not None and self._assisting:
                self.window.video.show_picture(picture)
            return
        if type(event).__name__ == "FaceGuidance":  # kiosk.face (not imported: it pulls OpenCV)
            zh, en = str(getattr(event, "text_zh", "")), str(getattr(event, "text_en", ""))
            self.step.set_guidance(zh if self.language == "zh_CN" else en)
            # spoken in every mode: the citizen is looking at the camera, not the screen
            self.speaker.say(zh if self.language == "zh_CN" else en, self.language)
            return
        # device status, link state, outbox and catalogue changes: redraw what depends on them
        if self.engine.session is None:
            self.refresh_home()
            if self.window.stack.currentWidget() is not self.step:
                self.show_home()
        else:
            self.refresh_banners()

    # -- remote help (kiosk.remote; docs/remote-help.md §6) ------------------------------

    def _on_assist(self, event: AssistStatus | ConsentRequested | CallbackOffered) -> None:
        from kiosk.remote.notices import AssistStatus, ConsentRequested

        w = self.window
        if isinstance(event, AssistStatus):
            if event.phase == "connected":
                who = "工作人员操作中" if event.holder == "assistant" else "由您操作"
                scopes = "、".join(SCOPE_TEXT.get(x, x) for x in sorted(event.scopes))
                text = f"工作人员正在协助您（{who}）"
                if scopes:
                    text += f"　已授权：{scopes}"
                if not event.link_ok:
                    text += "　网络不稳定"
                w.assist_label.setText(text)
                w.assist_bar.show()
                w.callback_bar.hide()
                self._assisting = True
            elif event.phase == "ended":
                self._hide_assist()
        elif isinstance(event, ConsentRequested):
            self._consent_scopes = event.scopes
            scopes = "、".join(SCOPE_TEXT.get(x, x) for x in sorted(event.scopes))
            w.consent_label.setText(
                f"工作人员请求：{scopes}。工作人员代填，由您确认提交。是否同意？"
            )
            w.consent_bar.show()
            self._say("工作人员请求协助操作，是否同意", "The assistant asks to help; do you agree")
        else:
            w.callback_bar.show()

    def _grant_consent(self) -> None:
        self.window.consent_bar.hide()
        helper = getattr(self.runtime, "remote_help", None)
        if helper is not None:
            helper.grant(self._consent_scopes)

    def _remote(self, action: str) -> None:
        """A citizen's tap on the help bars: stop (revoke everything), end, deny, call back."""
        if action in ("deny",):
            self.window.consent_bar.hide()
        if action == "accept_callback":
            self.window.callback_bar.hide()
        helper = getattr(self.runtime, "remote_help", None) if self.booted else None
        if helper is not None:
            getattr(helper, action)()

    def _a4_printer(self) -> Any | None:
        """The A4 printer when it can print now (for a document the assistant pushed)."""
        if not self.booted or not self.runtime.device_up().get("a4_printer"):
            return None
        return self.runtime.devices.get("a4_printer")

    def _hide_assist(self) -> None:
        w = self.window
        for bar in (w.assist_bar, w.consent_bar, w.callback_bar):
            bar.hide()
        w.assist_label.clear()
        w.consent_label.clear()
        self._consent_scopes = frozenset()
        self._assisting = False
        w.video.wipe()  # the citizen's face and the assistant's: hidden and cleared

    # -- technician --------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """The technician gesture: taps in the window's top-left corner, wherever they land."""
        if (
            event.type() == QEvent.Type.MouseButtonPress
            and isinstance(event, QMouseEvent)
            and isinstance(watched, QWidget)
            and watched.window() is self.window
        ):
            pos = self.window.mapFromGlobal(event.globalPosition().toPoint())
            # An unaccepted press travels up the parents and is seen once per ancestor.
            key = (event.timestamp(), pos.x(), pos.y())
            if key == self._last_press:
                return False
            self._last_press = key
            if self._corner.tap(pos.x(), pos.y(), time.monotonic()):
                self.window.pin_pad.clear()
                self.window.pin_pad.show()
        return False

    def _check_pin(self, pin: str) -> None:
        self.window.pin_pad.clear()
        self.window.pin_pad.hide()
        if pin != self.technician_pin:
            log.warning("technician PIN refused")
            return
        self._render_staff()
        self.window.staff_strip.show()
        self.window.staff_bar.show()

    def _render_staff(self) -> None:
        from devices.base import DeviceState

        rows = []
        for role, device in self.runtime.devices.items():
            status = device.status
            detail = status.detail_text
            mark = "✔" if status.state in (DeviceState.ONLINE, DeviceState.BUSY) else "✘"
            rows.append(f"{mark} {role}: {status.state} {detail}")
        window = self.runtime.window()
        rows.append(f"平台 link: {'online' if self.runtime.online else 'offline'}")
        rows.append(f"待提交 outbox: {window.pending} pending; accepting={window.accepting}")
        rows.append(f"事项 catalogue: {self.runtime.catalogue_source}")
        self.window.staff_strip.setText("\n".join(rows))

    def _close_staff(self) -> None:
        self.window.staff_strip.hide()
        self.window.staff_bar.hide()

    def _technician_exit(self) -> None:
        app = QApplication.instance()
        self.stop()
        if app is not None:
            app.quit()

    # -- for tests and screenshots -----------------------------------------------------

    def widget_texts(self) -> list[str]:
        """Every text currently held by any widget of the app's windows."""
        texts: list[str] = []
        roots: list[Any] = [self.window]
        if self.citizen is not None:
            roots.append(self.citizen)
        for root in roots:
            for child in root.findChildren(QLabel):
                texts.append(child.text())
            for child in root.findChildren(KeypadInput):
                texts.append(child.value)
        return texts
