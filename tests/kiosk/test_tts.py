"""Voice prompts never block the UI thread; a newer prompt replaces a waiting one."""

from __future__ import annotations

import stat
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.app import tts
from kiosk.app.tts import EspeakSpeaker

FAKE = """#!/bin/sh
# a stand-in for espeak-ng: record the arguments, then speak until released
echo "$@" >> "{log}"
while [ ! -e "{release}" ]; do sleep 0.01; done
"""


def wait_for(pred: Callable[[], bool], limit: float = 20.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_say_returns_while_speaking_and_stop_silences(tmp_path: Path) -> None:
    log, release = tmp_path / "said.log", tmp_path / "release"
    exe = tmp_path / "espeak-ng"
    exe.write_text(FAKE.format(log=log, release=release), encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    speaker = EspeakSpeaker(executable=str(exe))
    try:
        speaker.say("请放置身份证")  # returns although the "speech" waits for the release file
        assert wait_for(lambda: log.exists() and "请放置身份证" in log.read_text("utf-8"))
        assert "cmn-latn-pinyin" in log.read_text("utf-8")  # the Mandarin voice that reads 汉字
        speaker.say("请刷脸")  # interrupts the current prompt (stop) and speaks the new one
        assert wait_for(lambda: "请刷脸" in log.read_text("utf-8"))
        speaker.say("one", "en")
        assert wait_for(lambda: "-v en" in log.read_text("utf-8"))
    finally:
        release.touch()
        speaker.close()


def test_an_unstartable_voice_never_raises(tmp_path: Path) -> None:
    speaker = EspeakSpeaker(executable=str(tmp_path / "absent"))
    speaker.say("请放置身份证")  # the worker fails to start it and logs; the caller never knows
    speaker.say("请刷脸")
    speaker.close()


def test_a_prompt_said_while_the_last_one_is_starting_still_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window between starting espeak-ng and recording it as the current prompt: a new
    prompt said then used to wait behind the old one until it had finished."""
    log, release = tmp_path / "said.log", tmp_path / "release"
    exe = tmp_path / "espeak-ng"
    exe.write_text(FAKE.format(log=log, release=release), encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    started, go_on = threading.Event(), threading.Event()

    def popen_then_pause(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(*args, **kwargs)
        if not started.is_set():
            started.set()
            go_on.wait(20)
        return proc

    monkeypatch.setattr(
        tts, "subprocess", SimpleNamespace(Popen=popen_then_pause, DEVNULL=subprocess.DEVNULL)
    )
    speaker = EspeakSpeaker(executable=str(exe))
    try:
        speaker.say("请放置身份证")
        assert started.wait(20)  # its process runs; the worker has not recorded it yet
        speaker.say("请刷脸")
        go_on.set()
        assert wait_for(lambda: log.exists() and "请刷脸" in log.read_text("utf-8"))
    finally:
        release.touch()
        speaker.close()
