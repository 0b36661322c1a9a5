"""Resident ID number (公民身份号码) check digit, GB 11643-1999 (ISO 7064 MOD 11-2).

Pure string arithmetic; also masks numbers for display (``3701**********123X``).
"""

from __future__ import annotations

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The 18th character for the 17 leading digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_id_number(value: str) -> bool:
    """True when ``value`` is 18 characters whose last one is the right check character."""
    if len(value) != 18 or not value[:17].isascii() or not value[:17].isdigit():
        return False
    return value[17].upper() == check_character(value[:17])


def mask_id_number(value: str) -> str:
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
