"""鲁通码 verification: the kiosk-side adapter over the platform's 验码 endpoint.

A 鲁通码 is an opaque, short-lived token that only the platform can check (SZSD 0056.1—2024
Annex A.1; PROTOCOLS.md §3): ``POST /api/v1/identity/verify-code`` ``{"code"}`` →
``{"result": valid|expired|rejected, "holder_ref", "expires_in"}`` (docs/platform-api.md).
Flows depend on the :class:`CodeVerifier` protocol only; :class:`PlatformCodeVerifier`
implements it over :class:`offline.client.PlatformClient` (signing, timeouts, link state).

Outcomes: ``valid`` (with the holder reference used to fetch user information after
consent), ``expired``, ``rejected`` (forged, unknown, or a form the platform refuses), and
``offline`` — the platform could not be asked. Offline is not a failure of the citizen: the
result carries a clear message and the other ways to identify (the resident ID card works
without the platform).

Personal data: the code is passed to the platform and nowhere else — never stored, never
logged (log lines carry outcome and reason codes only). ``holder_ref`` is hidden in ``repr``.
Threading: ``verify`` blocks on HTTP; call it from a worker, never from the GUI thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from config.logs import Safe
from offline.errors import (
    PlatformAuthError,
    PlatformError,
    PlatformRejectedError,
    PlatformUnavailableError,
)

log = logging.getLogger(__name__)


class VerifyStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REJECTED = "rejected"
    OFFLINE = "offline"


@dataclass(frozen=True)
class UserText:
    """Citizen-visible text in the kiosk's two languages."""

    zh_CN: str  # noqa: N815 - the locale name, as flows.model.Text spells it
    en: str

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.zh_CN


_MESSAGES: dict[VerifyStatus, UserText] = {
    VerifyStatus.VALID: UserText("鲁通码核验通过。", "Your Lutong code has been verified."),
    VerifyStatus.EXPIRED: UserText(
        "鲁通码已过期，请在“爱山东”APP中刷新后重新出示。",
        "This Lutong code has expired. Refresh it in the iShandong app and show it again.",
    ),
    VerifyStatus.REJECTED: UserText(
        "无法核验该鲁通码，请出示本人有效的鲁通码，或改用身份证办理。",
        "This Lutong code could not be verified. Show your own valid code, or use your ID card.",
    ),
    VerifyStatus.OFFLINE: UserText(
        "暂时无法连接省政务服务平台，鲁通码不能核验。请改用身份证刷卡识别，或联系大厅工作人员。",
        "The provincial platform cannot be reached, so Lutong codes cannot be verified now. "
        "Please use your resident ID card instead, or ask the hall staff for help.",
    ),
}

#: Identification methods that still work in each case (flows offer them as buttons).
_ALTERNATIVES: dict[VerifyStatus, tuple[str, ...]] = {
    VerifyStatus.VALID: (),
    VerifyStatus.EXPIRED: ("lutong_code", "id_card"),
    VerifyStatus.REJECTED: ("id_card",),
    VerifyStatus.OFFLINE: ("id_card", "staff"),
}


@dataclass(frozen=True)
class Verification:
    status: VerifyStatus
    holder_ref: str | None = field(default=None, repr=False)
    expires_in: int | None = None
    #: Technician reason code (no personal data), e.g. "platform_unavailable".
    reason: str = ""

    @property
    def message(self) -> UserText:
        return _MESSAGES[self.status]

    @property
    def alternatives(self) -> tuple[str, ...]:
        return _ALTERNATIVES[self.status]


class CodeVerifier(Protocol):
    """Verify a 鲁通码 online: valid / expired / rejected / offline."""

    def verify(self, code: str) -> Verification: ...


class VerifyCodeClient(Protocol):
    """What the adapter needs from the platform client (offline.client.PlatformClient)."""

    def verify_code(self, code: str) -> Any: ...


class PlatformCodeVerifier:
    """:class:`CodeVerifier` over the platform client's ``verify_code``."""

    def __init__(self, client: VerifyCodeClient) -> None:
        self.client = client

    def verify(self, code: str) -> Verification:
        if not code or len(code) > 4096:
            return Verification(VerifyStatus.REJECTED, reason="malformed")
        try:
            answer = self.client.verify_code(code)
        except PlatformUnavailableError as err:
            log.warning("鲁通码 verification offline: %s", Safe(err.code))
            return Verification(VerifyStatus.OFFLINE, reason=err.code)
        except PlatformAuthError as err:
            # The kiosk's enrolment is wrong: a technician must act, the citizen goes on
            # with another way to identify.
            log.error("鲁通码 verification refused the kiosk: %s", Safe(err.auth_reason))
            return Verification(VerifyStatus.OFFLINE, reason=f"platform_auth:{err.auth_reason}")
        except PlatformRejectedError as err:
            log.info("鲁通码 rejected by the platform: %s", Safe(err.code))
            return Verification(VerifyStatus.REJECTED, reason=err.code)
        except PlatformError as err:
            log.warning("鲁通码 verification failed: %s", Safe(err.code))
            return Verification(VerifyStatus.OFFLINE, reason=err.code)
        status = VerifyStatus(str(answer.result))
        log.info("鲁通码 verification: %s", Safe(status.value))
        return Verification(
            status,
            holder_ref=answer.holder_ref if status is VerifyStatus.VALID else None,
            expires_in=answer.expires_in,
            reason="",
        )
