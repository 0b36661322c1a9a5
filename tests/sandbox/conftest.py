"""Shared fixtures: one real sandbox process per test module (stopped by PID afterwards)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")


@pytest.fixture
def sb(sandbox: SandboxProcess) -> Iterator[SandboxProcess]:
    """The module's sandbox with faults cleared before and after each test."""
    sandbox.clear_faults()
    try:
        yield sandbox
    finally:
        sandbox.clear_faults()


@pytest.fixture(scope="module")
def holder(sandbox: SandboxProcess) -> dict[str, Any]:
    """A seeded synthetic holder."""
    return sandbox.holders()[0]


def make_id(first17: str) -> str:
    """A synthetic GB 11643 number: 17 digits plus the ISO 7064 MOD 11-2 check character."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


APPLICANT_ID = make_id("37010219850312371")


def jpeg_bytes(color: tuple[int, int, int] = (200, 150, 120)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="JPEG")
    return buf.getvalue()


def case_body(kiosk_id: str, item_code: str = "YJS-0009", **form: Any) -> dict[str, Any]:
    return {
        "item_code": item_code,
        "kiosk_id": kiosk_id,
        "session_id": "sess-0001",
        "applicant": {
            "id_type": "resident",
            "id_number": APPLICANT_ID,
            "name": "测试甲",
            "phone": "17000000009",
        },
        "form": form or {"child_name": "测试乙"},
        "materials": [{"code": "M01", "source": "waived", "commitment": True}],
        "submitted_at": "2026-11-28T10:00:00+08:00",
    }
