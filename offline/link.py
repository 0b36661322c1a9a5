"""Link state (online / offline) of the platform, derived from call results and a probe.

Threading contract
------------------
* The state is derived, never set by hand: :meth:`LinkMonitor.call_succeeded` (any HTTP answer
  other than "unavailable") makes it ONLINE, :meth:`LinkMonitor.call_failed` (network error,
  timeout, 5xx, 429) makes it OFFLINE. Any thread may report; a lock orders the transitions.
* While OFFLINE one background thread (``link-probe``) calls the cheap health probe every
  ``interval_s`` seconds; the first success makes the link ONLINE and the thread ends.
* Listeners receive :class:`LinkStateChanged` on the thread whose report caused the change
  (a caller of the client, the sender, or ``link-probe``), outside the lock; a GUI marshals
  it to its own thread. A failing listener is logged and does not stop the others.
* The loss and the recovery are each logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from config.logs import Safe

log = logging.getLogger(__name__)


class LinkState(StrEnum):
    UNKNOWN = "unknown"  # nothing tried yet
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class LinkStateChanged:
    state: LinkState
    previous: LinkState
    since: datetime
    reason: str


LinkListener = Callable[[LinkStateChanged], None]


class LinkMonitor:
    """Online/offline state of the platform link, published to listeners as events."""

    def __init__(self, probe: Callable[[], bool], *, interval_s: float) -> None:
        self._probe = probe
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._state = LinkState.UNKNOWN
        self._since = datetime.now(UTC)
        self._listeners: list[LinkListener] = []
        self._online = threading.Event()
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def since(self) -> datetime:
        return self._since

    def add_listener(self, listener: LinkListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: LinkListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def wait_online(self, timeout: float | None = None) -> bool:
        """Block until the link is ONLINE (for the sender and tests); False on timeout."""
        return self._online.wait(timeout)

    def call_succeeded(self) -> None:
        self._change(LinkState.ONLINE, "platform answered")

    def call_failed(self, reason: str) -> None:
        self._change(LinkState.OFFLINE, reason)

    def close(self) -> None:
        """Stop the probe thread (idempotent)."""
        self._stop.set()
        prober = self._prober
        if prober is not None and prober is not threading.current_thread():
            prober.join(timeout=5)

    def _change(self, state: LinkState, reason: str) -> None:
        with self._lock:
            previous = self._state
            if previous == state:
                return
            self._state = state
            self._since = datetime.now(UTC)
            event = LinkStateChanged(state, previous, self._since, reason)
            listeners = list(self._listeners)
            if state == LinkState.ONLINE:
                self._online.set()
            else:
                self._online.clear()
                self._start_prober_locked()
        if state == LinkState.OFFLINE:
            log.warning("platform link lost: %s", Safe(reason))
        elif previous == LinkState.OFFLINE:
            log.info("platform link recovered")
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("link state listener failed")

    def _start_prober_locked(self) -> None:
        if self._stop.is_set():
            return
        if self._prober is not None:
            return  # the running prober re-checks the state under this lock before it ends
        self._prober = threading.Thread(target=self._probe_loop, name="link-probe", daemon=True)
        self._prober.start()

    def _probe_loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                ok = self._probe()
            except Exception:  # a probe must never kill the thread
                log.exception("health probe failed unexpectedly")
                ok = False
            if ok:
                self.call_succeeded()
            with self._lock:
                if self._state != LinkState.OFFLINE:
                    self._prober = None
                    return
        with self._lock:
            self._prober = None
