"""Voice prompts never block the UI thread; a newer prompt replaces a waiting one."""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.app.tts import EspeakSpeaker

FAKE = """#!/bin/sh
# a stand-in for espeak-ng: record the arguments, then speak until released
echo "$@" >> "{log}"
while [ ! -e "{release}" ]; do sleep 0.01; done
"""


def wait_for(pred: Callable[[], bool], limit: float = 5.0) -> bool:
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
