"""Keeping a citizen inside the kiosk.

* The main window is full screen, frameless and stays on top; its ``closeEvent`` is ignored
  unless a technician unlocked the exit (Alt+F4 from a window manager does nothing).
* :class:`LockdownFilter`, installed on the QApplication, swallows every key chord with Alt,
  Meta or Ctrl (Alt+Tab, Alt+F4, Ctrl+W, Ctrl+Q, the Super key…), function keys and Escape,
  and every context-menu event. Text selection is off because the kiosk shows no editable or
  selectable text widgets (keypads are buttons plus a label with no text interaction).
* The cursor is hidden on touch kiosks.
* The technician gesture: five taps within three seconds in the top-left corner opens the
  PIN keypad; :class:`CornerTapDetector` is pure so it can be tested without Qt events.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent


@functools.cache
def blocked_keys() -> frozenset[Qt.Key]:
    """Keys swallowed on their own (built on first use: PySide6 builds its 471-member
    ``Qt.Key`` enum on first access, 40 ms that need not delay the first screen)."""
    return frozenset(
        {
            Qt.Key.Key_Tab,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Meta,
            Qt.Key.Key_Super_L,
            Qt.Key.Key_Super_R,
            Qt.Key.Key_Menu,
            *(getattr(Qt.Key, f"Key_F{i}") for i in range(1, 13)),
        }
    )


BLOCKED_MODIFIERS = (
    Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
    | Qt.KeyboardModifier.ControlModifier
)


class LockdownFilter(QObject):
    """Swallows escape chords and context menus application-wide."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blocked = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            assert isinstance(event, QKeyEvent)
            if event.modifiers() & BLOCKED_MODIFIERS or Qt.Key(event.key()) in blocked_keys():
                self.blocked += 1
                return True
        if kind == QEvent.Type.ContextMenu:
            self.blocked += 1
            return True
        return False


class CornerTapDetector:
    """Counts taps in a corner; ``tap`` returns True when the gesture is complete."""

    def __init__(self, taps: int = 5, window_s: float = 3.0, corner_px: int = 96) -> None:
        self.taps = taps
        self.window_s = window_s
        self.corner_px = corner_px
        self._times: list[float] = []

    def tap(self, x: float, y: float, now: float) -> bool:
        if x > self.corner_px or y > self.corner_px:
            self._times.clear()
            return False
        self._times = [t for t in self._times if now - t <= self.window_s]
        self._times.append(now)
        if len(self._times) >= self.taps:
            self._times.clear()
            return True
        return False
