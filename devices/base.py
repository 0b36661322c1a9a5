"""The device contract every driver implements.

Threading contract
------------------
* Each device owns exactly one worker thread (``device-<name>``). Every call into a
  vendor library or transport (pyserial, pyscard, OpenCV, sockets) happens on it.
* Callers never block on a device: :meth:`Device.submit` queues a command and returns a
  :class:`CommandHandle` at once. The result arrives as a :class:`CommandCompleted` or
  :class:`CommandFailed` event through the ``on_event`` callback, *called on the worker
  thread*; a GUI marshals it to its own thread. ``CommandHandle.wait`` exists for the CLI
  and tests only.
* :attr:`Device.status` is an immutable snapshot swapped atomically by the worker, so
  reading it is cheap and never waits behind a running command.
* Commands carry a timeout and can be cancelled. Cancellation is cooperative: drivers
  call ``token.check()`` between I/O steps and bound every read by ``token.remaining()``.

Lifecycle
---------
``start()`` spawns the worker, which opens the transport and identifies the device. A
device that is missing or lost is reopened with exponential backoff (with jitter, capped)
forever; the loss and the recovery are each logged once. ``stop()`` closes it.
Drivers subclass :class:`Device` and implement ``_open``, ``_close`` and ``_identify``,
optionally ``_poll`` (idle-time polling on the worker) and ``_self_test``.
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from config.logs import Safe
from devices.errors import (
    CommandCancelledError,
    DeviceError,
    DeviceLostError,
    DeviceNotFoundError,
    DeviceTimeoutError,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


class DeviceState(StrEnum):
    """One state enum for every device class (XFS4IoT ``Common.Status`` simplified)."""

    ONLINE = "online"
    OFFLINE = "offline"  # present but not answering / switched offline
    NO_DEVICE = "no_device"  # not connected or not found
    HARDWARE_ERROR = "hardware_error"
    USER_ERROR = "user_error"  # needs a person: paper out, cover open
    BUSY = "busy"
    STARTING = "starting"
    POWER_OFF = "power_off"


#: States in which the device can take commands.
USABLE_STATES = frozenset({DeviceState.ONLINE, DeviceState.BUSY})
#: States that mean something is wrong and someone should look.
ERROR_STATES = frozenset(
    {
        DeviceState.OFFLINE,
        DeviceState.NO_DEVICE,
        DeviceState.HARDWARE_ERROR,
        DeviceState.USER_ERROR,
        DeviceState.POWER_OFF,
    }
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeviceStatus:
    state: DeviceState
    since: datetime
    #: Class-specific sub-status, e.g. ``{"card": "present"}`` or ``{"paper": "near_end"}``.
    detail: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    error: DeviceError | None = None

    @property
    def usable(self) -> bool:
        return self.state in USABLE_STATES

    @property
    def detail_text(self) -> str:
        """``paper=out,cover=open`` — the sub-status as one line for staff and logs."""
        return ",".join(f"{k}={v}" for k, v in self.detail.items())

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "since": self.since.isoformat(),
            "detail": dict(self.detail),
            "error": self.error.as_dict() if self.error else None,
        }


@dataclass(frozen=True)
class Identity:
    """Who the device says it is. ``extra`` holds class-specific ids (e.g. ``sam_id``)."""

    driver: str
    model: str = "unknown"
    serial: str = ""
    firmware: str = ""
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    capabilities: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, Any]:
        return {
            "driver": self.driver,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "extra": dict(self.extra),
            "capabilities": sorted(self.capabilities),
        }


# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceEvent:
    device: str
    at: datetime = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class StatusChanged(DeviceEvent):
    status: DeviceStatus


@dataclass(frozen=True)
class CommandCompleted(DeviceEvent):
    command: str
    command_id: int
    result: Any


@dataclass(frozen=True)
class CommandFailed(DeviceEvent):
    command: str
    command_id: int
    error: DeviceError


EventSink = Callable[[DeviceEvent], None]


# --- wire log ---------------------------------------------------------------------------


class WireLog:
    """Ring buffer of recent frames, redacted on the way in.

    ``redact`` turns a frame into the text kept (hex of headers; payloads that may carry
    personal data replaced by their length). Raw bytes are never kept here.
    """

    def __init__(self, redact: Callable[[bytes], str], maxlen: int = 32) -> None:
        self._redact = redact
        self._frames: deque[str] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def record(self, direction: str, data: bytes) -> str:
        line = f"{direction} {self._redact(data)}"
        with self._lock:
            self._frames.append(line)
        return line

    def snapshot(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._frames)


# --- commands ---------------------------------------------------------------------------


class CancelToken:
    """Deadline and cancellation flag for one command, checked by the driver."""

    def __init__(self, timeout: float | None) -> None:
        self._cancelled = threading.Event()
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.timeout = timeout

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def remaining(self, cap: float | None = None) -> float:
        """Seconds left (never negative); ``cap`` bounds a single wait."""
        left = float("inf") if self.deadline is None else self.deadline - time.monotonic()
        if cap is not None:
            left = min(left, cap)
        return max(0.0, left)

    def check(self) -> None:
        if self._cancelled.is_set():
            raise CommandCancelledError("cancelled by the caller")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeviceTimeoutError(f"no result within {self.timeout:g} s")


class CommandHandle:
    """What ``submit`` returns: an id, ``cancel()``, and ``wait()`` for the CLI and tests."""

    def __init__(self, command_id: int, name: str, token: CancelToken) -> None:
        self.id = command_id
        self.name = name
        self.token = token
        self.future: Future[Any] = Future()

    def cancel(self) -> None:
        self.token.cancel()

    def done(self) -> bool:
        return self.future.done()

    def wait(self, timeout: float | None = None) -> Any:
        """Block for the result (CLI/tests only); raise the command's DeviceError."""
        try:
            return self.future.result(timeout)
        except FutureTimeout as err:
            raise DeviceTimeoutError(f"{self.name}: no result within {timeout} s") from err


