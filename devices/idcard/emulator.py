"""A SAM ID-card reader emulator that speaks the real bytes, over a pty or in-process.

:class:`SamReaderEmulator` is the reader: it decodes command frames (PROTOCOLS.md §1.2–1.3),
answers them from a synthetic card, and writes the reply to whatever transport is attached,
**paced at its baud rate** (a pty ignores baud rates, so each chunk is released at
``bytes × 10 / baud`` after the start of the reply; the command itself is charged its own
line time before the reply starts). ``60 nn`` switches its rate after the reply.

Transports: :class:`PtyPort` (a real pty with a stable symlink, like a udev by-id link:
unplug closes the pty and removes the link, replug makes a new pty behind the same link) and
:class:`SimPort` (``sim://idcard?...`` in-process, see :mod:`devices.sim`; a host whose baud
rate differs from the emulator's receives garbage, as on a real line).

Card model: ``place``/``lift`` move a card on and off the field. A card that has been read
(``30 01`` / ``30 10``) no longer answers ``20 01`` until it is lifted (the protection rule);
``20 02`` still succeeds while it lies on the reader — the driver uses that to tell "still
there after a read" from "lifted". Reading needs a select first.

Fault switches (:class:`Fault`): ``no_card`` (find always fails), ``sam_failure`` (every
command answers SW3 60), ``garbled`` (replies carry a wrong checksum), ``stall`` (no reply
at all), ``slow_card`` (card commands take :attr:`slow_card_delay` longer), plus
``unplug``/``replug`` on the transports.

Threading: one worker thread per emulator decodes, answers and paces; transports feed it
with :meth:`SamReaderEmulator.receive` from their own threads.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import queue
import select
import threading
import time
import tty
from collections.abc import Callable, Mapping
from enum import StrEnum
from importlib import resources
from pathlib import Path

from devices.idcard.errors import FrameLengthError
from devices.idcard.model import IdCard, card_from_json, encode_card_text
from devices.idcard.protocol import (
    BAUD_RATES,
    CardBlocks,
    Command,
    CommandFrame,
    FrameDecoder,
    FrameFault,
    encode_appended_address,
    encode_card_blocks,
    encode_reply,
    encode_sam_id,
)
from devices.sim import BytePipe, SimUnpluggedError, register_instance, unregister_instance

log = logging.getLogger(__name__)

Sink = Callable[[bytes], None]


class Fault(StrEnum):
    NO_CARD = "no_card"
    SAM_FAILURE = "sam_failure"
    GARBLED = "garbled"
    STALL = "stall"
    SLOW_CARD = "slow_card"


#: Names of the shipped synthetic cards (``devices/idcard/cards/<name>.json``).
BUILTIN_CARDS = (
    "resident",
    "resident_long_term",
    "hk_mo_tw_residence",
    "foreign_permanent_2017",
    "foreign_permanent_2023",
)
_CARD_COMMANDS = frozenset(
    {
        Command.FIND_CARD,
        Command.SELECT_CARD,
        Command.READ_TEXT_PHOTO,
        Command.READ_TEXT_PHOTO_FP,
        Command.READ_APPENDED_ADDRESS,
    }
)


def load_card(ref: str | Path) -> IdCard:
    """A card from a JSON file path, or one of :data:`BUILTIN_CARDS` by name."""
    if isinstance(ref, str) and ref in BUILTIN_CARDS:
        text = resources.files("devices.idcard").joinpath(f"cards/{ref}.json").read_text("utf-8")
    else:
        text = Path(ref).read_text("utf-8")
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("a card file holds one JSON object")
    return card_from_json(doc)


class SamReaderEmulator:
    """The emulated reader (see the module docstring). Thread-safe public methods."""

    def __init__(
        self,
        card: IdCard | None = None,
        *,
        baudrate: int = 115200,
        sam_id: tuple[int, int, int, int, int] = (5, 1, 20161012, 1234567, 89012345),
        slow_card_delay: float = 0.8,
    ) -> None:
        if baudrate not in BAUD_RATES:
            raise ValueError(f"unsupported baud rate {baudrate}")
        self.baudrate = baudrate
        self.slow_card_delay = slow_card_delay
        self._sam_id = encode_sam_id(*sam_id)
        self._lock = threading.Lock()
        self._card = card
        self._present = card is not None
        self._selected = False
        self._read_latched = False
        self._faults: set[Fault] = set()
        #: A rate switched to after the reply being sent (60 nn); the host may switch first.
        self._pending_baud: int | None = None
        self._sink: Sink | None = None
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        self._decoder = FrameDecoder()
        self._closed = threading.Event()
        #: Commands answered, by name (tests and the bench read it).
        self.counts: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="idcard-emulator", daemon=True)
        self._thread.start()

    # -- the physical world ---------------------------------------------------------------

    def place(self, card: IdCard | None = None) -> None:
        """Put a card on the reader (``card`` or the last one)."""
        with self._lock:
            if card is not None:
                self._card = card
            if self._card is None:
                raise ValueError("no card to place")
            self._present = True
            self._selected = False
            self._read_latched = False

    def lift(self) -> None:
        with self._lock:
            self._present = False
            self._selected = False
            self._read_latched = False

    @property
    def pending_baudrate(self) -> int | None:
        return self._pending_baud

    @property
    def card_present(self) -> bool:
        return self._present

    def set_fault(self, fault: Fault | str, on: bool = True) -> None:
        f = Fault(fault)
        with self._lock:
            if on:
                self._faults.add(f)
            else:
                self._faults.discard(f)

    @property
    def faults(self) -> frozenset[Fault]:
        with self._lock:
            return frozenset(self._faults)

    # -- transports -----------------------------------------------------------------------

    def attach(self, sink: Sink | None) -> None:
        """Where replies go (None: nowhere, e.g. while unplugged)."""
        with self._lock:
            self._sink = sink
            self._decoder.reset()

    def receive(self, data: bytes) -> None:
        """Bytes from the host."""
        if data:
            self._inbox.put(bytes(data))

    def close(self) -> None:
        self._closed.set()
        self._inbox.put(None)
        self._thread.join(2)

    # -- worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closed.is_set():
            data = self._inbox.get()
            if data is None:
                return
            for item in self._decoder.feed(data):
                if isinstance(item, FrameFault):
                    # The reader answers a frame with a bad checksum with SW3 10.
                    if item.error.code == "bad_checksum":
                        self._send(encode_reply(0x10))
                    continue
                try:
                    frame = CommandFrame.from_frame(item)
                except FrameLengthError:  # a 1-byte payload: nothing to answer
                    continue
                self._handle(frame, item.wire_len)

    def _handle(self, frame: CommandFrame, wire_len: int) -> None:
        command = frame.command()
        name = command.name.lower() if command else f"unknown_{frame.cmd:02x}{frame.para:02x}"
        self.counts[name] = self.counts.get(name, 0) + 1
        # The command's own line time: a real reader sees its last byte only then.
        self._sleep(wire_len * 10 / self.baudrate)
        with self._lock:
            faults = set(self._faults)
            reply, new_baud = self._answer(command, frame, faults)
        if Fault.STALL in faults:
            return
        if Fault.SLOW_CARD in faults and command in _CARD_COMMANDS:
            self._sleep(self.slow_card_delay)
        if Fault.GARBLED in faults:
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        self._pending_baud = new_baud
        try:
            self._send(reply)
        finally:
            if new_baud is not None:
                self.baudrate = new_baud
            self._pending_baud = None

    def _answer(
        self, command: Command | None, frame: CommandFrame, faults: set[Fault]
    ) -> tuple[bytes, int | None]:
        """The reply to one command and the new baud rate, if any (called under the lock)."""
        if Fault.SAM_FAILURE in faults:
            return encode_reply(0x60), None
        present = self._present and Fault.NO_CARD not in faults and self._card is not None
        if command in (Command.RESET_SAM, Command.SAM_STATUS):
            self._selected = False
            return encode_reply(0x90), None
        if command == Command.SAM_ID:
            return encode_reply(0x90, self._sam_id), None
        if command == Command.FIND_CARD:
            if not present or self._read_latched:
                return encode_reply(0x80), None
            return encode_reply(0x9F, bytes(4)), None
        if command == Command.SELECT_CARD:
            if not present:
                return encode_reply(0x81), None
            self._selected = True
            return encode_reply(0x90, bytes(8)), None
        if command in (Command.READ_TEXT_PHOTO, Command.READ_TEXT_PHOTO_FP):
            if not present or self._card is None:
                return encode_reply(0x41), None
            if not self._selected:
                return encode_reply(0x23), None
            card = self._card
            with_fp = command == Command.READ_TEXT_PHOTO_FP
            blocks = CardBlocks(encode_card_text(card), card.photo, card.fingerprint)
            self._read_latched = True
            return encode_reply(0x90, encode_card_blocks(blocks, with_fingerprint=with_fp)), None
        if command == Command.READ_APPENDED_ADDRESS:
            if not present or self._card is None:
                return encode_reply(0x41), None
            if not self._selected:
                return encode_reply(0x23), None
            if not self._card.appended_address:
                return encode_reply(0x91), None
            return encode_reply(0x90, encode_appended_address(self._card.appended_address)), None
        if command == Command.SET_BAUD and frame.para < len(BAUD_RATES):
            return encode_reply(0x90), BAUD_RATES[frame.para]
        return encode_reply(0x21), None

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._closed.wait(seconds)

    def _send(self, reply: bytes) -> None:
        """Write ``reply`` paced at the current baud rate: chunk i leaves when its last
        byte would have crossed the line (deadline-based, so sleep overshoot never adds up)."""
        sink = self._sink
        if sink is None:
            return
        per_byte = 10 / self.baudrate
        chunk = max(1, int(0.004 / per_byte))  # ~4 ms of line time per write
        start = time.monotonic()
        sent = 0
        while sent < len(reply):
            part = reply[sent : sent + chunk]
            due = start + (sent + len(part)) * per_byte
            delay = due - time.monotonic()
            if delay > 0:
                self._sleep(delay)
            if self._closed.is_set() or self._sink is not sink:
                return  # unplugged or closed mid-reply
            try:
                sink(part)
            except OSError:
                return
            sent += len(part)

    def __enter__(self) -> SamReaderEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- pty transport ------------------------------------------------------------------------


class PtyPort:
    """The emulator behind a real pty, reachable through a stable symlink ``link``.

    ``unplug()`` closes the pty and removes the link (the host's reads fail with EIO, as
    when a USB adapter is pulled); ``replug()`` makes a new pty and points the link at it.
    """

    def __init__(self, emulator: SamReaderEmulator, link: Path | str | None = None) -> None:
        self.emulator = emulator
        self.link = Path(link) if link is not None else None
        self._master = -1
        self._slave = -1
        self._tty = ""
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()

    @property
    def path(self) -> str:
        """What a host opens: the link if there is one, else the pty itself."""
        return str(self.link) if self.link is not None else self._tty

    @property
    def tty_name(self) -> str:
        return self._tty

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def plug(self) -> None:
        if self.plugged:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline, before any host opens it
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._tty = os.ttyname(slave)
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self._tty)
            os.replace(tmp, self.link)
        self._stop.clear()
        self.emulator.attach(self._write)
        self._reader = threading.Thread(target=self._read_loop, name="idcard-pty", daemon=True)
        self._reader.start()

    def unplug(self) -> None:
        if not self.plugged:
            return
        self.emulator.attach(None)
        self._stop.set()
        if self._reader is not None:
            self._reader.join(2)
        self._reader = None
        with self._write_lock:
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._master = self._slave = -1
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def replug(self) -> None:
        self.unplug()
        self.plug()

    def close(self) -> None:
        self.unplug()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            with self._write_lock:
                if self._master < 0:
                    raise OSError(errno.EIO, "pty unplugged")
                try:
                    n = os.write(self._master, view)
                except BlockingIOError:
                    n = 0
            view = view[n:]
            if view:
                time.sleep(0.001)  # the host is not reading; its buffer is full

    def _read_loop(self) -> None:
        master = self._master
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            self.emulator.receive(data)

    def __enter__(self) -> PtyPort:
        self.plug()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- sim:// transport ---------------------------------------------------------------------


class SimLink:
    """One host connection through ``sim://`` (implements :class:`devices.sim.SimEndpoint`)."""

    def __init__(self, port: SimPort) -> None:
        self._port = port
        self._pipe = BytePipe()
        self.host_baudrate = port.emulator.baudrate

    @property
    def to_host(self) -> BytePipe:
        return self._pipe

    def sink(self, data: bytes) -> None:
        if self.host_baudrate != self._port.emulator.baudrate:
            data = bytes(b ^ 0x5A for b in data)  # a rate mismatch reads as garbage
        self._pipe.write(data)

    def host_write(self, data: bytes) -> None:
        if self._pipe.closed:
            raise SimUnpluggedError("reader unplugged")
        emulator = self._port.emulator
        if self.host_baudrate not in (emulator.baudrate, emulator.pending_baudrate):
            data = bytes(b ^ 0x5A for b in data)
        self._port.emulator.receive(data)

    def host_set_baudrate(self, baudrate: int) -> None:
        self.host_baudrate = baudrate

    def host_close(self) -> None:
        self._port.disconnect(self)

    def drop(self) -> None:
        self._pipe.close()


