"""`omnivideo generate` on Kling's classic endpoints (text2video, image2video,
multi-image2video, video-extend): which one the options call for, and the run on it."""

from __future__ import annotations

import time
from typing import Any, NoReturn

import typer

from omnivideo.cli.generate import EXIT_OK, emit, fail, follow, task_json
from omnivideo.client import Client, OmniVideoError, Videos
from omnivideo.client.joblog import REFUSED, JobLog
from omnivideo.contract import legacy

OMNI_VIDEO = "omni-video"
CLASSIC_ENDPOINTS = ("text2video", "image2video", "multi-image2video", "video-extend")
_CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")


def pick_endpoint(
    endpoint: str | None,
    *,
    model: str | None,
    classic_only: bool,
    video_id: str | None,
    frames: bool,
    images: bool,
) -> str:
    """The endpoint ``--endpoint`` names, or the one the other options call for: a video id
    is video-extend; a classic model (kling-v1 ...) or a field only the classic endpoints
    have picks text2video, image2video (frames) or multi-image2video (images)."""
    if endpoint is not None:
        if endpoint not in (OMNI_VIDEO, *CLASSIC_ENDPOINTS):
            raise typer.BadParameter(
                f"{endpoint!r}: one of {OMNI_VIDEO}, {', '.join(CLASSIC_ENDPOINTS)}",
                param_hint="--endpoint",
            )
        return endpoint
    if video_id is not None:
        return "video-extend"
    classic_model = model is not None and any(model in rows for rows in legacy.TABLE.values())
    if not classic_model and not classic_only:
        return OMNI_VIDEO
    if frames:
        return "image2video"
    return "multi-image2video" if images else "text2video"


def camera_control(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    axis, sep, amount = value.partition("=")
    if not sep:
        return {"type": value.strip()}
    if axis.strip() not in _CAMERA_AXES:
        raise typer.BadParameter(
            f"{value!r}: write 'axis=value' with axis one of {', '.join(_CAMERA_AXES)}",
            param_hint="--camera",
        )
    try:
        return {"type": "simple", "config": {axis.strip(): float(amount)}}
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: the value is not a number", param_hint="--camera"
        ) from None


def run_classic(
    client: Client,
    endpoint: str,
    fields: dict[str, Any],
    headers: dict[str, str],
    output: str | None,
    as_json: bool,
    timeout: float,
    no_wait: bool,
    started: float,
) -> NoReturn:
    """``generate`` on one of Kling's classic endpoints (checked, logged, created, followed)."""
    videos: Videos = getattr(client, endpoint.replace("-", "_"))
    try:
        body = client.prepare_endpoint(endpoint, fields)
    except OmniVideoError as exc:
        fail(exc, as_json)
    log = JobLog()
    external = body.get("external_task_id")
    job = log.begin(client.provider.name, client.base_url, body, external, output)
    try:
        task = videos.create(extra_headers=headers, **body)
    except OmniVideoError as exc:
        log.note(job.id, exc.message, status=None if exc.maybe_created else REFUSED)
        fail(exc, as_json, {"job": job.id, "external_task_id": external})
    log.record(job.id, task)
    if no_wait:
        data = task_json(task, job, [], time.monotonic() - started)
        emit(data, as_json, f"{task.task_id} {task.status.value} on {endpoint}")
        raise typer.Exit(EXIT_OK)
    with client:
        follow(
            client, log, job, task, timeout=timeout, output=output, as_json=as_json,
            started=started, videos=videos,
        )  # fmt: skip
