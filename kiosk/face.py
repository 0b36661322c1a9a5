"""Face capture for the runtime: one liveness attempt on the camera, then the 1:1 match.

:func:`capture_face` is what ``Runtime._do_capture_face`` calls. It never blocks the
caller:

1. the attempt runs as a command on the camera device's worker
   (:meth:`devices.camera.driver.FaceCamera.liveness`); each guidance change is posted as a
   :class:`FaceGuidance` event (on that worker thread, through the runtime's thread-safe
   ``post``) for the screen to draw and the voice to speak;
2. when it is live, the best frame's JPEG (made in memory) goes to the platform's
   ``POST /identity/face-match`` on the runtime's platform pool;
3. the answer is posted as ``FaceCaptured(live, matched, score)``, or ``EffectFailed``
   with a reason: ``device`` (no usable camera), ``no_identity`` (nothing to match
   against: the effect names no ID number), ``timeout``, ``offline`` …

Not live is an answer, not a failure: ``FaceCaptured(live=False)`` lets the flow offer
another way (鲁通码, an assistant). The JPEG exists only inside this call chain; nothing is
kept, written or logged (the session wipe has nothing of ours to drop).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

from config.logs import Safe
from devices.base import Device
from devices.camera.attempt import AttemptResult
from devices.camera.liveness import Guidance
from devices.errors import DeviceError, DeviceTimeoutError
from flows import events as ev
from offline.client import PlatformClient
from offline.errors import PlatformError, PlatformRejectedError, PlatformUnavailableError

log = logging.getLogger(__name__)

Post = Callable[[object], None]
Answer = Callable[[ev.Result], None]


@dataclass(frozen=True)
class FaceGuidance:
    """What to show and say during face capture (directions are the citizen's own)."""

    key: str
    text_zh: str
    text_en: str
    phase: str


def guidance_event(g: Guidance) -> FaceGuidance:
    return FaceGuidance(g.key, g.text_zh, g.text_en, str(g.phase))


def _failed(effect: ev.CaptureFace, reason: str) -> ev.EffectFailed:
    return ev.EffectFailed(request_id=effect.request_id, effect=effect.name, reason=reason)


def capture_face(
    effect: ev.CaptureFace,
    camera: Device | None,
    *,
    client: PlatformClient,
    pool: Executor,
    post: Post,
    answer: Answer,
    timeout: float = 60.0,
) -> None:
    """Start one capture for ``effect`` (see the module docstring); returns at once."""
    if camera is None or not camera.status.usable or not hasattr(camera, "liveness"):
        answer(_failed(effect, "device"))
        return
    if not effect.id_number:
        # the platform matches against its photo of a known holder: it needs the number
        answer(_failed(effect, "no_identity"))
        return
    id_number = effect.id_number

    def on_guidance(g: Guidance) -> None:
        post(guidance_event(g))

    handle = camera.liveness(on_guidance, timeout=timeout)

    def attempted(fut: Future[Any]) -> None:
        err = fut.exception()
        if err is not None:
            reason = "timeout" if isinstance(err, DeviceTimeoutError) else "device"
            if isinstance(err, DeviceError):
                log.warning("face capture failed: %s", Safe(err.code))
            answer(_failed(effect, reason))
            return
        result: AttemptResult = fut.result()
        log.info("liveness: live=%s reason=%s", Safe(result.live), Safe(result.reason))
        if not result.live or result.best is None:
            answer(ev.FaceCaptured(request_id=effect.request_id, live=False))
            return
        jpeg = result.best.jpeg()
        pool.submit(match, jpeg)

    def match(jpeg: bytes) -> None:
        try:
            ans = client.face_match(base64.b64encode(jpeg).decode("ascii"), id_number=id_number)
        except PlatformUnavailableError:
            answer(_failed(effect, "offline"))
            return
        except PlatformError as err:
            log.warning("face match refused: %s", Safe(type(err).__name__))
            not_found = isinstance(err, PlatformRejectedError) and err.status_code == 404
            answer(_failed(effect, "not_found" if not_found else "rejected"))
            return
        answer(
            ev.FaceCaptured(
                request_id=effect.request_id, live=True, matched=ans.match, score=ans.score
            )
        )

    handle.future.add_done_callback(attempted)
