"""Creating the QApplication the same way for the app, the demo, the tests and the bench."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from config.logs import Safe

#: Harmless warnings of the offscreen platform plugin, dropped so real ones stand out.
_NOISE = ("This plugin does not support propagateSizeHints()",)


def _handler(kind: QtMsgType, _context: object, message: str) -> None:
    if message in _NOISE:
        return
    if kind in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        logging.getLogger("qt").warning("%s", Safe(message))


def application(*, offscreen: bool = False) -> QApplication:
    """The process's QApplication (created once); offscreen when asked or without a display."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    qInstallMessageHandler(_handler)
    return QApplication([])
