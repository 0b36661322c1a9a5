"""Keyboard-wedge decoding: Linux input events (evdev) → the characters a scanner typed.

Pure: no I/O, no clock. Wire format (Linux ``struct input_event``, read from
``/dev/input/eventN``): ``struct timeval`` (two native ``long``), ``__u16 type``,
``__u16 code``, ``__s32 value`` — 24 bytes on 64-bit Linux. Only ``EV_KEY`` events matter:
value 1 = key down, 0 = key up, 2 = autorepeat (ignored: scanners never hold a key).

The mapping is the **US layout** (the scanner must be set to emulate a US keyboard; a scanner
set to another layout types other key codes for the same character). Letters honour Shift
and Caps Lock; digits and punctuation honour Shift; Ctrl+letter gives the control character
(scanners send Ctrl+M for CR and Ctrl+I for TAB in "function key" mode). A wedge carries
ASCII only: GB18030 or binary payloads need a serial (CDC/RS-232) scanner (PROTOCOLS.md §3).

Key codes come from ``evdev.ecodes`` (the kernel's ``input-event-codes.h``), not from
hand-typed numbers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from evdev import ecodes

EV_KEY = ecodes.EV_KEY
KEY_DOWN, KEY_UP, KEY_REPEAT = 1, 0, 2

#: Native ``struct input_event`` (timeval as two longs).
INPUT_EVENT = struct.Struct("@llHHi")


@dataclass(frozen=True)
class KeyEvent:
    """One input event (``type``/``code``/``value`` as the kernel reports them)."""

    type: int
    code: int
    value: int


def _build_tables() -> tuple[dict[int, tuple[str, str]], set[int], set[int]]:
    table: dict[int, tuple[str, str]] = {}
    letters: set[int] = set()
    for ch in "abcdefghijklmnopqrstuvwxyz":
        code = ecodes.ecodes[f"KEY_{ch.upper()}"]
        table[code] = (ch, ch.upper())
        letters.add(code)
    for digit, shifted in zip("1234567890", "!@#$%^&*()", strict=True):
        table[ecodes.ecodes[f"KEY_{digit}"]] = (digit, shifted)
    punct = {
        "KEY_MINUS": ("-", "_"),
        "KEY_EQUAL": ("=", "+"),
        "KEY_LEFTBRACE": ("[", "{"),
        "KEY_RIGHTBRACE": ("]", "}"),
        "KEY_BACKSLASH": ("\\", "|"),
        "KEY_SEMICOLON": (";", ":"),
        "KEY_APOSTROPHE": ("'", '"'),
        "KEY_GRAVE": ("`", "~"),
        "KEY_COMMA": (",", "<"),
        "KEY_DOT": (".", ">"),
        "KEY_SLASH": ("/", "?"),
        "KEY_SPACE": (" ", " "),
        "KEY_TAB": ("\t", "\t"),
        "KEY_ENTER": ("\r", "\r"),
        "KEY_KPENTER": ("\r", "\r"),
        "KEY_KPDOT": (".", "."),
        "KEY_KPSLASH": ("/", "/"),
        "KEY_KPASTERISK": ("*", "*"),
        "KEY_KPMINUS": ("-", "-"),
        "KEY_KPPLUS": ("+", "+"),
    }
    for name, pair in punct.items():
        table[ecodes.ecodes[name]] = pair
    for digit in "0123456789":
        table[ecodes.ecodes[f"KEY_KP{digit}"]] = (digit, digit)
    shifts = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
    return table, letters, shifts


_TABLE, _LETTERS, _SHIFTS = _build_tables()
_CTRLS = {ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL}
_ALTS = {ecodes.KEY_LEFTALT, ecodes.KEY_RIGHTALT}


class KeyMapper:
    """Turns key events into characters, tracking Shift, Ctrl, Alt and Caps Lock."""

    def __init__(self) -> None:
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self.caps_lock = False
        #: Key presses that produced no character (unknown keys, Alt chords).
        self.unmapped = 0

    def feed(self, event: KeyEvent) -> str | None:
        """The character typed by ``event``, or None (release, modifier, other event)."""
        if event.type != EV_KEY:
            return None
        code, value = event.code, event.value
        for keys, held in ((_SHIFTS, self._shift), (_CTRLS, self._ctrl), (_ALTS, self._alt)):
            if code in keys:
                if value == KEY_DOWN:
                    held.add(code)
                elif value == KEY_UP:
                    held.discard(code)
                return None
        if value != KEY_DOWN:
            return None
        if code == ecodes.KEY_CAPSLOCK:
            self.caps_lock = not self.caps_lock
            return None
        pair = _TABLE.get(code)
        if pair is None or self._alt:
            self.unmapped += 1
            return None
        if self._ctrl:
            if code in _LETTERS:
                return chr(ord(pair[0]) & 0x1F)
            self.unmapped += 1
            return None
        shifted = bool(self._shift)
        if code in _LETTERS and self.caps_lock:
            shifted = not shifted
        return pair[1] if shifted else pair[0]

    def feed_all(self, events: Iterable[KeyEvent]) -> str:
        return "".join(ch for ev in events if (ch := self.feed(ev)) is not None)

    def reset(self) -> None:
        self._shift.clear()
        self._ctrl.clear()
        self._alt.clear()
        self.unmapped = 0


def parse_input_events(buf: bytes) -> tuple[list[KeyEvent], bytes]:
    """Split raw ``struct input_event`` records; return the events and the incomplete rest."""
    size = INPUT_EVENT.size
    whole = len(buf) - len(buf) % size
    events = [KeyEvent(t, c, v) for _s, _u, t, c, v in INPUT_EVENT.iter_unpack(buf[:whole])]
    return events, buf[whole:]


def encode_input_event(event: KeyEvent, sec: int = 0, usec: int = 0) -> bytes:
    return INPUT_EVENT.pack(sec, usec, event.type, event.code, event.value)


# --- the inverse, for the emulator and the tests ----------------------------------------

_SYN_REPORT = KeyEvent(ecodes.EV_SYN, ecodes.SYN_REPORT, 0)


def _reverse() -> dict[str, tuple[int, bool]]:
    rev: dict[str, tuple[int, bool]] = {}
    keypad = {c for name, c in ecodes.ecodes.items() if name.startswith("KEY_KP")}
    # Main-block keys win over keypad keys for the same character.
    for code, (plain, shifted) in sorted(_TABLE.items(), key=lambda kv: kv[0] in keypad):
        rev.setdefault(plain, (code, False))
        if shifted != plain:
            rev.setdefault(shifted, (code, True))
    return rev


_REVERSE = _reverse()


def text_to_key_events(text: str) -> Iterator[KeyEvent]:
    """The events a US-layout wedge scanner produces for ``text`` (ASCII only)."""
    shift = ecodes.KEY_LEFTSHIFT
    for ch in text:
        entry = _REVERSE.get(ch)
        if entry is None:
            raise ValueError(f"character U+{ord(ch):04X} cannot be typed by a keyboard wedge")
        code, shifted = entry
        if shifted:
            yield KeyEvent(EV_KEY, shift, KEY_DOWN)
            yield _SYN_REPORT
        yield KeyEvent(EV_KEY, code, KEY_DOWN)
        yield _SYN_REPORT
        yield KeyEvent(EV_KEY, code, KEY_UP)
        yield _SYN_REPORT
        if shifted:
            yield KeyEvent(EV_KEY, shift, KEY_UP)
            yield _SYN_REPORT
