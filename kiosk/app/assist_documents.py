"""The document a remote assistant pushed, shown to the citizen (docs/remote-help.md §6).

:class:`DocumentBar` sits with the other remote-help bars above the screen. On
:class:`~kiosk.remote.notices.DocumentReceived` (bytes already fetched from the platform and
checked against the offer's SHA-256 by :mod:`kiosk.remote`) it shows the title, a preview
for images, and for a PDF a print button that queues it on the A4 printer. On
:class:`~kiosk.remote.notices.DocumentRefused` it says, in plain Chinese first, that the
file was not accepted. Nothing is opened that did not pass the check.

Threading: a GUI-thread widget. The printer's completion arrives on the printer's worker
thread and comes back through the ``print_finished`` signal (queued to the GUI thread).
Personal data: a pushed document may hold some; the bytes live in this widget only while it
is shown, :meth:`DocumentBar.wipe` (on close, help end and session end) forgets them, and
nothing about them is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from kiosk.app.screens import big_button

if TYPE_CHECKING:  # imported where used: this bar is built before the first screen
    from kiosk.remote.notices import DocumentReceived, DocumentRefused

#: Why a pushed file was not accepted, as the citizen reads it.
REFUSAL_TEXT = {
    "hash_mismatch": "文件校验未通过，已拒收 / The file failed its check and was refused",
    "too_large": "文件过大，已拒收 / The file is too large and was refused",
    "bad_type": "文件类型不支持，已拒收 / This kind of file is not accepted",
    "offline": "网络中断，文件未能取回 / The network is down: the file could not be fetched",
}
REFUSAL_DEFAULT = "文件未能接收 / The file could not be received"
PREVIEW_HEIGHT = 360

#: Returns the A4 printer when it can print now, else None.
PrinterOf = Callable[[], Any | None]


class DocumentBar(QWidget):
    """See the module docstring."""

    print_finished = Signal(bool)

    def __init__(self, printer: PrinterOf) -> None:
        super().__init__()
        self.printer = printer
        self.document: DocumentReceived | None = None
        outer = QVBoxLayout(self)
        row = QHBoxLayout()
        self.label = QLabel()
        self.label.setWordWrap(True)
        row.addWidget(self.label, 1)
        self.print_button = big_button("打印 / Print", name="primary")
        self.close_button = big_button("关闭 / Close")
        row.addWidget(self.print_button)
        row.addWidget(self.close_button)
        outer.addLayout(row)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.hide()
        outer.addWidget(self.preview)
        self.print_button.clicked.connect(self.print_document)
        self.close_button.clicked.connect(self.wipe)
        self.print_finished.connect(self._printed)
        self.hide()

    def show_document(self, event: DocumentReceived | DocumentRefused) -> None:
        from kiosk.remote.notices import DocumentRefused

        self.wipe()
        if isinstance(event, DocumentRefused):
            text = REFUSAL_TEXT.get(event.reason, REFUSAL_DEFAULT)
            self.label.setText(f"工作人员推送的文件「{event.title}」：{text}")
            self.print_button.hide()
            self.show()
            return
        self.document = event
        self.label.setText(f"工作人员为您推送了文件「{event.title}」")
        if event.content_type.startswith("image/"):
            pixmap = QPixmap()
            if pixmap.loadFromData(event.data):
                self.preview.setPixmap(
                    pixmap.scaledToHeight(
                        min(PREVIEW_HEIGHT, pixmap.height()),
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
                self.preview.show()
        printable = event.content_type == "application/pdf" and self.printer() is not None
        self.print_button.setVisible(printable)
        self.print_button.setEnabled(printable)
        self.show()

    def print_document(self) -> None:
        doc, printer = self.document, self.printer()
        if doc is None or printer is None or doc.content_type != "application/pdf":
            return
        self.print_button.setEnabled(False)
        self.label.setText(f"正在打印「{doc.title}」… / Printing…")
        handle = printer.print_pdf(doc.data, title="assist-document")

        def done(fut: Future[Any]) -> None:  # on the printer's worker thread
            self.print_finished.emit(fut.exception() is None)

        handle.future.add_done_callback(done)

    def _printed(self, ok: bool) -> None:
        if self.document is None:
            return  # wiped meanwhile (the session ended)
        title = self.document.title
        if ok:
            self.label.setText(f"「{title}」已打印，请取走 / Printed: please take it")
        else:
            self.label.setText(f"「{title}」打印失败，请联系工作人员 / Printing failed")
            self.print_button.setEnabled(True)

    def wipe(self) -> None:
        """Forget the document (its bytes may be personal) and hide."""
        self.document = None
        self.preview.clear()
        self.preview.hide()
        self.label.clear()
        self.print_button.show()
        self.hide()
