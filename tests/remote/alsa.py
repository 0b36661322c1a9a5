"""ALSA without a sound card, for the audio tests: an ALSA configuration file whose PCMs use
the ``file`` plugin on a ``null`` slave. ``kiosk_speaker`` writes what is played to a raw
file; ``kiosk_mic`` reads capture from a raw file (then silence). Raw PCM is s16le, 48 kHz;
the speaker's is stereo (what kiosk.remote.audio.Speaker opens), the microphone's mono.

The configuration reaches libasound through ``ALSA_CONFIG_PATH``, set only in the test's
own environment (the fixture in conftest.py uses monkeypatch; a child process gets it in
its ``env``). It needs no system ALSA file: the null slave is written inline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 48_000
SPEAKER = "kiosk_speaker"
MICROPHONE = "kiosk_mic"


@dataclass(frozen=True)
class AlsaFiles:
    config: Path  # the value for ALSA_CONFIG_PATH
    played: Path  # what the speaker wrote (s16le stereo)
    captured: Path  # what the microphone reads (s16le mono)


def write_config(root: Path) -> AlsaFiles:
    root.mkdir(parents=True, exist_ok=True)
    files = AlsaFiles(root / "asound.conf", root / "speaker.raw", root / "microphone.raw")
    files.config.write_text(
        f"""pcm.{SPEAKER} {{
  type file
  slave.pcm {{ type null }}
  file "{files.played}"
  format "raw"
}}
pcm.{MICROPHONE} {{
  type file
  slave.pcm {{ type null }}
  file "/dev/null"
  infile "{files.captured}"
  format "raw"
}}
"""
    )
    write_tone(files.captured, seconds=0.0)
    return files


def tone(seconds: float, hz: float = 440.0, amplitude: float = 0.3, channels: int = 1) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    mono = (amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    return np.repeat(mono[:, None], channels, axis=1).tobytes()


def write_tone(path: Path, seconds: float, hz: float = 440.0) -> None:
    path.write_bytes(tone(seconds, hz))


def rms(raw: bytes) -> float:
    """Root mean square of s16le samples (any channel count); 0.0 for no samples."""
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
