"""The background sender: delivers pending outbox items to the platform.

Threading contract
------------------
* One loop thread (``outbox-sender``) picks due items and hands them to a small pool of
  worker threads (``outbox-send_N``, ``OutboxConfig.sender_workers``). At most one item per
  citizen session is in flight, and only a session's oldest pending item is ever picked, so
  items of one session reach the platform in the order they were enqueued; sessions do not
  wait for each other.
* Every attempt carries the item's ``Idempotency-Key``, so an attempt whose answer was lost
  (a dropped connection after the platform stored the case) is repeated safely: the platform
  answers 200 with the same case and never creates a second one.
* Outcomes: 2xx → delivered, with the platform's non-personal result fields (case number …);
  401 → kept pending with backoff (a kiosk-wide problem — clock, secret — not the item's);
  any other 4xx → dead letter with the reason, the session's later items carry on;
  5xx, 429, timeouts, network errors → kept pending, retried with exponential backoff and
  jitter (``retry_base_s`` … ``retry_cap_s``).
* While the link is OFFLINE nothing is sent; the client's probe finds the recovery, and then
  every backing-off item is made due at once.
* The loop also re-evaluates the bounded window (publishing ``WindowStateChanged``) every
  ``tick_s`` and purges delivered items past the retention every ``purge_every_s``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from config.logs import Safe
from config.schema import OutboxConfig
from offline.client import API, PlatformClient
from offline.errors import (
    OutboxError,
    OutboxKeyError,
    PlatformAuthError,
    PlatformRejectedError,
    PlatformUnavailableError,
)
from offline.link import LinkState, LinkStateChanged
from offline.outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)

#: Outbox item kind → platform endpoint (all POST with an Idempotency-Key).
KIND_PATHS: Mapping[str, str] = {
    "case": API + "/cases",
    "evaluation": API + "/evaluations",
    "audit": API + "/audit-events",
}
#: Fields of a platform answer kept as an item's result (none of them personal data).
RESULT_FIELDS = frozenset(
    {"case_number", "status", "created_at", "evaluation_id", "level", "accepted", "count", "id"}
)


class Sender:
    """See the module docstring."""

    def __init__(
        self,
        outbox: Outbox,
        client: PlatformClient,
        *,
        workers: int = 4,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 300.0,
        tick_s: float = 1.0,
        purge_every_s: float = 600.0,
        paths: Mapping[str, str] = KIND_PATHS,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.workers = workers
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.tick_s = tick_s
        self.purge_every_s = purge_every_s
        self.paths = dict(paths)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_config(cls, outbox: Outbox, client: PlatformClient, cfg: OutboxConfig) -> Sender:
        return cls(
            outbox,
            client,
            workers=cfg.sender_workers,
            retry_base_s=cfg.retry_base_s,
            retry_cap_s=cfg.retry_cap_s,
        )

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="outbox-send")
        self.client.link.add_listener(self._on_link)
        self.outbox.enqueue_hooks.append(self.wake)
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop picking items; wait for attempts in flight (bounded by the client timeout)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.client.link.remove_listener(self._on_link)
        if self.wake in self.outbox.enqueue_hooks:
            self.outbox.enqueue_hooks.remove(self.wake)
        self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        """Delay before the next attempt after ``attempts`` failures (equal jitter)."""
        ceiling = min(self.retry_cap_s, self.retry_base_s * (2 ** min(attempts, 30)))
        return float(ceiling * random.uniform(0.5, 1.0))  # noqa: S311

    # -- loop --------------------------------------------------------------------------

    def _on_link(self, event: LinkStateChanged) -> None:
        if event.state == LinkState.ONLINE:
            try:
                self.outbox.expedite()
            except OutboxError:
                log.exception("cannot expedite outbox items")
            self._wake.set()

    def _run(self) -> None:
        last_window = last_purge = 0.0
        while not self._stop.is_set():
            self._wake.clear()  # before looking: a wake-up after this point is kept
            now = time.time()
            timeout = self.tick_s
            try:
                if now - last_window >= self.tick_s:
                    self.outbox.check_window()
                    last_window = now
                if now - last_purge >= self.purge_every_s:
                    self.outbox.purge()
                    last_purge = now
                if self.client.link.state != LinkState.OFFLINE:
                    busy = self._dispatch(now)
                    if not busy:  # idle: sleep until the next backoff ends
                        due = self.outbox.next_due_at()
                        if due is not None and due > now:
                            timeout = min(self.tick_s, due - now)
            except OutboxError:
                log.exception("outbox sender loop failed; retrying")
            # A finished delivery or an enqueue sets _wake; otherwise look again after a tick.
            self._wake.wait(timeout)

    def _dispatch(self, now: float) -> bool:
        """Hand due heads of idle sessions to free workers; True if any are in flight."""
        with self._lock:
            free = self.workers - len(self._in_flight)
            busy = frozenset(self._in_flight)
        if free > 0:
            for item in self.outbox.due_heads(now, limit=free, busy=busy):
                with self._lock:
                    self._in_flight.add(item.session_id)
                assert self._pool is not None
                self._pool.submit(self._deliver, item)
        with self._lock:
            return bool(self._in_flight)

    # -- one delivery (worker thread) --------------------------------------------------

    def _deliver(self, item: OutboxItem) -> None:
        try:
            self._attempt(item)
        except Exception:
            log.exception("outbox delivery failed unexpectedly", extra={"outbox_id": item.id})
            try:
                self.outbox.mark_retry(item, "internal error", time.time() + self.backoff(1))
            except OutboxError:
                log.exception("cannot record the failed delivery", extra={"outbox_id": item.id})
        finally:
            with self._lock:
                self._in_flight.discard(item.session_id)
            self._wake.set()

    def _attempt(self, item: OutboxItem) -> None:
        path = self.paths.get(item.kind)
        if path is None:
            self.outbox.mark_dead(item, f"no platform endpoint for item kind {item.kind!r}")
            return
        try:
            payload = self.outbox.payload(item)
        except OutboxKeyError as exc:
            self.outbox.mark_dead(item, f"cannot open the sealed payload: {exc}")
            return
        try:
            answer = self.client.request(
                "POST", path, json_body=payload, idempotency_key=item.idempotency_key, attempts=1
            )
        except PlatformAuthError as exc:
            self._retry_later(item, f"HTTP 401 {exc.auth_reason}")
        except PlatformRejectedError as exc:
            self.outbox.mark_dead(item, f"HTTP {exc.status_code}: {exc.reason}")
        except PlatformUnavailableError as exc:
            self._retry_later(item, exc.reason)
        else:
            body: Any = answer.body if isinstance(answer.body, dict) else {}
            result = {k: v for k, v in body.items() if k in RESULT_FIELDS}
            result["http_status"] = answer.status
            self.outbox.mark_delivered(item, result)
            log.debug("outbox item delivered", extra={"outbox_id": item.id})

    def _retry_later(self, item: OutboxItem, reason: str) -> None:
        delay = self.backoff(item.attempts)
        self.outbox.mark_retry(item, reason, time.time() + delay)
        log.info(
            "outbox item will be retried: %s",
            Safe(reason),
            extra={"outbox_id": item.id, "attempt": item.attempts + 1},
        )
