"""Touch widgets, lockdown and search: the parts of the app that need no flow."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QContextMenuEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from kiosk.app.lockdown import CornerTapDetector, LockdownFilter
from kiosk.app.search import build_index, search
from kiosk.app.theme import ELDER, NORMAL
from kiosk.app.widgets.keypad import KeypadInput


def test_id_keypad_accepts_x_only_as_check_character(qtbot: QtBot) -> None:
    pad = KeypadInput("id_number")
    qtbot.addWidget(pad)
    pad.press("X")
    assert pad.value == ""
    for ch in "37010219900101123":
        pad.press(ch)
    pad.press("X")
    assert pad.value == "37010219900101123X"
    pad.press("5")  # full: 18 characters
    assert pad.value == "37010219900101123X"
    with qtbot.waitSignal(pad.submitted) as blocker:
        pad.keys["✓"].click()
    assert blocker.args == ["37010219900101123X"]
    pad.press("⌫")
    assert pad.value == "37010219900101123"
    pad.clear()
    assert pad.value == "" and pad.display.text() == " "


def test_masked_keypad_never_shows_digits(qtbot: QtBot) -> None:
    pad = KeypadInput("digits", masked=True)
    qtbot.addWidget(pad)
    for ch in "123456":
        pad.press(ch)
    assert pad.display.text() == "••••••"
    assert pad.display.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction


def test_phone_keypad_length(qtbot: QtBot) -> None:
    pad = KeypadInput("phone")
    qtbot.addWidget(pad)
    for ch in "139000011112222":
        pad.press(ch)
    assert pad.value == "13900001111"


def test_lockdown_swallows_escape_chords_and_context_menus(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert app is not None
    target = QWidget()
    qtbot.addWidget(target)
    filt = LockdownFilter()
    app.installEventFilter(filt)
    try:
        chords = [
            (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
            (Qt.Key.Key_Tab, Qt.KeyboardModifier.AltModifier),
            (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
            (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_Super_L, Qt.KeyboardModifier.NoModifier),
        ]
        for key, mods in chords:
            ev = QKeyEvent(QEvent.Type.KeyPress, key, mods)
            assert filt.eventFilter(target, ev) is True
        plain = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_5, Qt.KeyboardModifier.NoModifier)
        assert filt.eventFilter(target, plain) is False
        pos = target.rect().center()
        menu = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, target.mapToGlobal(pos))
        assert filt.eventFilter(target, menu) is True
        assert filt.blocked == len(chords) + 1
    finally:
        app.removeEventFilter(filt)


def test_corner_gesture() -> None:
    det = CornerTapDetector(taps=5, window_s=3.0, corner_px=96)
    assert not any(det.tap(10, 10, t) for t in (0.0, 0.5, 1.0, 1.5))
    assert det.tap(10, 10, 2.0)
    # too slow: taps spread over more than the window never complete
    assert not any(det.tap(10, 10, 10.0 + t) for t in (0, 1, 2, 3, 4, 5, 6))
    # a tap outside the corner resets the count
    for t in (20.0, 20.1, 20.2, 20.3):
        det.tap(5, 5, t)
    assert not det.tap(500, 500, 20.4)
    assert not det.tap(5, 5, 20.5)


def test_pinyin_search() -> None:
    index = build_index(
        [
            ("A", "社保参保证明", ["社会保险"]),
            ("B", "公积金缴存证明", []),
            ("C", "个人所得税纳税记录开具", ["个税"]),
            ("D", "新生儿出生一件事", ["落户"]),
        ]
    )
    assert search(index, "社保") == ["A"]
    assert search(index, "shebao") == ["A"]
    assert search(index, "SBCB") == ["A"]
    assert search(index, "gjj") == ["B"]
    assert search(index, "证明") == ["A", "B"]
    assert search(index, "gs") == ["C"]  # keyword initials: 个税
    assert search(index, "luohu") == ["D"]
    assert search(index, "") == ["A", "B", "C", "D"]
    assert search(index, "zzzz") == []


def test_elder_theme_is_bigger_and_slower() -> None:
    assert ELDER.font_px >= 1.5 * NORMAL.font_px
    assert ELDER.items_per_page < NORMAL.items_per_page
    assert ELDER.timeout_factor > NORMAL.timeout_factor
    assert "3px solid #000000" in ELDER.stylesheet()


def test_home_pages_through_services_and_elder_shows_fewer(qtbot: QtBot) -> None:
    from flows.catalogue import shipped_catalogue
    from kiosk.app.screens import HomeScreen

    theme = [NORMAL]
    home = HomeScreen(lambda: "zh_CN", lambda: theme[0])
    qtbot.addWidget(home)
    items = shipped_catalogue().items
    home.set_items(items, [])
    yjs = [i.code for i in items if i.category in ("yijianshi", "benefit", "cross_region")]
    assert list(home.item_buttons) == yjs[: NORMAL.items_per_page]
    assert home.pages == -(-len(yjs) // NORMAL.items_per_page)
    home.next_button.click()
    assert list(home.item_buttons) == yjs[NORMAL.items_per_page : 2 * NORMAL.items_per_page]
    assert not home.next_button.isEnabled() or home.pages > 2
    home.prev_button.click()
    assert home.page == 0 and not home.prev_button.isEnabled()
    theme[0] = ELDER
    home.redraw()
    assert len(home.item_buttons) == ELDER.items_per_page < NORMAL.items_per_page
    assert home.columns == 2
    home.choose_category("tax")  # a new category starts on its first page
    assert home.page == 0 and all(code.startswith("SW-") for code in home.item_buttons)
