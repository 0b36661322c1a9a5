"""The kiosk's speaker and microphone in a remote-help call, on ALSA through PyAV (no Qt).

:class:`Speaker` plays the assistant's received audio track on an ALSA output;
:func:`open_microphone` gives an audio track captured from an ALSA input, which
:class:`~kiosk.remote.media.KioskMedia` sends as Opus. Device names are ALSA PCM names
(``default``, ``plughw:1,0``, or one defined in /etc/asound.conf or ~/.asoundrc), from
``[remote_help] speaker`` / ``microphone``.

Why these parts:

- Microphone: aiortc's own ``MediaPlayer(device, format="alsa")``. It reads the device on
  its own thread (PyAV releases the GIL while ALSA blocks), resamples to the 20 ms s16
  48 kHz frames the Opus encoder takes, stops that thread when the track stops, and
  writes nothing anywhere. Capture is mono (``channels=1``): one voice, half the bytes; use
  a ``plughw:`` or ``default`` name for a card that only records stereo.
- Speaker: not aiortc's ``MediaRecorder``. It muxes on the asyncio loop, and an ALSA write
  blocks until the card has room (one 20 ms frame at a time once its buffer is full), so
  it would hold up the video and the data channel of the remote-help loop; its task also
  dies silently on a device error, and nothing bounds the delay. Here the loop only hands
  frames over (:meth:`Speaker.feed`): a bounded queue (``max_queue`` frames, 200 ms by
  default; the oldest is dropped when full, so a stalled card cannot make the voice lag
  further), and a thread named ``remote-help-speaker`` resamples and writes them with
  PyAV's ``alsa`` muxer. A write error ends playback and is logged (its type only); the
  call goes on.

Both devices are opened when an assistant joins, before the WebRTC offer
(:class:`kiosk.remote.client.RemoteHelp`), and raise there when they cannot be opened: the
session then goes on without that direction, and the offer's audio direction tells the
console (:func:`audio_direction`: ``sendonly`` when the kiosk cannot play the assistant,
``recvonly`` when it sends no microphone).

ALSA configuration: the libasound bundled in PyAV's wheel looks for its configuration
under its build prefix, not /usr/share/alsa, and so knows no device at all.
:func:`use_system_alsa_config` points it at Debian's files (``libasound2-data``) through
``ALSA_CONFIG_DIR`` unless the environment already sets it (tests set
``ALSA_CONFIG_PATH`` to their own file). That library cannot load external ALSA plugins
(PulseAudio, PipeWire): name a hardware device (``plughw:``, ``dmix``) on the kiosk.

Threading contract: :meth:`Speaker.play` and :meth:`Speaker.feed` run on the remote-help
loop; the writer thread owns the PyAV container; :meth:`Speaker.close` may block for up to
``close_timeout_s`` (the card plays out what it holds) and is called off the loop
(``asyncio.to_thread``). Opening either device blocks briefly: call off the loop too.

Personal data: the citizen's voice (microphone) and the assistant's. Audio is never
written to a file by the product and never logged; logs carry device roles and error
types only (the device name is configuration, not personal data, but is not logged
either).
"""

from __future__ import annotations

import fractions
import logging
import os
import queue
import threading
from pathlib import Path
from typing import Literal

import av
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.audio.frame import AudioFrame

from config.logs import Safe

__all__ = ["RATE", "Speaker", "audio_direction", "open_microphone", "use_system_alsa_config"]

log = logging.getLogger(__name__)

RATE = 48_000  # Opus decodes to 48 kHz; the card's plug layer converts if it must
#: Debian's ALSA configuration (package libasound2-data)
SYSTEM_ALSA_DIR = Path("/usr/share/alsa")
_config_lock = threading.Lock()


