"""Voice prompts that never block the UI.

:class:`EspeakSpeaker` runs Debian's ``espeak-ng`` (offline; the ``cmn-latn-pinyin`` voice
reads Chinese correctly where plain ``cmn`` reads many characters as pinyin with tone
numbers, see STACK.md) on a single background thread; a newer prompt replaces any prompt
still waiting, and ``stop()`` silences the current one. The text of a prompt is guidance
("请放置身份证"), never personal data, but it is not logged either.
:class:`RecordingSpeaker` keeps what would have been said, for tests and machines
without audio.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import subprocess
import threading
from typing import Protocol

log = logging.getLogger(__name__)

VOICES = {"zh_CN": "cmn-latn-pinyin", "en": "en"}


class Speaker(Protocol):
    def say(self, text: str, language: str = "zh_CN") -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class RecordingSpeaker:
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def say(self, text: str, language: str = "zh_CN") -> None:
        self.said.append((text, language))

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class EspeakSpeaker:
    """espeak-ng on a worker thread; ``say`` returns at once."""

    def __init__(self, executable: str | None = None, rate: int = 150) -> None:
        self._exe = executable or shutil.which("espeak-ng")
        self._rate = rate
        self._queue: queue.Queue[tuple[str, str, int] | None] = queue.Queue(maxsize=1)
        self._current: subprocess.Popen[bytes] | None = None
        self._generation = 0  # bumped by every say/stop
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tts", daemon=True)
        self._thread.start()

    @property
    def available(self) -> bool:
        return self._exe is not None

    def say(self, text: str, language: str = "zh_CN") -> None:
        if not self._exe:
            return
        generation = self._silence()
        with contextlib.suppress(queue.Empty):
            self._queue.get_nowait()  # drop a prompt that has not started yet
        try:
            self._queue.put_nowait((text, language, generation))
        except queue.Full:
            log.debug("tts: prompt dropped (queue full)")

    def stop(self) -> None:
        self._silence()

    def _silence(self) -> int:
        """Stop the prompt being spoken, or being started right now; returns the new
        generation (a prompt started for an older one is stopped as soon as it exists)."""
        with self._lock:
            self._generation += 1
            proc, generation = self._current, self._generation
        if proc is not None and proc.poll() is None:
            proc.terminate()
        return generation

    def close(self) -> None:
        self.stop()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            text, language, generation = job
            assert self._exe is not None
            cmd = [self._exe, "-v", VOICES.get(language, "en"), "-s", str(self._rate), text]
            try:
                proc = subprocess.Popen(  # noqa: S603 - fixed executable, no shell
                    cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            except OSError:
                log.warning("tts: espeak-ng could not be started")
                continue
            with self._lock:
                self._current = proc
                stale = generation != self._generation
            if stale:  # a newer prompt (or stop) came while this one was starting
                proc.terminate()
            proc.wait()
            with self._lock:
                self._current = None
