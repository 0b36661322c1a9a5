"""GB 11643-1999 citizen identity numbers: check digit and structural validation.

An identity number is 17 digits (6-digit region, 8-digit birth date YYYYMMDD, 3-digit
sequence whose last digit is odd for men, even for women) followed by a check character
computed with ISO 7064 MOD 11-2 (``0``-``9`` or ``X``). Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_char(first17: str) -> str:
    """The GB 11643 check character of 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("need exactly 17 ASCII digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def validate(number: str) -> str | None:
    """Return why ``number`` is not a valid identity number, or None when it is."""
    if len(number) != 18:
        return "must be 18 characters"
    body, last = number[:17], number[17]
    if not body.isascii() or not body.isdigit() or last not in "0123456789X":
        return "must be 17 digits and a digit or X"
    try:
        date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return "birth date is not a real date"
    if check_char(body) != last:
        return "check digit does not match (GB 11643)"
    return None


def make(region: str, birth: date, sequence: int) -> str:
    """Build a valid number (for synthetic seed data)."""
    body = f"{region:0>6}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + check_char(body)


def gender_of(number: str) -> str:
    """``"男"`` for an odd sequence digit, ``"女"`` for an even one."""
    return "男" if int(number[16]) % 2 == 1 else "女"
