"""Carrying events from worker threads to the GUI thread.

Device workers, the outbox sender and the link monitor call :meth:`EventBridge.post` on
their own threads; the bridge emits a Qt signal that is delivered, queued, on the thread
the bridge lives in (the GUI thread). Nothing on the GUI side ever waits for a worker.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal


class EventBridge(QObject):
    received = Signal(object)

    def post(self, event: Any) -> None:
        """Thread-safe: may be called from any thread."""
        self.received.emit(event)

    def connect_handler(self, handler: Any) -> None:
        self.received.connect(handler, Qt.ConnectionType.QueuedConnection)