@dataclass
class _Job:
    handle: CommandHandle
    fn: Callable[[CancelToken], Any]
    #: Commands from the driver itself (polling) do not mark the device busy.
    quiet: bool = False


_STOP = object()
_WAKE = object()  # re-read the poll timer (Device.wake)
_ids = itertools.count(1)


class Backoff:
    """Exponential backoff with full jitter, capped: 0.5 s, 1 s, 2 s … ``cap``."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * float(2**self.attempt))
        self.attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


class Device:
    """Base class of every driver. See the module docstring for the threading contract."""

    driver_name = "device"
    #: Seconds between ``_poll`` calls while idle and connected; None disables polling.
    poll_interval: float | None = None
    default_timeout: float = 10.0

    def __init__(
        self,
        name: str,
        url: str,
        on_event: EventSink | None = None,
        *,
        options: Mapping[str, Any] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.options: Mapping[str, Any] = MappingProxyType(dict(options or {}))
        self._on_event = on_event or (lambda _e: None)
        self._status = DeviceStatus(DeviceState.STARTING, _now())
        self._identity: Identity | None = None
        self._jobs: queue.Queue[_Job | object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._lost_logged = False
        self._backoff = backoff or Backoff()
        self._next_connect = 0.0
        self._next_poll = 0.0
        self._stopping = threading.Event()
        self._current: CommandHandle | None = None
        self.wire = WireLog(self.redact_frame)
        self.wire_log = logging.getLogger(f"{type(self).__module__}.wire")

    # -- public, any thread --------------------------------------------------------------

    @property
    def status(self) -> DeviceStatus:
        return self._status

    @property
    def identity(self) -> Identity | None:
        return self._identity

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"device-{self.name}", daemon=True)
        self._stopping.clear()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker and close the transport (the running command is cancelled)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        current = self._current
        if current is not None:
            current.cancel()
        self._jobs.put(_STOP)
        thread.join(timeout)
        self._thread = None

    def submit(
        self,
        name: str,
        fn: Callable[[CancelToken], T],
        *,
        timeout: float | None = None,
        quiet: bool = False,
    ) -> CommandHandle:
        """Queue ``fn(token)`` to run on the worker; never blocks."""
        token = CancelToken(self.default_timeout if timeout is None else timeout)
        handle = CommandHandle(next(_ids), name, token)
        if self._thread is None:
            self.start()
        self._jobs.put(_Job(handle, fn, quiet))
        return handle

    def wake(self) -> None:
        """Make the worker look at ``poll_interval`` again now (a driver changed it)."""
        self._next_poll = time.monotonic()
        self._jobs.put(_WAKE)

    def self_test(self, timeout: float | None = None) -> CommandHandle:
        return self.submit("self_test", self._self_test, timeout=timeout)

    # -- for drivers (worker thread) -----------------------------------------------------

    def redact_frame(self, data: bytes) -> str:
        """Text kept in the wire log for a frame. Default: length only (safe for anything)."""
        return f"<{len(data)} bytes>"

    def record_wire(self, direction: str, data: bytes) -> None:
        line = self.wire.record(direction, data)
        if self.wire_log.isEnabledFor(logging.DEBUG):
            self.wire_log.debug("%s %s", Safe(self.name), Safe(line))

    def set_status(
        self,
        state: DeviceState,
        *,
        detail: Mapping[str, str] | None = None,
        error: DeviceError | None = None,
    ) -> None:
        """Swap the status snapshot and emit StatusChanged if anything changed."""
        old = self._status
        new_detail = MappingProxyType(dict(old.detail if detail is None else detail))
        if old.state == state and dict(old.detail) == dict(new_detail) and old.error is error:
            return
        since = old.since if old.state == state else _now()
        self._status = DeviceStatus(state, since, new_detail, error)
        self.emit(StatusChanged(self.name, self._status))

    def update_detail(self, **detail: str) -> None:
        merged = dict(self._status.detail)
        merged.update(detail)
        self.set_status(self._status.state, detail=merged, error=self._status.error)

    def emit(self, event: DeviceEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # a faulty listener must not kill the device worker
            log.exception("event listener failed for %s", Safe(type(event).__name__))

    # -- driver hooks --------------------------------------------------------------------

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _identify(self) -> Identity:
        return Identity(self.driver_name)

    def _poll(self, token: CancelToken) -> None:
        """Idle-time work on the worker (card detection, printer status)."""

    def _self_test(self, token: CancelToken) -> Any:
        return self._identify().as_dict()

    def _is_transport_loss(self, err: BaseException) -> bool:
        """Whether an exception means the device went away (the driver may widen this)."""
        return isinstance(err, DeviceLostError | OSError)

    # -- worker --------------------------------------------------------------------------

    def _connect(self) -> bool:
        try:
            self._open()
            self._identity = self._identify()
        except Exception as err:  # any failure to open means: not here yet, retry later
            self._safe_close()
            derr = err if isinstance(err, DeviceError) else DeviceNotFoundError(str(err))
            if not self._lost_logged:
                log.warning(
                    "device %s lost: %s (retrying with backoff)", Safe(self.name), Safe(derr.code)
                )
                self._lost_logged = True
            state = (
                DeviceState.NO_DEVICE
                if isinstance(derr, DeviceNotFoundError)
                else DeviceState.HARDWARE_ERROR
            )
            self.set_status(state, error=derr)
            self._next_connect = time.monotonic() + self._backoff.next_delay()
            return False
        self._connected = True
        self._backoff.reset()
        if self._lost_logged:
            log.warning("device %s recovered", Safe(self.name))
            self._lost_logged = False
        self.set_status(DeviceState.ONLINE, error=None)
        self._next_poll = time.monotonic()
        return True

    def _safe_close(self) -> None:
        try:
            self._close()
        except Exception:  # closing a dead transport may fail; nothing to do about it
            log.debug("close failed on %s", Safe(self.name), exc_info=True)
        self._connected = False

    def _mark_lost(self, err: DeviceError) -> None:
        self._safe_close()
        if not self._lost_logged:
            log.warning("device %s lost: %s", Safe(self.name), Safe(err.code))
            self._lost_logged = True
        self.set_status(DeviceState.NO_DEVICE, error=err)
        self._next_connect = time.monotonic() + self._backoff.next_delay()

    def _run(self) -> None:
        self._connect()
        while True:
            now = time.monotonic()
            if not self._connected:
                wait = max(0.0, self._next_connect - now)
            elif self.poll_interval is not None:
                wait = max(0.0, self._next_poll - now)
            else:
                wait = 3600.0
            try:
                job = self._jobs.get(timeout=wait)
            except queue.Empty:
                job = None
            if job is _STOP:
                self._drain_cancelled()
                self._safe_close()
                return
            if job is _WAKE:
                continue  # the wait above is worked out again (reconnects keep their backoff)
            if isinstance(job, _Job):
                if self._stopping.is_set():
                    self._fail(job.handle, CommandCancelledError("device stopped"), True)
                else:
                    self._execute(job)
                continue
            if not self._connected:
                self._connect()
            elif self.poll_interval is not None and time.monotonic() >= self._next_poll:
                self._next_poll = time.monotonic() + self.poll_interval
                poll = _Job(CommandHandle(0, "poll", CancelToken(self.default_timeout)), self._poll)
                poll.quiet = True
                self._execute(poll, report=False)

    def _drain_cancelled(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if isinstance(job, _Job):
                err = CommandCancelledError("device stopped")
                job.handle.future.set_exception(err)
                self.emit(CommandFailed(self.name, job.handle.name, job.handle.id, err))

    def _execute(self, job: _Job, *, report: bool = True) -> None:
        handle = job.handle
        if not self._connected and not self._connect():
            err = self._status.error or DeviceNotFoundError(f"{self.url} is not available")
            self._fail(handle, err, report)
            return
        prev = self._status.state
        if not job.quiet:
            self.set_status(DeviceState.BUSY)
        self._current = handle
        try:
            handle.token.check()
            result = job.fn(handle.token)
        except DeviceError as err:
            err.with_frames(self.wire.snapshot())
            if self._is_transport_loss(err):
                self._mark_lost(err)
            elif not job.quiet:
                self.set_status(prev if prev != DeviceState.BUSY else DeviceState.ONLINE)
            self._fail(handle, err, report)
            return
        except Exception as err:  # transport exceptions from vendor libraries
            if self._is_transport_loss(err):
                lost = DeviceLostError(f"{type(err).__name__}: {err}").with_frames(
                    self.wire.snapshot()
                )
                self._mark_lost(lost)
                self._fail(handle, lost, report)
                return
            log.exception("unexpected error in %s.%s", Safe(self.name), Safe(handle.name))
            derr = DeviceError(f"internal error: {type(err).__name__}").with_frames(
                self.wire.snapshot()
            )
            if not job.quiet:
                self.set_status(DeviceState.ONLINE)
            self._fail(handle, derr, report)
            return
        self._current = None
        if not job.quiet and self._status.state == DeviceState.BUSY:
            self.set_status(DeviceState.ONLINE)
        handle.future.set_result(result)
        if report:
            self.emit(CommandCompleted(self.name, handle.name, handle.id, result))

    def _fail(self, handle: CommandHandle, err: DeviceError, report: bool) -> None:
        self._current = None
        if not handle.future.done():
            handle.future.set_exception(err)
        if report:
            self.emit(CommandFailed(self.name, handle.name, handle.id, err))
