"""Pictures for the app's video corner (kiosk/remote/video.py): at most max_fps per source,
converted off the GUI thread, one picture and one notice waiting per source at most."""

from __future__ import annotations

import numpy as np
from av import VideoFrame

from kiosk.remote.video import Picture, PictureReady, PictureRelay


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def frame(rgb: tuple[int, int, int], width: int = 640, height: int = 480) -> VideoFrame:
    arr = np.full((height, width, 3), rgb, np.uint8)
    return VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="yuv420p")


def test_pictures_are_throttled_converted_and_handed_over_once() -> None:
    posted: list[object] = []
    clock = Clock()
    relay = PictureRelay(posted.append, max_fps=10, clock=clock)
    relay.assistant_frame(frame((20, 200, 40)))
    assert posted == [PictureReady("assistant")]
    pic = relay.take("assistant")
    assert isinstance(pic, Picture)
    assert (pic.width, pic.height, len(pic.rgb)) == (320, 240, 320 * 240 * 3)
    px = np.frombuffer(pic.rgb, np.uint8).reshape(240, 320, 3)[120, 160]
    assert abs(int(px[1]) - 200) < 20 and px[0] < 50 and px[2] < 70
    assert "rgb" not in repr(pic)  # the face never lands in a log line by accident
    assert relay.take("assistant") is None
    clock.t += 0.05  # within 1/10 s: skipped
    relay.assistant_frame(frame((0, 0, 0)))
    assert relay.take("assistant") is None and relay.converted == 1
    clock.t += 0.06
    relay.assistant_frame(frame((0, 0, 0)))
    assert relay.take("assistant") is not None and relay.converted == 2


def test_a_gui_that_is_behind_gets_one_picture_and_one_notice_per_source() -> None:
    posted: list[object] = []
    clock = Clock()
    relay = PictureRelay(posted.append, max_fps=10, clock=clock)
    for _ in range(20):  # 2.5 s of frames while the GUI takes nothing
        relay.assistant_frame(frame((200, 0, 0)))
        relay.preview_frame(frame((0, 0, 200), 320, 240))
        clock.t += 0.125
    assert posted == [PictureReady("assistant"), PictureReady("preview")]
    assert relay.converted == 2 and relay.dropped == 38
    preview = relay.take("preview")
    assert preview is not None and (preview.width, preview.height) == (160, 120)
    relay.preview_frame(frame((0, 0, 200), 320, 240))  # taken: the next one goes through
    assert posted[-1] == PictureReady("preview") and len(posted) == 3


def test_the_height_follows_the_frames_aspect() -> None:
    relay = PictureRelay(lambda _e: None)
    relay.assistant_frame(frame((9, 9, 9), 1280, 720))
    pic = relay.take("assistant")
    assert pic is not None and (pic.width, pic.height) == (320, 180)


def test_close_drops_waiting_pictures_and_takes_no_more() -> None:
    posted: list[object] = []
    clock = Clock()
    relay = PictureRelay(posted.append, clock=clock)
    relay.preview_frame(frame((1, 2, 3)))
    relay.close()
    assert relay.take("preview") is None
    clock.t += 1
    relay.preview_frame(frame((1, 2, 3)))
    relay.assistant_frame(frame((1, 2, 3)))
    assert relay.take("preview") is None and relay.take("assistant") is None
    assert len(posted) == 1
