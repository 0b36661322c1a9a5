"""Media of a help session, kiosk side: one aiortc peer connection with two-way video, and
the ``rh/1`` data channel (no Qt).

Why aiortc: it is the maintained pure-Python WebRTC stack (PyPI, PyAV for codecs); the
kiosk stays one Python process and the browser console needs nothing but WebRTC. Measured
cost (docs/remote-help.md): a full-duplex 640×480@15 VP8 call is about a quarter of one
server core.

Threading contract: every method is a coroutine or callback on the remote-help asyncio loop
(:mod:`kiosk.remote.client`); frames arrive on that loop and are handed to ``on_frame`` as
:class:`av.VideoFrame` — the app converts them for drawing on its own thread, at its own
rate. Never call from the GUI thread.

Wire: the kiosk is the offerer. :meth:`KioskMedia.offer` returns ``{"type": "offer", "sdp"}``
with all ICE candidates inside (aiortc does not trickle); the answer comes back through
:meth:`KioskMedia.accept_answer`. Both travel over the platform WebSocket, which is what
binds the DTLS fingerprints to the authenticated peer. The data channel is labelled
``rh/1``, ordered, and carries envelope text (kiosk/remote/envelope.py). Defaults: VP8
(cheaper than libx264 here), 640×480 at 15 fps, bitrate capped at 500 kbps; Opus audio:
the kiosk's microphone track when given, and the assistant's audio decoded, counted and
handed to the ``speaker`` when given (:class:`kiosk.remote.audio.Speaker`, which writes on
its own thread). The offer's audio direction says what the kiosk can do
(:func:`kiosk.remote.audio.audio_direction`): ``receive_audio=False`` (a speaker that did
not open) makes it ``sendonly`` or ``inactive``, so the console knows it is not heard.

Personal data: the citizen's face and voice. Nothing is recorded; frames are not kept.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.codecs import vpx
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from av import AudioFrame, VideoFrame

from kiosk.remote.audio import Speaker, audio_direction
from kiosk.remote.media_config import MediaConfig

__all__ = ["CHANNEL", "KioskMedia", "MediaConfig", "MediaStats", "SyntheticCamera"]
CHANNEL = "rh/1"


class SyntheticCamera(VideoStreamTrack):
    """A solid-colour camera at a fixed size and rate (tests, bench, kiosks without one)."""

    def __init__(self, config: MediaConfig, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        self.config = config
        self._frame = VideoFrame(config.width, config.height, "rgb24")
        for plane in self._frame.planes:
            plane.update(bytes(rgb) * (plane.buffer_size // 3))
        self._count = 0
        self._t0: float | None = None

    async def recv(self) -> VideoFrame:
        if self._t0 is None:
            self._t0 = time.monotonic()
        due = self._t0 + self._count / self.config.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = self._frame.reformat(format="yuv420p")
        frame.pts = self._count * (90_000 // self.config.fps)
        frame.time_base = fractions.Fraction(1, 90_000)
        self._count += 1
        return frame


@dataclass
class MediaStats:
    frames_received: int = 0
    audio_frames_received: int = 0
    first_frame_at: float | None = None  # time.monotonic() of the first decoded frame
    channel_open_at: float | None = None
    last_size: tuple[int, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class KioskMedia:
    def __init__(
        self,
        config: MediaConfig,
        camera: MediaStreamTrack,
        microphone: MediaStreamTrack | None = None,
        *,
        on_message: Callable[[str], None],
        on_frame: Callable[[VideoFrame], None] | None = None,
        speaker: Speaker | None = None,
        receive_audio: bool = True,
    ) -> None:
        self.config = config
        self.camera = camera
        self.microphone = microphone
        self.speaker = speaker
        self.receive_audio = receive_audio
        self.on_message = on_message
        self.on_frame = on_frame
        self.stats = MediaStats()
        # aiortc has no per-sender maxBitrate; its VP8 encoder reads this module cap
        vpx.MAX_BITRATE = config.max_bitrate
        vpx.DEFAULT_BITRATE = min(vpx.DEFAULT_BITRATE, config.max_bitrate)
        servers = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in config.ice_servers
        ]
        policy = RTCIceTransportPolicy.RELAY if config.relay_only else RTCIceTransportPolicy.ALL
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=servers or None, iceTransportPolicy=policy)
        )
        self.channel: RTCDataChannel = self.pc.createDataChannel(CHANNEL, ordered=True)
        self.channel.on("open", self._channel_open)
        self.channel.on("message", self._channel_message)
        self.pc.on("track", self._on_track)
        self._readers: list[asyncio.Task[None]] = []

    def _channel_open(self) -> None:
        self.stats.channel_open_at = time.monotonic()

    def _channel_message(self, message: object) -> None:
        if isinstance(message, str):
            self.on_message(message)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self._readers.append(asyncio.ensure_future(self._read(track)))
        elif track.kind == "audio":
            self._readers.append(asyncio.ensure_future(self._read_audio(track)))

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        # decoded and counted, and played when there is a speaker (its thread writes)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.stats.audio_frames_received += 1
            if self.speaker is not None and isinstance(frame, AudioFrame):
                self.speaker.feed(frame)

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, VideoFrame):
                continue
            if self.stats.first_frame_at is None:
                self.stats.first_frame_at = time.monotonic()
            self.stats.frames_received += 1
            self.stats.last_size = (frame.width, frame.height)
            if self.on_frame is not None:
                self.on_frame(frame)

    async def offer(self) -> dict[str, str]:
        # Opus both ways; the direction tells the console what the kiosk can send and play
        direction = audio_direction(send=self.microphone is not None, receive=self.receive_audio)
        self.pc.addTransceiver(self.microphone or "audio", direction=direction)
        transceiver = self.pc.addTransceiver(self.camera, direction="sendrecv")
        vp8 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name == "VP8"]
        transceiver.setCodecPreferences(vp8)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {"type": "offer", "sdp": self.pc.localDescription.sdp}

    async def accept_answer(self, answer: dict[str, str]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    def send(self, text: str) -> bool:
        """Send an envelope on the data channel; False when it is not open (use the
        WebSocket fallback)."""
        if self.channel.readyState != "open":
            return False
        self.channel.send(text)
        return True

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await self.pc.close()
        # the sender does not stop its source: a camera track lets go of the camera here
        self.camera.stop()
        if self.microphone is not None:
            self.microphone.stop()  # MediaPlayer lets go of the capture device
        if self.speaker is not None:
            await asyncio.to_thread(self.speaker.close)  # the card plays out its buffer
