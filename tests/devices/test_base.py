"""The device contract: worker thread, events, timeouts, cancellation, status, reconnect."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from devices.base import (
    Backoff,
    CancelToken,
    CommandCompleted,
    CommandFailed,
    Device,
    DeviceEvent,
    DeviceState,
    Identity,
    StatusChanged,
)
from devices.errors import (
    CommandCancelledError,
    DeviceLostError,
    DeviceNotFoundError,
    DeviceTimeoutError,
)
from tests.devices.events import EventRecorder


class FlakyDevice(Device):
    """A device whose presence the test switches; commands are plain callables."""

    driver_name = "test"

    def __init__(self, **kw: Any) -> None:
        self.present = threading.Event()
        self.present.set()
        self.opens = 0
        super().__init__("flaky", "sim://test", kw.pop("on_event", None), **kw)

    def _open(self) -> None:
        if not self.present.is_set():
            raise DeviceNotFoundError("unplugged")
        self.opens += 1

    def _close(self) -> None:
        pass

    def _identify(self) -> Identity:
        return Identity("test", model="T-1", serial="0001")


Recorder = EventRecorder


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def fast_backoff() -> Backoff:
    return Backoff(base=0.01, cap=0.05)


def test_commands_run_on_the_device_worker(rec: Recorder) -> None:
    dev = FlakyDevice(on_event=rec, backoff=fast_backoff())
    dev.start()
    handle = dev.submit("whoami", lambda _t: threading.current_thread().name)
    assert handle.wait(5) == "device-flaky"
    done = rec.wait_for(lambda e: isinstance(e, CommandCompleted))
    assert isinstance(done, CommandCompleted) and done.result == "device-flaky"
    assert done.command_id == handle.id
    assert dev.identity is not None and dev.identity.model == "T-1"
    dev.stop()


def test_status_is_readable_while_a_command_runs(rec: Recorder) -> None:
    dev = FlakyDevice(on_event=rec, backoff=fast_backoff())
    release = threading.Event()
    started = threading.Event()

    def slow(_t: CancelToken) -> str:
        started.set()
        release.wait(5)
        return "ok"

    handle = dev.submit("slow", slow)
    assert started.wait(5)
    t0 = time.perf_counter()
    status = dev.status
    elapsed = time.perf_counter() - t0
    assert status.state == DeviceState.BUSY
    assert elapsed < 0.05  # a snapshot read, not a wait behind the command
    release.set()
    assert handle.wait(5) == "ok"
    rec.wait_for(
        lambda e: (
            isinstance(e, StatusChanged)
            and e.status.state == DeviceState.ONLINE
            and e.at > status.since
        )
    )
    dev.stop()


def test_timeout_and_cancel(rec: Recorder) -> None:
    dev = FlakyDevice(on_event=rec, backoff=fast_backoff())

    def loop_until_stopped(token: CancelToken) -> None:
        while True:
            token.check()
            time.sleep(0.005)

    h1 = dev.submit("spin", loop_until_stopped, timeout=0.1)
    with pytest.raises(DeviceTimeoutError):
        h1.wait(5)
    h2 = dev.submit("spin", loop_until_stopped, timeout=30)
    time.sleep(0.05)
    h2.cancel()
    with pytest.raises(CommandCancelledError):
        h2.wait(5)
    failed = rec.wait_for(lambda e: isinstance(e, CommandFailed) and e.command_id == h2.id)
    assert isinstance(failed, CommandFailed) and failed.error.code == "cancelled"
    assert dev.status.state == DeviceState.ONLINE
    dev.stop()


def test_lost_device_reconnects_and_logs_once(
    rec: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    dev = FlakyDevice(on_event=rec, backoff=fast_backoff())
    dev.start()
    rec.wait_for(lambda e: isinstance(e, StatusChanged) and e.status.state == DeviceState.ONLINE)
    dev.present.clear()

    def unplugged(_t: CancelToken) -> None:
        raise DeviceLostError("read failed: device disconnected")

    with pytest.raises(DeviceLostError):
        dev.submit("read", unplugged).wait(5)
    assert dev.status.state == DeviceState.NO_DEVICE
    time.sleep(0.3)  # several reconnect attempts fail meanwhile
    # a command while unplugged fails fast instead of hanging
    with pytest.raises(DeviceNotFoundError):
        dev.submit("read", lambda _t: None).wait(5)
    dev.present.set()
    rec.wait_for(
        lambda e: (
            isinstance(e, StatusChanged)
            and e.status.state == DeviceState.ONLINE
            and e.status.error is None
            and dev.opens >= 2
        )
    )
    assert dev.submit("ping", lambda _t: "pong").wait(5) == "pong"
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(lost) == 1 and len(recovered) == 1
    dev.stop()


def test_backoff_grows_and_caps() -> None:
    b = Backoff(base=0.5, cap=4.0)
    delays = [b.next_delay() for _ in range(8)]
    assert all(0.25 <= d <= 4.0 for d in delays)
    assert max(delays[4:]) > 2.0 - 1e-9 or min(delays[4:]) >= 2.0
    b.reset()
    assert b.next_delay() <= 0.5


def test_listener_failure_does_not_kill_worker() -> None:
    def boom(_e: DeviceEvent) -> None:
        raise RuntimeError("listener bug")

    dev = FlakyDevice(on_event=boom, backoff=fast_backoff())
    assert dev.submit("ping", lambda _t: 1).wait(5) == 1
    assert dev.submit("ping", lambda _t: 2).wait(5) == 2
    dev.stop()


def test_stop_cancels_queued_commands() -> None:
    dev = FlakyDevice(backoff=fast_backoff())
    gate = threading.Event()
    running = threading.Event()

    def block(_t: CancelToken) -> bool:
        running.set()
        return gate.wait(2)

    first = dev.submit("block", block)
    queued = dev.submit("later", lambda _t: 1)
    assert running.wait(5)  # the first command is on the worker, the second one waits
    stopper = threading.Thread(target=dev.stop)
    stopper.start()
    # release the running command only once stop() has begun: the queued one must not run
    deadline = time.monotonic() + 5
    while not dev._stopping.is_set() and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.set()
    stopper.join(5)
    assert first.wait(1) is True
    with pytest.raises(CommandCancelledError):
        queued.wait(1)


class PollingDevice(FlakyDevice):
    poll_interval = 3600.0

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.polls = threading.Semaphore(0)
        self.attempts = 0

    def _open(self) -> None:
        self.attempts += 1
        super()._open()

    def _poll(self, token: CancelToken) -> None:
        self.polls.release()


def test_wake_applies_a_new_poll_interval_at_once() -> None:
    dev = PollingDevice()
    dev.start()
    try:
        assert dev.polls.acquire(timeout=10)  # the first poll comes right after connecting
        dev.poll_interval = 0.01
        dev.wake()  # without it the worker would sleep out the hour
        for _ in range(3):
            assert dev.polls.acquire(timeout=10)
    finally:
        dev.stop()


def test_wake_does_not_cut_a_reconnect_backoff_short() -> None:
    dev = PollingDevice(backoff=Backoff(base=3600, cap=3600))
    dev.present.clear()  # not there: the first open fails and the next waits an hour
    dev.start()
    try:
        deadline = time.monotonic() + 10
        while dev.status.state == DeviceState.STARTING:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        dev.present.set()
        dev.wake()
        dev.wake()
        time.sleep(0.3)  # a worker that reconnected on waking would have opened it by now
        assert dev.attempts == 1 and dev.status.state != DeviceState.ONLINE
    finally:
        dev.stop()
