"""Driver of serial SAM ID-card readers (GA 467 family), PROTOCOLS.md §1.

Wire format: see :mod:`devices.idcard.protocol` (8N1, default 115200 bps; every command is
one request frame and one reply frame). The port is opened by URL through
:func:`devices.transport.open_serial` (a device path, ``socket://``, ``spy://``, ``sim://``).

Threading contract: the :class:`devices.base.Device` one — every byte goes through the
worker thread; :meth:`SamIdCardReader.read_card` and friends only queue a command and return
a handle. Each reply wait is bounded both by the command's :class:`CancelToken` and by a
per-reply deadline (``reply_timeout`` + twice the line time of the longest reply), so a
stalled reader never hangs a command. Reads of the port are capped at 50 ms so cancellation
is noticed quickly.

Card presence: while idle the worker sends ``20 01`` (find card) every ``poll_interval``
seconds (never below 0.3 s) and emits :class:`CardPresented` / :class:`CardRemoved`. The
removal rule: after a read, ``20 01`` fails until the card is lifted, so a failed find is
ambiguous right after a read. The driver then asks ``20 02`` (select card): a card still
lying on the reader still answers select (SW3 90), a lifted one does not (SW3 81) — then it
emits CardRemoved. With ``removal_probe = "none"`` the driver does not probe, keeps the
"read" state and reports the removal only when a new find succeeds (the card came back).

Personal data: the card text, photo and fingerprint. The wire log keeps only headers and
status words (:meth:`SamIdCardReader.redact_frame`); parsed cards are returned in the
command result and never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.exit_codes import ExitCode
from config.logs import Safe
from devices.base import (
    Backoff,
    CancelToken,
    CommandHandle,
    Device,
    DeviceEvent,
    DeviceState,
    EventSink,
    Identity,
)
from devices.errors import (
    CommandCancelledError,
    DeviceError,
    DeviceLostError,
    DeviceTimeoutError,
    ProtocolError,
    Remediation,
)
from devices.idcard.errors import (
    NoCardError,
    SamFailureError,
    TruncatedFrameError,
)
from devices.idcard.model import IdCard, parse_card_text
from devices.idcard.protocol import (
    BAUD_RATES,
    PREAMBLE,
    SW_ITEM_EMPTY,
    Command,
    FrameDecoder,
    FrameFault,
    Reply,
    build_frame,
    decode_appended_address,
    decode_sam_id,
    encode_command,
    encode_set_baud,
    error_for,
    parse_card_blocks,
)
from devices.transport import open_serial

log = logging.getLogger(__name__)

#: Longest reply of each command, for its reply deadline (30 10 with 1024-byte fingerprint).
_REPLY_BYTES = {
    Command.READ_TEXT_PHOTO: 1295,
    Command.READ_TEXT_PHOTO_FP: 2321,
    Command.READ_APPENDED_ADDRESS: 90,
}
MIN_POLL_INTERVAL = 0.3
_READ_SLICE = 0.05


@dataclass(frozen=True)
class CardPresented(DeviceEvent):
    """A card was put on the reader (found by the idle poll or by a read)."""


@dataclass(frozen=True)
class CardRemoved(DeviceEvent):
    """The card was taken off the reader."""


class CardState:
    UNKNOWN = "unknown"
    ABSENT = "absent"
    PRESENT = "present"
    #: Read, and (as far as the driver can tell) still lying on the reader.
    READ = "read"


class SamIdCardReader(Device):
    """Resident ID-card reader speaking the SAM serial protocol (see module docstring).

    Options: ``baudrate`` (115200), ``poll`` (True), ``poll_interval`` (0.3 s, minimum 0.3),
    ``reply_timeout`` (2.0 s), ``identify_timeout`` (3.0 s), ``removal_probe``
    (``"select"`` | ``"none"``).
    """

    driver_name = "idcard_sam"
    default_timeout = 10.0

    def __init__(
        self,
        name: str,
        url: str,
        on_event: EventSink | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name, url, on_event, options=options, backoff=backoff)
        opts = self.options
        self.baudrate = int(opts.get("baudrate", 115200))
        if self.baudrate not in BAUD_RATES:
            raise DeviceError(
                f"baud rate {self.baudrate} is not one of {BAUD_RATES}",
                code="bad_option",
                remediation=Remediation.CONFIGURATION,
                exit_code=ExitCode.CONFIG_ERROR,
            )
        interval = float(opts.get("poll_interval", MIN_POLL_INTERVAL))
        self.poll_interval = max(MIN_POLL_INTERVAL, interval) if opts.get("poll", True) else None
        self.reply_timeout = float(opts.get("reply_timeout", 2.0))
        self.identify_timeout = float(opts.get("identify_timeout", 3.0))
        self.removal_probe = str(opts.get("removal_probe", "select"))
        self._port: Any = None
        self._decoder = FrameDecoder()
        self._card_state = CardState.UNKNOWN

    # -- public commands (any thread; results arrive as events / on the handle) ----------

    def read_card(
        self,
        *,
        fingerprint: bool = False,
        appended_address: bool = False,
        timeout: float | None = None,
    ) -> CommandHandle:
        """Find + select + ``30 01`` (``30 10`` with ``fingerprint``), optionally ``30 03``.

        The result is an :class:`IdCard`. Errors: NoCardError (SW3 80), CardReadFailedError,
        SamFailureError, ProtocolError subclasses, BadCheckDigitError, DeviceTimeoutError.
        """

        def run(token: CancelToken) -> IdCard:
            return self._read_card(
                token, fingerprint=fingerprint, appended_address=appended_address
            )

        return self.submit("read_card", run, timeout=timeout)

    def set_baud(self, baudrate: int, timeout: float | None = None) -> CommandHandle:
        """``60 nn``: switch the reader and then this port to ``baudrate``."""
        frame = encode_set_baud(baudrate)  # validates before queueing

        def run(token: CancelToken) -> int:
            self._check(self._transact_frame(Command.SET_BAUD, frame, token), "set baud")
            self._port.baudrate = baudrate
            self.baudrate = baudrate
            return baudrate

        return self.submit("set_baud", run, timeout=timeout)

    def reset_sam(self, timeout: float | None = None) -> CommandHandle:
        def run(token: CancelToken) -> bool:
            self._check(self._transact(Command.RESET_SAM, token), "reset SAM")
            return True

        return self.submit("reset_sam", run, timeout=timeout)

    def sam_status(self, timeout: float | None = None) -> CommandHandle:
        def run(token: CancelToken) -> bool:
            self._check(self._transact(Command.SAM_STATUS, token), "SAM status")
            return True

        return self.submit("sam_status", run, timeout=timeout)

    @property
    def card_state(self) -> str:
        return self._card_state

    # -- wire log --------------------------------------------------------------------------

    def redact_frame(self, data: bytes) -> str:
        """Preamble, LEN and CMD PARA / SW1 SW2 SW3 in hex; the rest only counted."""
        if data.startswith(PREAMBLE) and len(data) >= 10:
            head = data[:10].hex(" ").upper()
            rest = len(data) - 10
            return f"{head} +{rest} bytes" if rest else head
        return f"<{len(data)} bytes>"

    # -- device hooks ----------------------------------------------------------------------

    def _open(self) -> None:
        self._port = open_serial(self.url, baudrate=self.baudrate, timeout=_READ_SLICE)
        self._decoder = FrameDecoder()
        self._card_state = CardState.UNKNOWN

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def _identify(self) -> Identity:
        token = CancelToken(self.identify_timeout)
        try:
            self._check(self._transact(Command.SAM_STATUS, token), "SAM status")
            reply = self._check(self._transact(Command.SAM_ID, token), "SAM ID")
            sam_id = decode_sam_id(reply.data)
        except DeviceError as err:
            raise err.with_frames(self.wire.snapshot()) from None
        return Identity(
            self.driver_name,
            model="SAM serial ID-card reader (GA 467)",
            serial=sam_id,
            extra={"sam_id": sam_id, "sam_id_format": "hslcommunication", "url": self.url},
            capabilities=frozenset(
                {"read_text_photo", "read_fingerprint", "read_appended_address", "set_baud"}
            ),
        )

    def _self_test(self, token: CancelToken) -> dict[str, Any]:
        self._check(self._transact(Command.SAM_STATUS, token), "SAM status")
        ident = self._identity.as_dict() if self._identity else None
        return {"sam_status": "ok", "identity": ident, "card": self._card_state}

    def _poll(self, token: CancelToken) -> None:
        try:
            reply = self._transact(Command.FIND_CARD, token)
            err = error_for(reply, "find card")
            if err is None:
                if self._card_state == CardState.READ:
                    # A find succeeds again only after the card was lifted: it came back.
                    self._set_card(CardState.ABSENT)
                self._set_card(CardState.PRESENT)
            elif isinstance(err, NoCardError):
                if self._card_state != CardState.READ:
                    self._set_card(CardState.ABSENT)
                elif self.removal_probe == "select":
                    probe = self._transact(Command.SELECT_CARD, token)
                    if error_for(probe, "select card") is not None:
                        self._set_card(CardState.ABSENT)
            elif isinstance(err, SamFailureError):
                self.set_status(DeviceState.HARDWARE_ERROR, error=err)
                return
            else:
                raise err
        except DeviceTimeoutError as err:
            # Present (the port is open) but not answering.
            self.set_status(DeviceState.OFFLINE, error=err.with_frames(self.wire.snapshot()))
            return
        except ProtocolError as err:
            log.info("idle poll of %s: %s", Safe(self.name), Safe(err.code))
            return
        if self._status.state in (DeviceState.OFFLINE, DeviceState.HARDWARE_ERROR):
            self.set_status(DeviceState.ONLINE, error=None)

    # -- internals (worker thread) ---------------------------------------------------------

    def _set_card(self, new: str) -> None:
        old = self._card_state
        if new == old:
            return
        self._card_state = new
        self.update_detail(card=new)
        if new == CardState.PRESENT or (new == CardState.READ and old != CardState.PRESENT):
            self.emit(CardPresented(self.name))
        elif new == CardState.ABSENT and old in (CardState.PRESENT, CardState.READ):
            self.emit(CardRemoved(self.name))

    @staticmethod
    def _check(reply: Reply, what: str) -> Reply:
        err = error_for(reply, what)
        if err is not None:
            raise err
        return reply

    def _read_card(
        self, token: CancelToken, *, fingerprint: bool, appended_address: bool
    ) -> IdCard:
        find = self._transact(Command.FIND_CARD, token)
        err = error_for(find, "find card")
        if isinstance(err, NoCardError) and self._card_state == CardState.PRESENT:
            self._set_card(CardState.ABSENT)
        if err is not None:
            raise err
        self._check(self._transact(Command.SELECT_CARD, token), "select card")
        command = Command.READ_TEXT_PHOTO_FP if fingerprint else Command.READ_TEXT_PHOTO
        reply = self._check(self._transact(command, token), "read card")
        self._set_card(CardState.READ)
        blocks = parse_card_blocks(reply.data, with_fingerprint=fingerprint)
        card = parse_card_text(blocks.text, blocks.photo, blocks.fingerprint)
        if appended_address:
            extra = self._transact(Command.READ_APPENDED_ADDRESS, token)
            if extra.sw3 != SW_ITEM_EMPTY:
                self._check(extra, "read appended address")
                card.appended_address = decode_appended_address(extra.data) or None
        return card

    def _transact(self, command: Command, token: CancelToken) -> Reply:
        return self._transact_frame(command, encode_command(command), token)

    def _transact_frame(self, command: Command, frame: bytes, token: CancelToken) -> Reply:
        """Send one frame and wait for one reply frame (bounded; see module docstring)."""
        port = self._port
        if port is None:
            raise DeviceLostError(f"{self.url} is not open")
        token.check()
        port.reset_input_buffer()  # a late reply to an abandoned command is not ours
        self._decoder.reset()
        port.write(frame)
        self.record_wire("tx", frame)
        longest = _REPLY_BYTES.get(command, 27)
        budget = self.reply_timeout + 2 * longest * 10 / self.baudrate
        deadline = min(time.monotonic() + budget, token.deadline or float("inf"))
        decoder = self._decoder
        while True:
            if token.cancelled:
                raise CommandCancelledError("cancelled by the caller")
            if time.monotonic() >= deadline:
                if decoder.pending:
                    raise TruncatedFrameError(
                        f"{command.name}: reply cut off after {decoder.pending} bytes"
                    )
                raise DeviceTimeoutError(
                    f"{command.name}: no reply within {min(budget, token.timeout or budget):g} s"
                )
            data = port.read(max(decoder.wanted, port.in_waiting))
            if not data:
                continue
            for item in decoder.feed(data):
                if isinstance(item, FrameFault):
                    self.record_wire("rx-bad", bytes(data))
                    log.warning(
                        "%s: bad frame from %s: %s",
                        Safe(command.name),
                        Safe(self.name),
                        Safe(item.error.code),
                    )
                    raise item.error
                self.record_wire("rx", build_frame(item.payload))
                return Reply.from_frame(item)
