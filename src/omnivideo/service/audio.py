"""Kling's audio endpoints as use cases: ``text-to-audio`` and ``video-to-audio``.

Each request is checked by its own rules (:mod:`omnivideo.contract.audio`) and submitted like
any task, on its own endpoint, so every face, engine, worker, callback and pack serves it. The
body travels with the task: engines read its prompts and length from there, and the relay
forwards it as it came.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from omnivideo.contract import audio
from omnivideo.contract.errors import invalid
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.spec import VideoSpec
from omnivideo.contract.task import Task
from omnivideo.engines.base import EngineDescriptor
from omnivideo.media.checks import VIDEO_CONTAINERS
from omnivideo.media.probe import probe_video
from omnivideo.service import inputs, tasks
from omnivideo.service.legacy import check_engine_serves, find_video
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import Simulation

#: Kling's limit on a video-to-audio upload
MAX_VIDEO_BYTES = 100 * 1024 * 1024


def submit(
    rt: Runtime,
    account_id: str,
    endpoint: str,
    body: Any,
    simulation: Simulation | None = None,
    face: str = "kling",
) -> Task:
    """Create a task on an audio ``endpoint`` from its wire ``body``."""
    req = audio.parse(endpoint, body)

    def serves(engine: EngineDescriptor) -> None:
        check_engine_serves(engine, endpoint)

    wire = {
        k: v for k, v in (body if isinstance(body, dict) else {}).items() if v not in (None, "")
    }
    if isinstance(req, audio.TextToAudioRequest):
        request = OmniRequest.model_validate(
            {"prompt": req.prompt, "external_task_id": req.external_task_id,
             "callback_url": req.callback_url}
        )  # fmt: skip
        extras = tasks.SubmitExtras(
            endpoint=endpoint,
            request={**wire, "duration": req.duration},
            seconds=req.duration,
            units=audio.AUDIO_UNITS,
            face=face,
            check=serves,
        )
        return tasks.submit(rt, account_id, request, simulation, extras)
    staged = f"inputs/audio-{uuid.uuid4().hex}"
    try:
        video, parent = _source_video(rt, account_id, req, staged)
        prompt = ", ".join(p for p in (req.sound_effect_prompt, req.bgm_prompt) if p)
        request = OmniRequest.model_validate(
            {"prompt": prompt, "external_task_id": req.external_task_id,
             "callback_url": req.callback_url}
        )  # fmt: skip
        extras = tasks.SubmitExtras(
            endpoint=endpoint,
            request={**wire, "asmr_mode": req.asmr_mode},
            info={"parent_video": parent} if parent is not None else {},
            seconds=video.duration_s,
            video=video,
            units=audio.AUDIO_UNITS,
            face=face,
            # A video of this server: an engine that sends it elsewhere must be able to.
            engine_options={"video_id": req.video_id} if req.video_id is not None else {},
            check=serves,
        )
        return tasks.submit(rt, account_id, request, simulation, extras)
    except BaseException:
        rt.blobs.delete_prefix(f"{staged}/")
        raise


def _source_video(
    rt: Runtime, account_id: str, req: audio.VideoToAudioRequest, prefix: str
) -> tuple[VideoSpec, dict[str, Any] | None]:
    """The video to give sound to: fetched, probed, checked against Kling's limits, stored."""
    parent = None
    if req.video_id is not None:
        found = find_video(rt, account_id, req.video_id)
        if found is None:
            raise invalid(f"video_id: no finished video {req.video_id!r} of this account")
        _, result = found
        url, label = result.url, "video_id"
        parent = {"id": result.id, "url": result.url, "duration": result.duration}
    else:
        assert req.video_url is not None
        url, label = req.video_url, "video_url"
    with tempfile.TemporaryDirectory(prefix="omnivideo-submit-") as scratch:
        path = inputs.fetch(
            rt, url, Path(scratch) / "video", max_bytes=MAX_VIDEO_BYTES, label=label
        )
        info = probe_video(path, label=label)
        if info.container not in VIDEO_CONTAINERS:
            raise invalid(
                f"{label}: video container is {info.container.upper() or 'unknown'}; "
                "only MP4 and MOV are supported"
            )
        audio.check_video_length(info.duration_s)
        key = f"{prefix}/video.{'mov' if info.container == 'mov' else 'mp4'}"
        rt.blobs.put_file(key, path)
    return (
        VideoSpec(
            key=key,
            width=info.width,
            height=info.height,
            fps=info.fps,
            duration_s=info.duration_s,
            has_audio=info.has_audio,
            refer_type="base",
            keep_original_sound=False,
        ),
        parent,
    )
