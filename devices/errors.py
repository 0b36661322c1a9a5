"""Device errors: what went wrong, what it means, who can fix it, and the CLI exit code.

Modelled on OctoPrint's ``ErrorInformation`` and XFS4IoT's completion codes: every error
is written for the person who must act. ``frames`` carries the recent wire traffic (already
redacted: payloads that may hold personal data are replaced by their length) so a support
ticket has the bytes that led to the failure.
"""

from __future__ import annotations

from enum import StrEnum

from config.exit_codes import ExitCode


class Remediation(StrEnum):
    """Who can clear the condition."""

    RESET = "reset"  # the kiosk can retry or reset the device itself
    STAFF = "staff_can_clear"  # hall staff: load paper, close a cover, re-place a card
    MAINTENANCE = "maintenance"  # a technician with parts or a vendor
    CONFIGURATION = "configuration"  # the config names the wrong port, baud rate, driver…
    CITIZEN = "citizen"  # the person at the kiosk (place the card, hold still)


class DeviceError(Exception):
    """Base of every error a driver raises past its boundary."""

    code: str = "device_error"
    remediation: Remediation = Remediation.RESET
    exit_code: ExitCode = ExitCode.DEVICE_HARDWARE_ERROR
    default_consequence: str = "the device cannot be used until the fault is cleared"

    def __init__(
        self,
        reason: str,
        *,
        code: str | None = None,
        consequence: str | None = None,
        remediation: Remediation | None = None,
        exit_code: ExitCode | None = None,
        frames: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        if remediation is not None:
            self.remediation = remediation
        if exit_code is not None:
            self.exit_code = exit_code
        self.consequence = consequence or self.default_consequence
        self.frames = frames

    def with_frames(self, frames: tuple[str, ...]) -> DeviceError:
        """Attach the recent-frame dump (the driver does this at its boundary)."""
        self.frames = frames
        return self

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "reason": self.reason,
            "consequence": self.consequence,
            "remediation": str(self.remediation),
            "exit_code": int(self.exit_code),
            "frames": list(self.frames),
        }


class DeviceNotFoundError(DeviceError):
    code = "device_not_found"
    remediation = Remediation.CONFIGURATION
    exit_code = ExitCode.DEVICE_NOT_FOUND
    default_consequence = "the device is not connected; the kiosk keeps retrying"


class DeviceLostError(DeviceNotFoundError):
    """The transport went away under a running command (unplugged, port closed)."""

    code = "device_lost"
    remediation = Remediation.STAFF


class DeviceTimeoutError(DeviceError):
    code = "timeout"
    remediation = Remediation.RESET
    exit_code = ExitCode.DEVICE_TIMEOUT
    default_consequence = "the command did not complete in time and was abandoned"


class ProtocolError(DeviceError):
    code = "protocol_error"
    remediation = Remediation.RESET
    exit_code = ExitCode.PROTOCOL_ERROR
    default_consequence = "the reply could not be understood and was discarded"


class DeviceBusyError(DeviceError):
    code = "busy"
    exit_code = ExitCode.DEVICE_BUSY
    default_consequence = "another command is running; try again when it completes"


class CommandCancelledError(DeviceError):
    code = "cancelled"
    exit_code = ExitCode.CANCELLED
    default_consequence = "the command was cancelled before it completed"
