"""Line breaking shared by the renderers: by display columns (ESC/POS) or by a width
function (PDF). CJK text breaks between any two characters; Latin words are kept whole
when they fit on a line; closing punctuation is never put at the start of a line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

_NO_LINE_START = set("，。、；：？！）》」』】,.;:?!)") | {"\u3001"}


def char_columns(c: str) -> int:
    return 2 if unicodedata.east_asian_width(c) in "WF" else 1


def columns(s: str) -> int:
    return sum(char_columns(c) for c in s)


def _tokens(text: str) -> list[str]:
    """Split into breakable units: one CJK character, or a run of Latin letters/digits."""
    out: list[str] = []
    word = ""
    for c in text:
        if c.isascii() and (c.isalnum() or c in "-_./:@#%+"):
            word += c
            continue
        if word:
            out.append(word)
            word = ""
        out.append(c)
    if word:
        out.append(word)
    return out


def wrap(text: str, width: float, measure: Callable[[str], float] = columns) -> list[str]:
    """Greedy line breaking of ``text`` into lines of at most ``width`` (by ``measure``)."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for tok in _tokens(para):
            if measure(line + tok) <= width:
                line += tok
                continue
            if tok in _NO_LINE_START and line:
                line += tok  # hanging punctuation: a little over is better than a stray 。
                continue
            if line.strip():
                lines.append(line.rstrip())
                line = tok.lstrip()
            else:
                line = tok
            while measure(line) > width and len(line) > 1:  # a word longer than a line
                cut = len(line)
                while cut > 1 and measure(line[:cut]) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return lines