class SimPort:
    """The emulator reachable as ``sim://idcard?instance=NAME`` (one host at a time)."""

    def __init__(self, emulator: SamReaderEmulator, *, own_emulator: bool = False) -> None:
        self.emulator = emulator
        self._own = own_emulator
        self._link: SimLink | None = None
        self._plugged = True
        self._name: str | None = None
        self._lock = threading.Lock()

    def connect(self) -> SimLink:
        with self._lock:
            if not self._plugged:
                raise SimUnpluggedError("the emulated ID-card reader is unplugged")
            if self._link is not None:
                self._link.drop()
            link = SimLink(self)
            self._link = link
            self.emulator.attach(link.sink)
            return link

    def disconnect(self, link: SimLink) -> None:
        with self._lock:
            link.drop()
            if self._link is link:
                self._link = None
                self.emulator.attach(None)
        if self._own:
            self.emulator.close()

    def register(self, name: str) -> str:
        """Register as ``sim://idcard?instance=NAME``; returns that URL."""
        self._name = name
        register_instance(name, self.connect)
        return f"sim://idcard?instance={name}"

    def unregister(self) -> None:
        if self._name is not None:
            unregister_instance(self._name)
            self._name = None

    def unplug(self) -> None:
        with self._lock:
            self._plugged = False
            if self._link is not None:
                self._link.drop()
                self._link = None
            self.emulator.attach(None)

    def replug(self) -> None:
        with self._lock:
            self._plugged = True


def sim_endpoint(params: Mapping[str, list[str]]) -> SimLink:
    """``sim://idcard?card=FILE|NAME&baud=N&fault=NAME…``: a fresh emulator for one host.

    Without ``card`` the reader has no card on it; ``fault`` may repeat.
    """
    card_ref = params.get("card", [None])[0]
    try:
        card = load_card(card_ref) if card_ref else None
        baud = int(params.get("baud", ["115200"])[0])
        faults = [Fault(f) for f in params.get("fault", [])]
    except (KeyError, TypeError) as err:
        raise ValueError(f"bad card file or option: {err!r}") from err
    emulator = SamReaderEmulator(card, baudrate=baud)
    for fault in faults:
        emulator.set_fault(fault)
    return SimPort(emulator, own_emulator=True).connect()
