"""Log redaction is a whitelist: only safe types, Safe() strings and known fields pass."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest

from config.logs import REDACTED, Safe, setup_logging


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_json_file_redacts_by_whitelist(tmp_path: Path) -> None:
    setup_logging(tmp_path, level="DEBUG", console=False)
    log = logging.getLogger("quanban.test")
    log.info("read card for %s id %s in %d ms", "张三", "370102199001011234", 42)
    log.info("device %s state %s", Safe("idcard"), Safe("online"))
    log.info("event", extra={"device": "idcard", "holder": "李四", "count": 3})
    try:
        raise ValueError("address 济南市历下区")
    except ValueError:
        log.exception("failed on %s", Safe("read"))
    logging.getLogger().handlers[0].flush()
    text = (tmp_path / "kiosk.jsonl").read_text(encoding="utf-8")
    for secret in ("张三", "370102199001011234", "李四", "济南市历下区"):
        assert secret not in text
    lines = read_lines(tmp_path / "kiosk.jsonl")
    assert lines[0]["message"] == f"read card for {REDACTED} id {REDACTED} in 42 ms"
    assert lines[1]["message"] == "device idcard state online"
    assert lines[2]["device"] == "idcard" and lines[2]["holder"] == REDACTED
    assert lines[2]["count"] == 3
    assert lines[3]["exception"] == "ValueError"
    assert "test_json_file_redacts_by_whitelist" in str(lines[3]["traceback"])
    setup_logging(None, console=False)


def test_rotation(tmp_path: Path) -> None:
    setup_logging(tmp_path, max_bytes=10_000, backups=2, console=False)
    log = logging.getLogger("quanban.rotate")
    for i in range(2000):
        log.warning("line %d", i)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["kiosk.jsonl", "kiosk.jsonl.1", "kiosk.jsonl.2"]
    setup_logging(None, console=False)


def test_console_follows_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set up while one stderr is in place (a CLI runner's), logging later after it closed."""
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging(None, console=True)
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    try:
        logging.getLogger("quanban.console").warning("link lost: %s", Safe("HTTP 503"))
    finally:
        setup_logging(None, console=False)
    assert "link lost: HTTP 503" in second.getvalue()
