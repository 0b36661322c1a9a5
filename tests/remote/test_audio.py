"""The kiosk's speaker and microphone (kiosk/remote/audio.py) on ALSA's file plugin (no sound
card here, tests/remote/alsa.py): frames played reach the output file; a tone in the capture
file reaches an aiortc peer as Opus, and silence stays silent; the assistant's Opus reaches the
output file through KioskMedia; devices that do not open leave a session with video and no
audio (RemoteHelp's path, the console told by the offer's direction); the ALSA configuration
default."""

from __future__ import annotations

import asyncio
import fractions
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av import AudioFrame

from flows import events as ev
from kiosk.remote import masking
from kiosk.remote.audio import Speaker, audio_direction, open_microphone, use_system_alsa_config
from kiosk.remote.audit import AuditFile
from kiosk.remote.client import RemoteHelp
from kiosk.remote.media import KioskMedia, SyntheticCamera
from kiosk.remote.protocol import KioskProtocol
from offline.client import PlatformClient
from tests.remote.alsa import MICROPHONE, RATE, SPEAKER, AlsaFiles, rms, tone, write_tone
from tests.remote.test_media import GREEN, RED, SMALL, ConsolePeer, centre_rgb, close_to

WAIT_S = 20.0


def tone_frames(seconds: float, hz: float = 440.0) -> list[AudioFrame]:
    """20 ms stereo s16 frames, as aiortc's Opus decoder gives them."""
    raw = np.frombuffer(tone(seconds, hz, channels=2), dtype="<i2")
    frames = []
    for n, start in enumerate(range(0, raw.size, 960 * 2)):
        chunk = raw[start : start + 960 * 2].reshape(1, -1)
        frame = AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = n * 960
        frame.time_base = fractions.Fraction(1, RATE)
        frames.append(frame)
    return frames


def audio_section(sdp: str) -> str:
    return sdp.split("m=audio", 1)[1].split("m=", 1)[0]


def test_the_speaker_plays_frames_on_the_alsa_output(alsa: AlsaFiles) -> None:
    speaker = Speaker(SPEAKER)
    assert speaker.playing
    for frame in tone_frames(1.0):
        speaker.feed(frame)
    speaker.close()
    assert not speaker.playing and speaker.failed is None
    played = alsa.played.read_bytes()
    # every fed frame reached the card unless the queue overflowed (null slave: it never waits)
    assert speaker.frames_fed == 50
    assert len(played) == (50 - speaker.frames_dropped) * 960 * 2 * 2
    assert rms(played) > 5000  # the tone's RMS is 0.3 * 32767 / sqrt(2) ≈ 6950


def test_the_speaker_keeps_no_frame_after_close(alsa: AlsaFiles) -> None:
    speaker = Speaker(SPEAKER)
    speaker.close()
    size = alsa.played.stat().st_size
    for frame in tone_frames(0.2):
        speaker.feed(frame)  # a late frame from the track after the media closed
    assert speaker.frames_fed == 0 and alsa.played.stat().st_size == size


def test_devices_that_do_not_exist_raise_at_open(alsa: AlsaFiles) -> None:
    with pytest.raises(OSError):
        Speaker("no_such_speaker")
    with pytest.raises(OSError):
        open_microphone("no_such_microphone")


async def _microphone_to_peer(seconds: float) -> list[float]:
    """The kiosk microphone's track sent to an aiortc peer; the RMS of each decoded frame."""
    kiosk_pc, peer_pc = RTCPeerConnection(), RTCPeerConnection()
    levels: list[float] = []
    done = asyncio.Event()

    async def read(track: MediaStreamTrack) -> None:
        while len(levels) < int(seconds * 50):
            frame = await track.recv()
            assert isinstance(frame, AudioFrame)
            levels.append(rms(bytes(frame.planes[0])[: frame.samples * 4]))
        done.set()

    tasks: list[asyncio.Task[None]] = []
    peer_pc.on("track", lambda t: tasks.append(asyncio.ensure_future(read(t))))
    microphone = open_microphone(MICROPHONE)
    try:
        kiosk_pc.addTransceiver(microphone, direction="sendonly")
        await kiosk_pc.setLocalDescription(await kiosk_pc.createOffer())
        await peer_pc.setRemoteDescription(kiosk_pc.localDescription)
        await peer_pc.setLocalDescription(await peer_pc.createAnswer())
        await kiosk_pc.setRemoteDescription(peer_pc.localDescription)
        await asyncio.wait_for(done.wait(), WAIT_S)
    finally:
        for task in tasks:
            task.cancel()
        microphone.stop()
        await kiosk_pc.close()
        await peer_pc.close()
    return levels


def test_a_tone_at_the_microphone_reaches_the_peer(alsa: AlsaFiles) -> None:
    write_tone(alsa.captured, seconds=10.0)
    levels = asyncio.run(_microphone_to_peer(1.0))
    assert max(levels) > 3000, levels  # Opus keeps a 440 Hz tone's level


def test_a_silent_microphone_sends_silence(alsa: AlsaFiles) -> None:
    alsa.captured.write_bytes(bytes(RATE * 2 * 10))
    levels = asyncio.run(_microphone_to_peer(1.0))
    assert max(levels) < 50, levels


class TonePeer(ConsolePeer):
    """The console's part with a voice: green video and a 440 Hz tone."""

    async def answer(self, offer: dict[str, str]) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(**offer))
        for t in self.pc.getTransceivers():
            if t.kind == "video":
                t.sender.replaceTrack(SyntheticCamera(SMALL, GREEN))
                t.direction = "sendrecv"
            elif t.kind == "audio":
                t.sender.replaceTrack(ToneTrack())
                t.direction = "sendrecv"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return {"type": "answer", "sdp": self.pc.localDescription.sdp}


class ToneTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._frames = tone_frames(20.0)
        self._n = 0
        self._t0: float | None = None

    async def recv(self) -> AudioFrame:
        if self._t0 is None:
            self._t0 = time.monotonic()
        delay = self._t0 + self._n * 0.02 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = self._frames[self._n % len(self._frames)]
        frame.pts = self._n * 960
        self._n += 1
        return frame


def test_the_assistants_voice_reaches_the_kiosk_speaker(alsa: AlsaFiles) -> None:
    async def scenario() -> tuple[str, int]:
        speaker = Speaker(SPEAKER)
        kiosk = KioskMedia(SMALL, SyntheticCamera(SMALL, RED), on_message=print, speaker=speaker)
        console = TonePeer(RTCConfiguration())
        try:
            offer = await kiosk.offer()
            await kiosk.accept_answer(await console.answer(offer))
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline and speaker.samples_written < RATE:
                await asyncio.sleep(0.05)
        finally:
            await kiosk.close()
            await console.pc.close()
        assert not speaker.playing  # closed with the media
        return offer["sdp"], speaker.samples_written

    sdp, written = asyncio.run(scenario())
    assert "a=recvonly" in audio_section(sdp)  # no microphone: the kiosk only listens
    assert written >= RATE
    played = alsa.played.read_bytes()
    assert len(played) == written * 4
    assert rms(played[-RATE * 4 :]) > 3000  # the last second is the tone, not silence


def test_audio_devices_that_fail_leave_a_call_with_video(
    alsa: AlsaFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """RemoteHelp's path: both factories raise; the media starts anyway, video flows both
    ways, the status says so, the log names the role and the error type only, and the offer
    tells the console the kiosk neither sends nor plays audio."""
    allow = masking.AllowList()
    helper = RemoteHelp(
        PlatformClient("http://127.0.0.1:9", "kiosk-t", "secret", timeout_s=1),
        lambda _: None,
        ev.CallAssistant(request_id=1, mode="remote_video", item_code="x"),
        allow=allow,
        audit_dir=tmp_path,
        media=SMALL,
        camera=lambda c: SyntheticCamera(c, RED),
        microphone=lambda: open_microphone("citizen_mic_42"),
        speaker=lambda: Speaker("hall_speaker_42"),
    )

    async def scenario() -> dict[str, Any]:
        proto = KioskProtocol("rh-audio", allow, AuditFile(tmp_path / "a.jsonl"), request_id=1)
        proto.assistant_joined(time.monotonic())
        helper.proto = proto
        kiosk_frames: list[tuple[int, ...]] = []
        helper.on_frame = lambda f: kiosk_frames.append(centre_rgb(f))
        await helper._start_media()
        media = helper.media
        assert media is not None
        console = ConsolePeer(RTCConfiguration())
        try:
            offer = {"type": "offer", "sdp": media.pc.localDescription.sdp}
            await media.accept_answer(await console.answer(offer))
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline and (len(console.frames) < 5 or not kiosk_frames):
                await asyncio.sleep(0.05)
            return {"sdp": offer["sdp"], "console": console.frames, "kiosk": kiosk_frames}
        finally:
            for task in console.tasks:
                task.cancel()
            await helper._stop_media()
            await console.pc.close()

    with caplog.at_level(logging.WARNING, logger="kiosk.remote.client"):
        try:
            got = asyncio.run(scenario())
        finally:
            assert helper._loop is not None
            helper._loop.close()
    assert len(got["console"]) >= 5 and close_to(got["console"][-1], RED)
    assert got["kiosk"] and close_to(got["kiosk"][-1], GREEN)
    assert helper.audio_status == {"microphone": "unavailable", "speaker": "unavailable"}
    assert "a=inactive" in audio_section(got["sdp"])
    failures = [r for r in caplog.records if r.getMessage() == "help audio device not opened"]
    assert sorted(r.__dict__["role"] for r in failures) == ["microphone", "speaker"]
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "citizen_mic_42" not in text and "hall_speaker_42" not in text


def test_the_offer_direction_follows_the_devices() -> None:
    assert audio_direction(send=True, receive=True) == "sendrecv"
    assert audio_direction(send=True, receive=False) == "sendonly"
    assert audio_direction(send=False, receive=True) == "recvonly"
    assert audio_direction(send=False, receive=False) == "inactive"


def test_pyav_alsa_finds_the_system_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ALSA_CONFIG_DIR", "ALSA_CONFIG_PATH"):  # set first: teardown restores
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    use_system_alsa_config(tmp_path)  # no alsa.conf there: left alone
    assert "ALSA_CONFIG_DIR" not in os.environ
    (tmp_path / "alsa.conf").write_text("")
    use_system_alsa_config(tmp_path)
    assert os.environ["ALSA_CONFIG_DIR"] == str(tmp_path)
    use_system_alsa_config(tmp_path / "elsewhere")  # set already: kept
    assert os.environ["ALSA_CONFIG_DIR"] == str(tmp_path)
    monkeypatch.setenv("ALSA_CONFIG_PATH", "/tests/own.conf")
    monkeypatch.delenv("ALSA_CONFIG_DIR")
    use_system_alsa_config(tmp_path)  # a test's own configuration wins
    assert "ALSA_CONFIG_DIR" not in os.environ
