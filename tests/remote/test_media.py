"""Kiosk media (aiortc) against a second aiortc peer standing in for the console's browser:
video decoded both ways with a colour check, rh/1 envelopes on the data channel both ways;
and the same through coturn with relay-only ICE (coturn started here, stopped by PID)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame

from kiosk.remote.envelope import Envelope, encode, parse
from kiosk.remote.media import KioskMedia, MediaConfig, SyntheticCamera

RED, GREEN = (220, 30, 30), (30, 200, 60)
SMALL = MediaConfig(width=320, height=240, fps=15)
WAIT_S = 20.0


def centre_rgb(frame: VideoFrame) -> tuple[int, ...]:
    arr = frame.to_ndarray(format="rgb24")
    h, w = arr.shape[0] // 2, arr.shape[1] // 2
    return tuple(int(v) for v in arr[h - 8 : h + 8, w - 8 : w + 8].reshape(-1, 3).mean(axis=0))


def close_to(rgb: tuple[int, ...], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(rgb, want, strict=True))


class ConsolePeer:
    """The browser's part: answers the offer, sends green video, echoes rh/1 envelopes."""

    def __init__(self, config: RTCConfiguration) -> None:
        self.pc = RTCPeerConnection(config)
        self.frames: list[tuple[int, ...]] = []
        self.messages: list[str] = []
        self.channel: RTCDataChannel | None = None
        self.pc.on("datachannel", self._datachannel)
        self.pc.on("track", self._track)
        self.tasks: list[asyncio.Task[None]] = []

    def _datachannel(self, channel: RTCDataChannel) -> None:
        self.channel = channel

        @channel.on("message")
        def _message(message: object) -> None:
            assert isinstance(message, str)
            self.messages.append(message)
            env = parse(message)
            reply = Envelope(
                env.sid, "assistant", 1, "a-1", "consent.request", {"scopes": ["fill"]}
            )
            channel.send(encode(reply))

    def _track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self.tasks.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        while len(self.frames) < 5:
            frame = await track.recv()
            assert isinstance(frame, VideoFrame)
            self.frames.append(centre_rgb(frame))

    async def answer(self, offer: dict[str, str]) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(**offer))
        for t in self.pc.getTransceivers():
            if t.kind == "video":
                t.sender.replaceTrack(SyntheticCamera(SMALL, GREEN))
                t.direction = "sendrecv"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return {"type": "answer", "sdp": self.pc.localDescription.sdp}


async def call(config: MediaConfig, console_config: RTCConfiguration) -> dict[str, Any]:
    got: list[str] = []
    kiosk_frames: list[tuple[int, ...]] = []
    kiosk = KioskMedia(
        config,
        SyntheticCamera(config, RED),
        on_message=got.append,
        on_frame=lambda f: kiosk_frames.append(centre_rgb(f)),
    )
    console = ConsolePeer(console_config)
    try:
        t0 = time.monotonic()
        offer = await kiosk.offer()
        await kiosk.accept_answer(await console.answer(offer))
        snapshot = Envelope("rh-m", "kiosk", 1, "k-1", "snapshot", {"step_id": "form"}, rev=1)
        deadline = time.monotonic() + WAIT_S
        sent = False
        while time.monotonic() < deadline:
            if not sent:
                sent = kiosk.send(encode(snapshot))
            if got and len(console.frames) >= 5 and len(kiosk_frames) >= 5:
                break
            await asyncio.sleep(0.05)
        return {
            "offer": offer["sdp"],
            "answer": console.pc.localDescription.sdp,
            "kiosk_frames": kiosk_frames,
            "console_frames": console.frames,
            "kiosk_got": got,
            "console_got": console.messages,
            "first_frame_s": (kiosk.stats.first_frame_at or t0) - t0,
            "size": kiosk.stats.last_size,
        }
    finally:
        for task in console.tasks:
            task.cancel()
        await kiosk.close()
        await console.pc.close()


def check(result: dict[str, Any]) -> None:
    assert len(result["kiosk_frames"]) >= 5 and len(result["console_frames"]) >= 5
    assert close_to(result["console_frames"][-1], RED), result["console_frames"][-1]
    assert close_to(result["kiosk_frames"][-1], GREEN), result["kiosk_frames"][-1]
    assert result["size"] == (SMALL.width, SMALL.height)
    assert parse(result["console_got"][0]).type == "snapshot"
    assert parse(result["kiosk_got"][0]).type == "consent.request"
    assert " VP8/90000" in result["offer"]


def test_two_way_video_and_the_rh1_channel_on_loopback() -> None:
    check(asyncio.run(call(SMALL, RTCConfiguration())))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_stun(port: int) -> None:
    """Until the server answers a STUN binding request (RFC 5389 header, no attributes)."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        for _ in range(50):
            s.sendto(request, ("127.0.0.1", port))
            try:
                if s.recv(2048)[8:20] == request[8:20]:
                    return
            except TimeoutError:
                continue
    raise AssertionError("coturn did not answer STUN")


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[dict[str, Any]]:
    exe = shutil.which("turnserver")
    assert exe is not None, "install coturn (scripts/setup.sh does)"
    port, secret = _free_udp_port(), base64.b16encode(os.urandom(12)).decode()
    proc = subprocess.Popen(
        [
            exe,
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            "--min-port=49200",
            "--max-port=49400",
            "--allow-loopback-peers",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=quanban.test",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            f"--pidfile={tmp_path / 'turn.pid'}",
            f"--log-file={tmp_path / 'turn.log'}",
            "--simple-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_stun(port)
        # TURN REST credentials as the platform issues them (sandbox/assist.py)
        username = f"{int(time.time()) + 600}:rh-media-test"
        credential = base64.b64encode(
            hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
        ).decode()
        yield {
            "urls": [f"turn:127.0.0.1:{port}?transport=udp"],
            "username": username,
            "credential": credential,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_relay_only_through_coturn(coturn: dict[str, Any]) -> None:
    relay = MediaConfig(width=320, height=240, fps=15, relay_only=True, ice_servers=(coturn,))
    console = RTCConfiguration(
        iceServers=[RTCIceServer(**coturn)], iceTransportPolicy=RTCIceTransportPolicy.RELAY
    )
    result = asyncio.run(call(relay, console))
    for sdp in (result["offer"], result["answer"]):
        candidates = [ln for ln in sdp.splitlines() if ln.startswith("a=candidate:")]
        assert candidates and all(" typ relay" in c for c in candidates), candidates
    check(result)
