"""Searching services by Chinese name, full pinyin or pinyin initials.

A citizen types on the on-screen keypad: "社保", "shebao" or "sb" all find 社保参保证明.
The index is built once per catalogue (pypinyin is slow per call, fast enough once), off
the GUI thread after start-up (``kiosk.app.screens.HomeScreen.warm_index``).
Matching is by substring on three normalised forms; results keep catalogue order, with
name-prefix matches first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchEntry:
    key: str  # the item code
    name: str
    pinyin: str  # "shebaocanbaozhengming"
    initials: str  # "sbcbzm"
    keywords: tuple[str, ...] = ()


def _pinyin_forms(text: str) -> tuple[str, str]:
    # imported here: pypinyin's dictionaries take ~0.5 s to load, not worth it at start-up
    from pypinyin import Style, lazy_pinyin

    full = lazy_pinyin(text, errors="ignore")
    initials = lazy_pinyin(text, style=Style.FIRST_LETTER, errors="ignore")
    return "".join(full).lower(), "".join(initials).lower()


def build_index(items: Iterable[tuple[str, str, Sequence[str]]]) -> list[SearchEntry]:
    """``items``: (code, name, keywords). Returns entries in the given order."""
    entries = []
    for code, name, keywords in items:
        full, initials = _pinyin_forms(name)
        kw_forms: list[str] = []
        for kw in keywords:
            kw_full, kw_init = _pinyin_forms(kw)
            kw_forms += [kw, kw_full, kw_init]
        entries.append(SearchEntry(code, name, full, initials, tuple(kw_forms)))
    return entries


def search(index: Sequence[SearchEntry], query: str, limit: int = 50) -> list[str]:
    """Item codes matching ``query`` (Chinese, pinyin or initials; case/space-insensitive)."""
    q = "".join(query.split()).lower()
    if not q:
        return [e.key for e in index[:limit]]
    prefix: list[str] = []
    rest: list[str] = []
    for e in index:
        if e.name.startswith(q) or e.pinyin.startswith(q) or e.initials.startswith(q):
            prefix.append(e.key)
        elif q in e.name or q in e.pinyin or q in e.initials or any(q in k for k in e.keywords):
            rest.append(e.key)
    return (prefix + rest)[:limit]
