"""Logging set-up: JSON lines to a rotating file, readable lines on the console.

Personal data is redacted by **whitelist**: a log call's ``%``-arguments and ``extra``
fields are written as they are only when they are known to be safe —

* arguments of safe types (int, float, bool, None, enums) or wrapped in :class:`Safe`;
* ``extra`` fields whose *name* is in :data:`SAFE_FIELDS`.

Every other value is replaced by ``"[redacted]"``. Messages are format strings written by
developers and never contain personal data themselves; anything that might (a name, an
ID number, an address, a scanned code, a frame payload) must be passed as an argument,
where it is redacted unless explicitly marked. Exception tracebacks are kept (they show
code paths) but exception *messages* are redacted unless the exception type is ours and
declares its message safe.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

REDACTED = "[redacted]"

#: ``extra`` field names whose values are logged as they are.
SAFE_FIELDS = frozenset(
    {
        "device",
        "driver",
        "url",
        "state",
        "code",
        "command",
        "command_id",
        "duration_ms",
        "exit_code",
        "kiosk_id",
        "item_code",
        "flow",
        "step",
        "event",
        "effect",
        "case_number",
        "outbox_id",
        "attempt",
        "status_code",
        "endpoint",
        "method",
        "count",
        "reason_code",
        "remediation",
        "version",
        "port",
        "bytes",
    }
)

_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class Safe(str):
    """Mark a string argument as safe to log (a URL, a state name, an error code)."""

    __slots__ = ()


def _safe_arg(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | Enum | Safe):
        return value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return REDACTED


def redacted_message(record: logging.LogRecord) -> str:
    args = record.args
    if not args:
        return str(record.msg)
    try:
        if isinstance(args, dict):
            return str(record.msg) % {k: _safe_arg(v) for k, v in args.items()}
        return str(record.msg) % tuple(_safe_arg(a) for a in args)
    except (TypeError, ValueError):
        return f"{record.msg} [unformattable arguments redacted]"


def redacted_extra(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _RECORD_ATTRS or key.startswith("_"):
            continue
        if key in SAFE_FIELDS and isinstance(value, str | int | float | bool | type(None)):
            out[key] = value
        else:
            out[key] = REDACTED
    return out


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, safe extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "message": redacted_message(record),
        }
        doc.update(redacted_extra(record))
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = record.exc_info[0].__name__
            doc["traceback"] = self._redacted_traceback(record)
        return json.dumps(doc, ensure_ascii=False)

    def _redacted_traceback(self, record: logging.LogRecord) -> str:
        # Only "File …, line N, in func" lines: source lines and messages may hold data.
        text = self.formatException(record.exc_info) if record.exc_info else ""
        frames = [line.strip() for line in text.splitlines() if line.startswith('  File "')]
        name = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else "?"
        return "\n".join([*frames, f"{name}: {REDACTED}"])


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value`` — redacted the same way."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extra = " ".join(f"{k}={v}" for k, v in redacted_extra(record).items())
        line = f"{when} {record.levelname:<7} {record.name}: {redacted_message(record)}"
        if extra:
            line += f"  {extra}"
        if record.exc_info and record.exc_info[0] is not None:
            line += f"  ({record.exc_info[0].__name__})"
        return line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record, like logging's last
    resort: a stream captured when logging was set up (a test runner's, a CLI runner's) may
    be closed by the time a worker thread logs."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(
    log_dir: Path | None,
    *,
    level: str = "INFO",
    max_bytes: int = 5_000_000,
    backups: int = 5,
    console: bool = True,
    console_level: str = "WARNING",
) -> None:
    """Configure the root logger (idempotent: replaces handlers set up earlier)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        # imported here: only with a log directory (kiosk run's first screen has none)
        from logging.handlers import RotatingFileHandler

        file_handler = RotatingFileHandler(
            log_dir / "kiosk.jsonl", maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        file_handler.setFormatter(JsonFormatter())
        root.addHandler(file_handler)
    if console:
        stream = _StderrHandler()
        stream.setLevel(console_level)
        stream.setFormatter(ConsoleFormatter())
        root.addHandler(stream)
