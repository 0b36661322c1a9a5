"""Pages photographed by the document camera during one session, kept in memory only.

Each page is keyed by a random ``ref`` (the flow's handle: ``DocumentCaptured.ref``, then a
material's ``content_ref``); a material retaken (重拍) replaces its previous page. The whole
store is wiped when the session ends (:meth:`kiosk.runtime.Runtime.wipe`); a capture that
finishes after a wipe is dropped, never kept for the next citizen.

Size: the platform takes a case body of at most 8 MiB (sandbox/gateway.py ``MAX_BODY``) and
pages travel in it as base64 (4/3 of their size). ``MAX_SESSION_BYTES`` bounds the JPEG bytes
of one session so a case with every page still fits with room for the form; a page that
would go over it is refused at capture time (``too_large``), when the citizen can still be
told, rather than truncated at submission.

Threading: any thread (one lock). Pages are personal data: never logged, never on disk.
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field

#: The platform's case body limit (bytes).
MAX_CASE_BODY = 8 * 1024 * 1024
#: JPEG bytes of all pages of one session: as base64 that is ≤ 7.47 MB of the 8.39 MB body.
MAX_SESSION_BYTES = 5_600_000


class PageBudgetError(ValueError):
    """Keeping the page would make the case too large for the platform."""


@dataclass(frozen=True)
class Page:
    material_code: str
    jpeg: bytes = field(repr=False)
    thumbnail: bytes = field(repr=False)
    width: int
    height: int


class CapturedPages:
    def __init__(self, max_bytes: int = MAX_SESSION_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._pages: dict[str, Page] = {}
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """Changes at every wipe: a capture started before it must not be kept after it."""
        return self._epoch

    def put(self, page: Page, *, epoch: int | None = None) -> str | None:
        """Keep ``page`` (replacing its material's previous one); return its new ref, or None
        when the session was wiped since ``epoch``. Raise PageBudgetError if it cannot fit."""
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                return None
            others = sum(
                len(p.jpeg) for p in self._pages.values() if p.material_code != page.material_code
            )
            if others + len(page.jpeg) > self.max_bytes:
                raise PageBudgetError(
                    f"{others + len(page.jpeg)} bytes of pages (limit {self.max_bytes})"
                )
            for ref in [r for r, p in self._pages.items() if p.material_code == page.material_code]:
                del self._pages[ref]
            ref = "doc-" + secrets.token_hex(8)
            self._pages[ref] = page
            return ref

    def get(self, ref: str) -> Page | None:
        with self._lock:
            return self._pages.get(ref)

    def content_b64(self, ref: str) -> str | None:
        page = self.get(ref)
        return None if page is None else base64.b64encode(page.jpeg).decode("ascii")

    def total_bytes(self) -> int:
        with self._lock:
            return sum(len(p.jpeg) for p in self._pages.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._pages)

    def wipe(self) -> None:
        with self._lock:
            self._pages.clear()
            self._epoch += 1
