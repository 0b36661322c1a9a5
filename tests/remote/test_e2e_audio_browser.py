"""Audio end to end on loopback: the real sandbox, the kiosk's remote-help session (aiortc, no
Qt) with its speaker and microphone on ALSA's file plugin (tests/remote/alsa.py: no sound
card here), and the assistant console in headless Debian Chromium (Playwright; Chromium's
fake microphone beeps).

The assistant's voice reaches the kiosk's speaker: the console's beeps, sent as Opus,
decoded and written by the kiosk, are in the ALSA output file. The kiosk's microphone
reaches the assistant: a 440 Hz tone in the ALSA capture file, sent as Opus, gives the
console's inbound audio energy (``getStats`` ``totalAudioEnergy``, which pure silence
leaves at 0). The console shows that both kiosk devices work; when the session ends the
speaker stops writing."""

from __future__ import annotations

import queue
import time
from pathlib import Path

from playwright.sync_api import Browser

from flows import events as ev
from kiosk.remote import masking
from kiosk.remote.audio import Speaker, open_microphone
from kiosk.remote.client import RemoteHelp
from kiosk.remote.media import MediaConfig, SyntheticCamera
from offline.client import PlatformClient
from tests.remote.alsa import MICROPHONE, RATE, SPEAKER, AlsaFiles, rms, write_tone
from tests.remote.browser import FRAMES_DECODED, RED, WAIT_MS, login
from tests.remote.test_e2e_browser import next_of
from tests.remote.test_signalling import add_assistant
from tests.remote.views import field, view
from tests.sandbox_process import SandboxProcess, sandbox_fixture

sandbox = sandbox_fixture(scope="module")
#: the console's inbound audio carries the kiosk's tone (0.3 full scale: ~0.09 a second)
ENERGY = "async () => (await inbound('audio'))?.totalAudioEnergy > 0.02"


def loudest_20ms(raw: bytes) -> float:
    """The RMS of the loudest 20 ms of s16le stereo (a beep is short)."""
    window = RATE // 50 * 4
    return max((rms(raw[i : i + window]) for i in range(0, len(raw), window)), default=0.0)


def test_speaker_and_microphone_with_the_browser_console(
    sandbox: SandboxProcess, browser: Browser, alsa: AlsaFiles, tmp_path: Path
) -> None:
    write_tone(alsa.captured, seconds=60.0)
    sandbox.admin(
        "PUT",
        "/admin/assist/config",
        {"offer_timeout_s": 60, "callback_after_s": 600, "kiosk_grace_s": 10},
    )
    add_assistant(sandbox, "au", "tax")
    page = login(browser, sandbox, "au")
    posted: queue.Queue[object] = queue.Queue()
    helper = RemoteHelp(
        PlatformClient(sandbox.url, sandbox.kiosk_id, sandbox.secret, timeout_s=10),
        posted.put,
        ev.CallAssistant(
            request_id=41,
            mode="remote_video",
            item_code="370100-TAX-01",
            flow_id="tax.certificate",
            step_id="form1",
        ),
        allow=masking.AllowList(),
        audit_dir=tmp_path / "audit",
        skill="tax",
        media=MediaConfig(width=320, height=240, fps=15),
        camera=lambda c: SyntheticCamera(c, RED),
        microphone=lambda: open_microphone(MICROPHONE),
        speaker=lambda: Speaker(SPEAKER),
    )
    helper.view_changed(view(field("amount")))
    helper.start()
    try:
        page.click("text=接听", timeout=WAIT_MS)
        assert next_of(posted, ev.AssistantJoined) == ev.AssistantJoined(request_id=41)
        page.wait_for_function(FRAMES_DECODED, timeout=WAIT_MS)  # video as ever
        assert helper.audio_status == {"microphone": "ok", "speaker": "ok"}
        page.wait_for_selector("#kiosk-audio >> text=终端话筒、扬声器正常", timeout=WAIT_MS)

        # the kiosk's microphone in the console
        page.wait_for_function(ENERGY, timeout=WAIT_MS)

        # the console's fake microphone on the kiosk's speaker
        deadline = time.monotonic() + WAIT_MS / 1000
        loudest = 0.0
        while time.monotonic() < deadline and loudest < 1000:
            page.wait_for_timeout(200)
            loudest = loudest_20ms(alsa.played.read_bytes())
        assert loudest >= 1000, loudest
        media = helper.media
        assert media is not None and media.speaker is not None
        speaker = media.speaker

        page.click("#end")
        assert next_of(posted, ev.AssistantLeft) == ev.AssistantLeft(request_id=41)
        assert helper.join(WAIT_MS / 1000)
        assert not speaker.playing and speaker.failed is None
        size = alsa.played.stat().st_size
        page.wait_for_timeout(300)
        assert alsa.played.stat().st_size == size  # nothing plays after the call
    finally:
        helper.end("test_over")
        helper.join(10)
        page.close()
