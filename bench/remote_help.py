"""Remote video help (远程帮办): what the control path costs, measured on this machine.

1. **Kiosk-side CPU per message** (pure, in-process): masking a form step into a snapshot
   plus its patch, and the full handling of one field intent by
   :class:`kiosk.remote.protocol.KioskProtocol` (parse, checks, audit record, answer).
2. **Signalling through the real sandbox** (process on loopback, kiosk client
   :class:`kiosk.remote.client.RemoteHelp`, a scripted console on the assistant socket):
   time from the help request to the assistant's offer, from *accept* to the kiosk's
   ``AssistantJoined`` and to the console's first snapshot, and the round trip of an intent
   (console → platform → kiosk → platform → console), median and 95th percentile.

3. **Media** (:mod:`kiosk.remote.media`, aiortc): this process is the kiosk (640×480@15 VP8,
   red synthetic camera); a child process plays the console's peer (aiortc, 640×480@15
   green). Printed: time from the offer (the moment the assistant accepted) to the first
   decoded frame on each side (target ≤ 2 s), and the kiosk process's CPU over a window of
   the two-way call with Opus both ways (silence: aiortc's AudioStreamTrack)
   (``getrusage``; target ≤ 50 % of one core). The console is aiortc, not a browser.

   ``--app-path`` runs the call the way the app does: the kiosk camera is a
   :class:`devices.camera.driver.FaceCamera` playing a picture file (read on its worker at
   15 fps and handed over by its frame tap), sent through
   :class:`kiosk.remote.camera_track.CameraTrack`; both the received and the sent frames go
   through :class:`kiosk.remote.video.PictureRelay` (10 fps each, converted to RGB for the
   corner; the "GUI" takes each picture at once, drawing is not counted). The picture is the
   same solid red as the synthetic camera, or with ``--face`` the synthetic face photo
   (a real picture costs the VP8 encoder more than a flat one).

   ``--audio speaker`` (with ``--app-path``) plays the console's Opus on the app's
   :class:`~kiosk.remote.audio.Speaker`; ``--audio both`` also sends a
   :func:`~kiosk.remote.audio.open_microphone` track instead of aiortc's silence. Both are
   on ALSA's ``file`` plugin over a ``null`` slave (tests/remote/alsa.py; no sound card
   here): a 440 Hz tone is captured, what is played goes to a temporary file. The null
   slave paces neither direction like a card: the speaker's writes never wait (its cost is
   real: the frames come at the network's pace), but capture hands over one sample per
   read, well below 48,000 a second (printed), which makes PyAV and aiortc's player
   thread spin: the ``both`` figure overstates the microphone and needs a real card.

Run: ``.venv/bin/python -m bench.remote_help [--rounds N] [--seconds S]
[--app-path [--face] [--audio speaker|both]]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from flows import events as ev
from kiosk.remote import audit, masking
from kiosk.remote.client import RemoteHelp
from kiosk.remote.envelope import Envelope, encode, parse
from kiosk.remote.protocol import KioskProtocol
from kiosk.sandbox_process import start_sandbox
from offline.client import PlatformClient
from tests.remote.views import field, view


def pure(rounds: int) -> None:
    fields = [field(f"f{i}", f"值{i}", masked=i % 3 == 0) for i in range(12)]
    allow = masking.AllowList.of([("tax.certificate", "form1", f"f{i}") for i in range(0, 12, 2)])
    a, b = view(*fields), view(*fields, busy=True)
    t0 = time.perf_counter()
    for _ in range(rounds):
        old = masking.snapshot(a, allow)
        masking.diff(old, masking.snapshot(b, allow))
    per = (time.perf_counter() - t0) / rounds / 2
    print(f"mask a 12-field step into a snapshot (+ half a diff): {per * 1e6:8.1f} µs")

    k = KioskProtocol("bench", allow, audit.AuditChain())
    k.view_changed(a, 0.0)
    k.assistant_joined(0.0)
    k.receive(
        encode(Envelope("bench", "assistant", 1, "c", "consent.request", {"scopes": ["fill"]})), 0.0
    )
    k.grant({"fill"}, 0.0)
    texts = [
        encode(
            Envelope(
                "bench",
                "assistant",
                2 + i,
                f"a-{i}",
                "intent.field",
                {"field": "f1", "value": "1"},
                base_rev=k.rev,
            )
        )
        for i in range(rounds)
    ]
    t0 = time.perf_counter()
    for text in texts:
        k.receive(text, 1.0)
    per = (time.perf_counter() - t0) / rounds
    print(f"handle one field intent (parse, checks, audit, answer): {per * 1e6:8.1f} µs")


def signalling(rounds: int) -> None:
    posted: queue.Queue[object] = queue.Queue()
    with start_sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        sb.admin(
            "PUT",
            "/admin/assistants/bench",
            {"name": "坐席", "password": "bench-password", "skills": ["tax"]},
        )
        token = requests.post(
            sb.url + "/assist/login",
            timeout=10,
            json={"assistant_id": "bench", "password": "bench-password"},
        ).json()["token"]
        client = PlatformClient(sb.url, sb.kiosk_id, sb.secret, timeout_s=10)
        with connect(sb.url.replace("http", "ws") + f"/ws/assistant?token={token}") as ws:

            def until(mtype: str) -> dict[str, Any]:
                while True:
                    msg: dict[str, Any] = json.loads(ws.recv(timeout=10))
                    if msg["type"] == mtype:
                        return msg

            def rh_until(mtype: str) -> Envelope:
                while True:
                    env = parse(until("rh")["data"])
                    if env.type == mtype:
                        return env

            ws.send(json.dumps({"type": "ready", "ready": True}))
            request = ev.CallAssistant(
                request_id=1,
                mode="remote_video",
                item_code="x",
                flow_id="tax.certificate",
                step_id="form1",
            )
            helper = RemoteHelp(
                client,
                posted.put,
                request,
                allow=masking.AllowList(),
                audit_dir=Path(tmp),
                skill="tax",
            )
            helper.view_changed(view(field("amount")))
            t0 = time.perf_counter()
            helper.start()
            offer = until("offer")["task"]
            t_offer = time.perf_counter()
            ws.send(json.dumps({"type": "accept", "task": offer["id"]}))
            while not isinstance(posted.get(timeout=10), ev.AssistantJoined):
                pass
            t_joined = time.perf_counter()
            snap = rh_until("snapshot")
            t_snap = time.perf_counter()
            print(f"help request → offer on the console:        {(t_offer - t0) * 1e3:7.1f} ms")
            print(
                f"accept → kiosk AssistantJoined:              {(t_joined - t_offer) * 1e3:7.1f} ms"
            )
            print(
                f"accept → first snapshot at the console:      {(t_snap - t_offer) * 1e3:7.1f} ms"
            )
            sid, rev, seq = offer["id"], snap.rev or 0, 1
            ws.send(
                json.dumps(
                    {
                        "type": "rh",
                        "data": encode(
                            Envelope(
                                sid,
                                "assistant",
                                seq,
                                "c-1",
                                "consent.request",
                                {"scopes": ["fill"]},
                            )
                        ),
                    }
                )
            )
            time.sleep(0.2)  # the consent request reaches the kiosk before it grants
            helper.grant({"fill"})
            rev = rh_until("control.state").rev or rev
            times = []
            for i in range(rounds):
                seq += 1
                text = encode(
                    Envelope(
                        sid,
                        "assistant",
                        seq,
                        f"i-{i}",
                        "intent.field",
                        {"field": "amount", "value": str(i)},
                        base_rev=rev,
                    )
                )
                t = time.perf_counter()
                ws.send(json.dumps({"type": "rh", "data": text}))
                result = rh_until("intent.result")
                times.append(time.perf_counter() - t)
                assert result.body["result"] == "applied", result.body
            times.sort()
            print(
                f"intent round trip console→kiosk→console:     median "
                f"{statistics.median(times) * 1e3:6.2f} ms, p95 "
                f"{times[int(len(times) * 0.95) - 1] * 1e3:6.2f} ms ({rounds} intents)"
            )
            helper.end("bench_over")
            helper.join(10)


async def _console_peer() -> None:
    """Child process: read the offer line, answer, send green 640×480@15, report frames."""
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

    from kiosk.remote.media import MediaConfig, SyntheticCamera

    loop = asyncio.get_running_loop()
    offer = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    t0 = time.monotonic()
    pc = RTCPeerConnection()
    first: list[float] = []
    readers: list[asyncio.Future[None]] = []

    def on_track(track: MediaStreamTrack) -> None:
        async def read() -> None:
            while True:
                try:
                    await track.recv()
                except MediaStreamError:
                    return
                if not first:
                    first.append(time.monotonic() - t0)
                    print(json.dumps({"first_frame_s": first[0]}), flush=True)

        if track.kind == "video":
            readers.append(asyncio.ensure_future(read()))

    pc.on("track", on_track)
    await pc.setRemoteDescription(RTCSessionDescription(**offer))
    for t in pc.getTransceivers():
        if t.kind == "video":
            t.sender.replaceTrack(SyntheticCamera(MediaConfig(), (30, 200, 60)))
            t.direction = "sendrecv"
        elif t.kind == "audio":
            t.sender.replaceTrack(AudioStreamTrack())
            t.direction = "sendrecv"
    await pc.setLocalDescription(await pc.createAnswer())
    print(json.dumps({"type": "answer", "sdp": pc.localDescription.sdp}), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # until the parent closes stdin
    await pc.close()


def _counting(inner: Any) -> Any:
    """``inner`` (an audio track), counting in ``samples`` what the sender takes."""
    from aiortc.mediastreams import MediaStreamTrack

    class Counting(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.samples = 0

        async def recv(self) -> Any:
            frame = await inner.recv()
            self.samples += frame.samples
            return frame

        def stop(self) -> None:
            super().stop()
            inner.stop()

    return Counting()


def _alsa_audio(seconds: float, microphone: bool) -> tuple[Any, Any]:
    """The app's speaker and microphone on ALSA's file plugin (see the module docstring)."""
    from kiosk.remote.audio import Speaker, open_microphone
    from tests.remote.alsa import MICROPHONE, SPEAKER, write_config, write_tone

    files = write_config(Path(tempfile.mkdtemp(prefix="bench-rh-alsa-")))
    write_tone(files.captured, seconds=seconds + 30)
    os.environ["ALSA_CONFIG_PATH"] = str(files.config)  # this process only
    if not microphone:
        from aiortc.mediastreams import AudioStreamTrack

        return Speaker(SPEAKER), _counting(AudioStreamTrack())
    return Speaker(SPEAKER), _counting(open_microphone(MICROPHONE))


async def _kiosk_call(
    seconds: float, app_path: bool = False, face: bool = False, audio: str | None = None
) -> None:
    from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack

    from kiosk.remote.media import KioskMedia, MediaConfig, SyntheticCamera

    child = subprocess.Popen(
        [sys.executable, "-m", "bench.remote_help", "--console-peer"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    device: Any = None
    relay: Any = None
    try:
        config = MediaConfig()
        camera: MediaStreamTrack = SyntheticCamera(config, (220, 30, 30))
        on_frame = None
        if app_path:
            device, relay, camera = _app_camera(config, face)
            on_frame = relay.assistant_frame
        speaker: Any = None
        microphone: Any = AudioStreamTrack()
        if audio:
            speaker, microphone = _alsa_audio(seconds, microphone=audio == "both")
        kiosk = KioskMedia(
            config,
            camera,
            microphone=microphone,
            on_message=print,
            on_frame=on_frame,
            speaker=speaker,
        )
        t0 = time.monotonic()
        offer = await kiosk.offer()
        child.stdin.write(json.dumps(offer) + "\n")
        child.stdin.flush()
        loop = asyncio.get_running_loop()
        answer = json.loads(await loop.run_in_executor(None, child.stdout.readline))
        await kiosk.accept_answer(answer)
        console_first = json.loads(await loop.run_in_executor(None, child.stdout.readline))
        while kiosk.stats.first_frame_at is None and time.monotonic() - t0 < 30:
            await asyncio.sleep(0.01)
        kiosk_first = (kiosk.stats.first_frame_at or float("nan")) - t0
        print(f"offer (accept) → first decoded frame at the kiosk:   {kiosk_first:6.2f} s")
        print(
            f"offer received → first decoded frame at the console: "
            f"{console_first['first_frame_s']:6.2f} s"
        )
        await asyncio.sleep(2.0)  # let the bandwidth estimate settle
        frames0, cpu0 = kiosk.stats.frames_received, resource.getrusage(resource.RUSAGE_SELF)
        played0 = speaker.samples_written if speaker is not None else 0
        captured0 = getattr(microphone, "samples", 0)
        w0 = time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - w0
        played = (speaker.samples_written - played0) / wall if speaker is not None else 0
        captured = (getattr(microphone, "samples", 0) - captured0) / wall
        used = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        fps = (kiosk.stats.frames_received - frames0) / wall
        path = (
            ("app path, " + ("face photo" if face else "red picture")) if app_path else "synthetic"
        )
        if audio:
            path += ", ALSA speaker" + (" + microphone" if audio == "both" else "")
        print(
            f"kiosk process CPU ({path}), two-way 640×480@15 VP8 + Opus: "
            f"{100 * used / wall:5.1f} % of one core over {wall:.0f} s; "
            f"receiving {fps:.1f} fps at {kiosk.stats.last_size}, "
            f"{kiosk.stats.audio_frames_received} audio frames"
        )
        if relay is not None:
            print(f"app pictures converted: {relay.converted} ({relay.converted / wall:.1f}/s)")
        if audio:
            print(f"speaker: {played:,.0f} samples/s written, {speaker.frames_dropped} dropped")
        if audio == "both":
            print(f"microphone: {captured:,.0f} samples/s sent (a card gives 48,000)")
        await kiosk.close()
    finally:
        if device is not None:
            device.stop()
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _app_camera(config: Any, face: bool) -> tuple[Any, Any, Any]:
    """The app's camera path: a FaceCamera on a picture file, its tap, the camera track, and
    a picture relay whose "GUI" takes every picture at once."""
    import cv2
    import numpy as np

    from devices.camera.driver import FaceCamera
    from kiosk.remote.camera_track import device_camera
    from kiosk.remote.video import PictureReady, PictureRelay

    if face:
        from devices.camera.synthetic import astronaut_frame

        picture = astronaut_frame()
    else:
        picture = np.full((480, 640, 3), (30, 30, 220), np.uint8)
    path = Path(tempfile.mkdtemp(prefix="bench-rh-")) / "camera.png"
    cv2.imwrite(str(path), picture)
    device = FaceCamera("camera", str(path))
    device.start()
    deadline = time.monotonic() + 20
    while not device.status.usable and time.monotonic() < deadline:
        time.sleep(0.01)
    relay: Any = None

    def post(event: object) -> None:
        if isinstance(event, PictureReady):
            relay.take(event.source)

    relay = PictureRelay(post)
    return device, relay, device_camera(config, device, on_sent=relay.preview_frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--app-path", action="store_true", help="the app's camera and pictures")
    parser.add_argument("--face", action="store_true", help="with --app-path: a face photo")
    parser.add_argument(
        "--audio", choices=("speaker", "both"), help="with --app-path: the ALSA audio devices"
    )
    parser.add_argument("--console-peer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.console_peer:
        asyncio.run(_console_peer())
        return
    if args.app_path:  # the media figure only, along the app's path
        asyncio.run(_kiosk_call(args.seconds, app_path=True, face=args.face, audio=args.audio))
        return
    pure(args.rounds * 4)
    signalling(args.rounds)
    asyncio.run(_kiosk_call(args.seconds))


if __name__ == "__main__":
    main()
