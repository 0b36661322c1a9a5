"""Errors of the resident ID-card reader, each written for the person who must act.

Every SW3 status code of the SAM module (PROTOCOLS.md §1.4) maps to one of these classes
through :data:`devices.idcard.protocol.SW3_CODES`; framing faults are :class:`ProtocolError`
subclasses; a card whose ID number fails the GB 11643 check digit is
:class:`BadCheckDigitError`. Messages never contain card data (they name fields, never values).
"""

from __future__ import annotations

from config.exit_codes import ExitCode
from devices.errors import DeviceError, ProtocolError, Remediation


class NoCardError(DeviceError):
    """SW3 80: no card answered the find command (absent, or already read and not lifted)."""

    code = "no_card"
    remediation = Remediation.CITIZEN
    exit_code = ExitCode.NO_CARD
    default_consequence = "no card was read; the citizen is asked to place the ID card"


class CardReadFailedError(DeviceError):
    """The card was found but selecting, authenticating or reading it failed."""

    code = "card_read_failed"
    remediation = Remediation.CITIZEN
    exit_code = ExitCode.CARD_READ_FAILED
    default_consequence = "the card could not be read; the citizen is asked to lift and re-place it"


class SamFailureError(DeviceError):
    """The SAM (security module) failed its self-test or is not authorised."""

    code = "sam_failure"
    remediation = Remediation.MAINTENANCE
    exit_code = ExitCode.SAM_FAILURE
    default_consequence = "the reader accepts no commands; ID cards cannot be read at this kiosk"


class ReaderRejectedCommandError(ProtocolError):
    """The reader rejected our frame (SW3 10/11/21/23/24): checksum, length or command."""

    code = "command_rejected"


class FrameChecksumError(ProtocolError):
    code = "bad_checksum"


class FrameLengthError(ProtocolError):
    code = "bad_length"


class VendorVariantError(ProtocolError):
    """A frame with the ``AA AA AA A5 5A`` preamble: a vendor variant this driver does not speak."""

    code = "vendor_variant"
    remediation = Remediation.CONFIGURATION
    default_consequence = (
        "the reader speaks an unsupported protocol variant; configure a reader of the GA 467 family"
    )


class TruncatedFrameError(ProtocolError):
    code = "truncated_frame"


class CardDataError(ProtocolError):
    """The card's text block does not follow the layout (bad date, unknown type flag…)."""

    code = "bad_card_data"
    remediation = Remediation.CITIZEN
    default_consequence = "the card data was discarded; the citizen is asked to re-place the card"


class BadCheckDigitError(DeviceError):
    """The ID number read from the card fails its GB 11643 / ISO 7064 MOD 11-2 check digit."""

    code = "bad_check_digit"
    remediation = Remediation.STAFF
    exit_code = ExitCode.BAD_CHECK_DIGIT
    default_consequence = (
        "the card data is not trusted and was discarded; staff should check the card by hand"
    )
