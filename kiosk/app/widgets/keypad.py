"""On-screen keypads: digits, ID numbers (digits + X), phone numbers and letters.

The kiosk never shows the system keyboard and never uses a QLineEdit a citizen could select
text in: a :class:`KeypadInput` is a read-only display plus a grid of large buttons. The
value lives only in this widget until it is submitted as an event; ``clear()`` wipes it
(the session wipe calls it).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

LAYOUTS: dict[str, list[str]] = {
    "digits": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "✓"],
    "id_number": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0", "⌫", "清空", "✓"],
    "phone": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "✓"],
    "letters": [*"QWERTYUIOPASDFGHJKLZXCVBNM", "⌫", "清空", "✓"],
}
MAX_LENGTH = {"digits": 32, "id_number": 18, "phone": 11, "letters": 40}


class KeypadInput(QWidget):
    """A display and a keypad. Emits ``changed(str)`` on each key, ``submitted(str)`` on ✓."""

    changed = Signal(str)
    submitted = Signal(str)

    def __init__(
        self,
        kind: str = "digits",
        *,
        masked: bool = False,
        parent: QWidget | None = None,
        columns: int | None = None,
    ) -> None:
        super().__init__(parent)
        if kind not in LAYOUTS:
            raise ValueError(f"unknown keypad kind {kind!r}")
        self.kind = kind
        self.masked = masked
        self._value = ""
        self.display = QLabel("")
        self.display.setObjectName("keypadDisplay")
        self.display.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.display.setMinimumHeight(64)
        grid = QGridLayout()
        grid.setSpacing(8)
        cols = columns or (10 if kind == "letters" else 3)
        self.keys: dict[str, QPushButton] = {}
        for i, key in enumerate(LAYOUTS[kind]):
            button = QPushButton(key)
            button.setObjectName("keypadKey")
            button.setMinimumSize(72, 64)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            grid.addWidget(button, i // cols, i % cols)
            self.keys[key] = button
        layout = QVBoxLayout(self)
        layout.addWidget(self.display)
        layout.addLayout(grid)

    @property
    def value(self) -> str:
        return self._value

    def set_value(self, value: str) -> None:
        self._value = value[: MAX_LENGTH[self.kind]]
        self._render()

    def press(self, key: str) -> None:
        if key == "⌫":
            self._value = self._value[:-1]
        elif key == "清空":
            self._value = ""
        elif key == "✓":
            self.submitted.emit(self._value)
            return
        elif len(self._value) < MAX_LENGTH[self.kind]:
            if self.kind == "id_number" and key == "X" and len(self._value) != 17:
                return  # X is only ever the check character
            self._value += key
        self._render()
        self.changed.emit(self._value)

    def clear(self) -> None:
        self._value = ""
        self._render()

    def _render(self) -> None:
        shown = "•" * len(self._value) if self.masked else self._value
        self.display.setText(shown or " ")
