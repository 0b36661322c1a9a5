"""Typed errors of the platform link and the outbox.

Library exceptions (``requests``, ``sqlite3``, ``cryptography``) are translated into these at
one boundary each (the client, the outbox) with ``raise … from err``. Every error carries a
stable ``code``, a ``reason`` a technician can act on, whether retrying can help
(``retryable``) and the CLI exit code. Messages never contain personal data: bodies and
field *values* are not quoted, only field locations and the platform's reason codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.exit_codes import ExitCode


class PlatformError(Exception):
    """Anything that went wrong talking to the platform."""

    code = "platform_error"
    exit_code = ExitCode.PLATFORM_UNAVAILABLE
    retryable = False

    def __init__(self, reason: str, *, status_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "reason": self.reason, "status_code": self.status_code}


class PlatformUnavailableError(PlatformError):
    """No usable answer: connection refused or dropped, timeout, TLS failure, 5xx, 429."""

    code = "platform_unavailable"
    retryable = True


class PlatformProtocolError(PlatformUnavailableError):
    """The platform answered something the contract does not allow (unparsable body)."""

    code = "platform_protocol_error"


class PlatformTooLargeError(PlatformError):
    """The answer's body is over the caller's size limit (``Content-Length`` or as it
    streamed in); the transfer was abandoned. Not retried: the same answer would come."""

    code = "platform_too_large"


class PlatformAuthError(PlatformError):
    """401: the request's signature was refused. ``auth_reason`` is the contract's reason code
    (``missing_headers``, ``unknown_kiosk``, ``stale_timestamp``, ``replayed_nonce``,
    ``bad_signature``)."""

    code = "platform_auth"
    exit_code = ExitCode.PLATFORM_AUTH

    def __init__(self, auth_reason: str, *, status_code: int | None = 401) -> None:
        super().__init__(f"platform refused the request signature: {auth_reason}", status_code=401)
        self.auth_reason = auth_reason

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "auth_reason": self.auth_reason}


@dataclass(frozen=True)
class FieldError:
    loc: tuple[str | int, ...]
    msg: str

    def __str__(self) -> str:
        return f"{'.'.join(str(p) for p in self.loc)}: {self.msg}"


class PlatformRejectedError(PlatformError):
    """A 4xx other than 401/409/422: forbidden, not found, too large. Retrying cannot help."""

    code = "platform_rejected"
    exit_code = ExitCode.PLATFORM_VALIDATION

    def __init__(
        self, reason: str, *, status_code: int | None = None, error_code: str | None = None
    ) -> None:
        super().__init__(reason, status_code=status_code)
        self.error_code = error_code


class PlatformValidationError(PlatformRejectedError):
    """422: the body broke the contract; ``fields`` says where."""

    code = "platform_validation"

    def __init__(self, fields: list[FieldError], *, message: str = "") -> None:
        where = "; ".join(str(f) for f in fields) or message or "invalid request"
        super().__init__(f"platform rejected the request: {where}", status_code=422)
        self.fields = fields

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "fields": [{"loc": list(f.loc), "msg": f.msg} for f in self.fields],
        }


class PlatformConflictError(PlatformRejectedError):
    """409: e.g. the same Idempotency-Key was used with another body."""

    code = "platform_conflict"
    exit_code = ExitCode.PLATFORM_CONFLICT


class OutboxError(Exception):
    """The outbox database or its keys cannot be used."""

    exit_code = ExitCode.OUTBOX_ERROR


class OutboxKeyError(OutboxError):
    """A sealing key is missing, unreadable, too widely readable, or does not open a row."""


class QueueItemNotFoundError(OutboxError):
    exit_code = ExitCode.QUEUE_ITEM_NOT_FOUND

    def __init__(self, item_id: int) -> None:
        super().__init__(f"no outbox item with id {item_id}")
        self.item_id = item_id
