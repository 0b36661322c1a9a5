"""Process exit codes of the ``kiosk`` command, one table for the whole product.

The technician CLI is driven by other tools and acceptance tests, so these numbers are a
stable contract: never renumber, only add. Every error type that can end a CLI command
carries one of these codes.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Distinct, stable exit codes. 0 is success; 1 is reserved for unexpected failures."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2  # typer/click's own code for bad command-line usage
    CONFIG_ERROR = 3

    # Devices (10-39)
    DEVICE_NOT_FOUND = 10
    DEVICE_TIMEOUT = 11
    PROTOCOL_ERROR = 12
    NO_CARD = 13
    BAD_CHECK_DIGIT = 14
    DEVICE_HARDWARE_ERROR = 15
    DEVICE_BUSY = 16
    CANCELLED = 17
    CARD_READ_FAILED = 18
    SAM_FAILURE = 19
    PAPER_OUT = 20
    COVER_OPEN = 21
    PRINTER_OFFLINE = 22
    NO_CODE_FOUND = 23
    NOT_LIVE = 24
    CAMERA_ERROR = 25
    SELFTEST_FAILED = 26
    FACE_MODEL_MISSING = 27  # the face landmark model is missing or altered (run setup)
    NO_DOCUMENT = 28  # document camera: nothing on the platen (blank frame)
    DOCUMENT_UNREADABLE = 29  # document camera: too dark, too blurred, or too large to send

    # Platform link and outbox (40-59)
    PLATFORM_UNAVAILABLE = 40
    PLATFORM_AUTH = 41
    PLATFORM_VALIDATION = 42
    PLATFORM_CONFLICT = 43
    QUEUE_ITEM_NOT_FOUND = 44
    OUTBOX_ERROR = 45

    # Flows (60-69)
    FLOW_INVALID = 60
    FLOW_NOT_FOUND = 61
    FLOW_EVENTS_INVALID = 62  # `kiosk flows run --events FILE`: a malformed events file
