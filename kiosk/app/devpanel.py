"""The developer panel of ``kiosk demo``: a second window acting on the emulated devices.

Each button calls a lever of :class:`kiosk.demo_env.DemoEnvironment`. Levers that talk to
the sandbox (issuing a 鲁通码, cutting the network) make a loopback HTTP call; they run on
a worker thread so the panel never freezes the kiosk window beside it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.demo_env import DemoEnvironment


class DevPanel(QWidget):
    def __init__(self, env: DemoEnvironment) -> None:
        super().__init__()
        self.env = env
        self.setWindowTitle("开发者面板 / Developer panel")
        layout = QVBoxLayout(self)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        card = QGroupBox("身份证 ID card")
        grid = QGridLayout(card)
        self.cards = QComboBox()
        for holder in env.holders():
            self.cards.addItem(f"{holder['name']}（平台持证人）", holder["id_number"])
        for path in env.card_files():
            self.cards.addItem(f"{path.stem}（证件类型样例）", path)
        grid.addWidget(self.cards, 0, 0, 1, 2)
        self._button(grid, 1, 0, "放置 Place", self._place)
        self._button(grid, 1, 1, "拿走 Lift", env.lift_card)
        layout.addWidget(card)

        scan = QGroupBox("扫码 Scanner")
        grid = QGridLayout(scan)
        self._button(grid, 0, 0, "鲁通码 (valid)", lambda: self._bg(self._scan_lutong))
        self._button(grid, 0, 1, "鲁通码 (expired)", lambda: self._bg(self._scan_expired))
        self._button(grid, 1, 0, "伪造码 Forged", lambda: env.scan("LTC-forged-0000000000"))
        self._button(grid, 1, 1, "回执码 Receipt", self._scan_receipt)
        layout.addWidget(scan)

        printer = QGroupBox("打印机 Printer")
        grid = QGridLayout(printer)
        self._button(grid, 0, 0, "纸将尽 Paper low", lambda: env.printer_fault("paper_near_end"))
        self._button(grid, 0, 1, "缺纸 Paper out", lambda: env.printer_fault("paper_out"))
        self._button(grid, 1, 0, "开盖 Cover open", lambda: env.printer_fault("cover_open"))
        self._button(grid, 1, 1, "恢复 Clear", self._printer_ok)
        layout.addWidget(printer)

        doc = QGroupBox("高拍仪 Document camera")
        grid = QGridLayout(doc)
        self._button(grid, 0, 0, "放材料 Place page", env.place_document)
        self._button(grid, 0, 1, "拿走材料 Remove page", env.remove_document)
        self._button(grid, 1, 0, "遮挡 Dark", lambda: env.document_fault("dark"))
        self._button(grid, 1, 1, "晃动 Blur", lambda: env.document_fault("blur"))
        self._button(grid, 2, 0, "恢复正常 Normal", env.document_camera.clear_faults)
        layout.addWidget(doc)

        plug = QGroupBox("插拔 Unplug / replug")
        grid = QGridLayout(plug)
        for row, role in enumerate(("idcard", "scanner", "receipt_printer", "document_camera")):
            self._button(grid, row, 0, f"拔出 {role}", functools.partial(env.unplug, role))
            self._button(grid, row, 1, f"插回 {role}", functools.partial(env.replug, role))
        layout.addWidget(plug)

        net = QGroupBox("网络 Network")
        grid = QGridLayout(net)
        self._button(grid, 0, 0, "断网 Cut", lambda: self._bg(env.cut_network))
        self._button(grid, 0, 1, "恢复 Restore", lambda: self._bg(env.restore_network))
        layout.addWidget(net)
        layout.addWidget(self.status)

    def _button(
        self, grid: QGridLayout, row: int, col: int, text: str, action: Callable[[], object]
    ) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(lambda _=False: self._run(text, action))
        grid.addWidget(button, row, col)
        return button

    def _run(self, text: str, action: Callable[[], object]) -> None:
        try:
            action()
        except Exception as err:  # a lever failing must not take the demo down
            self.status.setText(f"{text}: {type(err).__name__}")
            return
        self.status.setText(text)

    def _bg(self, action: Callable[[], object]) -> None:
        threading.Thread(target=action, name="devpanel", daemon=True).start()

    def _place(self) -> None:
        self.env.place_card(self.cards.currentData())

    def _scan_lutong(self) -> None:
        self.env.scan(self.env.issue_lutong_code())

    def _scan_expired(self) -> None:
        self.env.scan(self.env.issue_lutong_code(ttl_s=-60))

    def _scan_receipt(self) -> None:
        sandbox = self.env.sandbox
        cases = sandbox.cases() if sandbox else []
        if sandbox is not None and cases:
            self.env.scan(f"{sandbox.url}/cases/{cases[-1]['case_number']}")

    def _printer_ok(self) -> None:
        self.env.printer.clear_faults()