def use_system_alsa_config(system_dir: Path = SYSTEM_ALSA_DIR) -> None:
    """Point PyAV's bundled libasound at the system's ALSA configuration, once, unless the
    environment already names one (``ALSA_CONFIG_DIR`` or ``ALSA_CONFIG_PATH``)."""
    with _config_lock:
        if "ALSA_CONFIG_DIR" in os.environ or "ALSA_CONFIG_PATH" in os.environ:
            return
        if (system_dir / "alsa.conf").is_file():
            os.environ["ALSA_CONFIG_DIR"] = str(system_dir)


def open_microphone(device: str) -> MediaStreamTrack:
    """An audio track captured from ALSA input ``device`` (mono, 48 kHz); raises when the
    device cannot be opened. Stopping the track stops the capture."""
    use_system_alsa_config()
    player = MediaPlayer(device, format="alsa", options={"channels": "1", "sample_rate": str(RATE)})
    if player.audio is None:  # an ALSA input always has an audio stream; belt and braces
        raise OSError("no audio stream on the microphone")
    return player.audio


def audio_direction(
    *, send: bool, receive: bool
) -> Literal["sendrecv", "sendonly", "recvonly", "inactive"]:
    """The SDP direction of the kiosk's audio: what it can send and what it can play."""
    if send:
        return "sendrecv" if receive else "sendonly"
    return "recvonly" if receive else "inactive"


class Speaker:
    """The assistant's voice on ALSA output ``device``; raises at construction when the
    device cannot be opened."""

    def __init__(self, device: str, *, max_queue: int = 10, close_timeout_s: float = 3.0) -> None:
        use_system_alsa_config()
        container = av.open(device, format="alsa", mode="w")
        try:
            stream = container.add_stream("pcm_s16le", rate=RATE, layout="stereo")
            container.start_encoding()  # opens the device now, not at the first frame
        except BaseException:
            container.close()
            raise
        self._container = container
        self._stream = stream
        self._queue: queue.Queue[AudioFrame | None] = queue.Queue(maxsize=max_queue)
        self.close_timeout_s = close_timeout_s
        self.frames_fed = 0
        self.frames_dropped = 0  # the card fell behind; the oldest frame went
        self.samples_written = 0  # per channel, at RATE
        self.failed: str | None = None  # error type that ended playback
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="remote-help-speaker", daemon=True)
        self._thread.start()

    # -- remote-help loop ------------------------------------------------------------------

    async def play(self, track: MediaStreamTrack) -> None:
        """Hand every frame of ``track`` to the speaker until the track ends."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, AudioFrame):
                self.feed(frame)

    def feed(self, frame: AudioFrame) -> None:
        if self._closing or self.failed is not None:
            return
        self.frames_fed += 1
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                self._drop_one()

    def _drop_one(self) -> None:
        try:
            self._queue.get_nowait()
            self.frames_dropped += 1
        except queue.Empty:
            pass

    # -- any thread (off the loop) ---------------------------------------------------------

    def close(self) -> None:
        """Stop playing: frames still waiting are dropped; the card plays out its buffer."""
        if self._closing:
            return
        self._closing = True
        while True:
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                self._drop_one()
        self._thread.join(self.close_timeout_s)

    @property
    def playing(self) -> bool:
        return self._thread.is_alive()

    # -- writer thread ---------------------------------------------------------------------

    def _run(self) -> None:
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=RATE)
        time_base = fractions.Fraction(1, RATE)
        try:
            while (frame := self._queue.get()) is not None:
                for out in resampler.resample(frame):
                    out.pts = self.samples_written  # our own clock: gaps and drops are fine
                    out.time_base = time_base
                    self.samples_written += out.samples
                    for packet in self._stream.encode(out):
                        self._container.mux(packet)
        except Exception as err:  # a device error ends playback, never the call
            self.failed = type(err).__name__
            log.warning("help speaker stopped", extra={"error": Safe(self.failed)})
        finally:
            try:
                self._container.close()
            except Exception as err:  # closing a failed device may fail again
                log.info("help speaker close failed", extra={"error": Safe(type(err).__name__)})
