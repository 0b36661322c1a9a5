"""The video corner of remote help: the assistant's video and, below it, a small preview of
what the assistant sees of the kiosk (the frames the camera track sends).

:class:`VideoCorner` floats over the bottom-right corner of the kiosk window's content,
above whatever screen is shown, and follows the window's size. It is shown with the first
picture of a connected help session and hidden and wiped (pixmaps cleared, no image kept)
when the help session or the citizen's session ends.

Threading contract: GUI thread only. Pictures come converted already (packed RGB888 from
:class:`kiosk.remote.video.PictureRelay`, made on the remote-help thread); here they are
only wrapped in a QImage and drawn.

Personal data: the preview is the citizen's face. It is drawn, never saved or logged;
:meth:`VideoCorner.wipe` drops it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from kiosk.remote.video import Picture

MARGIN = 16


class VideoCorner(QWidget):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("videoCorner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#videoCorner { background: #202020; border-radius: 8px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.caption = QLabel("工作人员 / Assistant")
        self.caption.setStyleSheet("color: white; font-size: 14px;")
        layout.addWidget(self.caption)
        self.assistant = QLabel()
        self.assistant.setFixedSize(320, 240)
        self.assistant.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.assistant.setStyleSheet("background: black;")
        layout.addWidget(self.assistant)
        self.preview_caption = QLabel("对方看到的画面 / You")
        self.preview_caption.setStyleSheet("color: white; font-size: 14px;")
        layout.addWidget(self.preview_caption)
        self.preview = QLabel()
        self.preview.setFixedSize(160, 120)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: black;")
        layout.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignRight)
        self.hide()  # sized and placed when first shown (_place); nothing to lay out before

    def show_picture(self, picture: Picture) -> None:
        label = self.assistant if picture.source == "assistant" else self.preview
        image = QImage(
            picture.rgb,
            picture.width,
            picture.height,
            3 * picture.width,
            QImage.Format.Format_RGB888,
        )
        # fromImage copies the pixels: the picture's bytes may go once this returns
        pixmap = QPixmap.fromImage(image).scaled(
            label.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        label.setPixmap(pixmap)
        if not self.isVisible():
            self._place()
            self.show()
            self.raise_()
            parent = self.parentWidget()
            if parent is not None:  # follow the window's size while shown (only then:
                parent.installEventFilter(self)  # each filtered event costs a Python call)

    def wipe(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            parent.removeEventFilter(self)
        self.hide()
        self.assistant.clear()
        self.preview.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if isinstance(event, QResizeEvent) and watched is self.parentWidget():
            self._place()
        return False

    def _place(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        self.adjustSize()
        self.move(
            max(0, parent.width() - self.width() - MARGIN),
            max(0, parent.height() - self.height() - MARGIN),
        )
