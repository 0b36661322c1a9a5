"""Synthetic personal data for tests (GB 11643 check digits; no real person)."""

from __future__ import annotations

import random
from typing import Any

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"


def id_number(rng: random.Random) -> str:
    """A syntactically valid 18-digit resident ID number (ISO 7064 MOD 11-2 check digit)."""
    body = f"370102{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body += f"{rng.randint(0, 999):03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def case_payload(
    rng: random.Random, *, item_code: str = "YJS-0009", pad: int = 0
) -> dict[str, Any]:
    return {
        "item_code": item_code,
        "kiosk_id": "kiosk-test",
        "session_id": f"s{rng.randint(0, 10**9)}",
        "applicant": {
            "id_type": "resident",
            "id_number": id_number(rng),
            "name": "测试" + rng.choice("甲乙丙丁戊己庚辛"),
            "phone": f"139{rng.randint(0, 10**8 - 1):08d}",
        },
        "form": {"address": "历下区测试路" + str(rng.randint(1, 999)) + "号", "note": "x" * pad},
        "materials": [
            {
                "code": "M01",
                "source": "waived",
                "licence_id": None,
                "content_b64": None,
                "commitment": True,
            }
        ],
        "submitted_at": "2026-11-28T10:00:00+08:00",
    }
