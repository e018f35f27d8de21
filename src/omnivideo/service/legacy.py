"""Kling's classic endpoints (text2video, image2video, multi-image2video, video-extend) as
use cases: each request is checked by its endpoint's rules, mapped onto the Omni request and
submitted like any task, so every face, engine and worker serves it."""

from __future__ import annotations

import uuid
from typing import Any

from omnivideo.contract import legacy
from omnivideo.contract.errors import invalid
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.spec import MotionBrushSpec, MovingMaskSpec
from omnivideo.contract.task import Task, TaskStatus
from omnivideo.engines.base import EngineDescriptor
from omnivideo.service import inputs, outages, tasks
from omnivideo.service.runtime import Runtime
from omnivideo.service.simulate import Simulation

#: Kling's default ``cfg_scale``: sending it asks for nothing an engine must do
DEFAULT_CFG_SCALE = 0.5
#: how many of the account's tasks a video-extend looks through for its source, a page at a time
_SCAN_PAGE = 500


def submit(
    rt: Runtime,
    account_id: str,
    endpoint: str,
    body: Any,
    simulation: Simulation | None = None,
) -> Task:
    """Create a task on a classic ``endpoint`` from its wire ``body``."""
    mapped = legacy.prepare(endpoint, body)
    info: dict[str, Any] = {}
    estimate_s = None
    extend_s = 0.0
    if mapped.extends is not None:
        mapped, source = _extension(rt, account_id, mapped)
        info["parent_video"] = source
        # Billed on the whole new video: the source plus the extension.
        estimate_s = float(source["duration"] or 0) + legacy.EXTEND_SECONDS
        extend_s = float(legacy.EXTEND_SECONDS)
    staged: str | None = None
    brush = None
    if mapped.motion_brush is not None:
        # The masks are inputs like the image: fetched and checked before anything is queued.
        staged = f"inputs/brush-{uuid.uuid4().hex}"
        brush = _store_masks(rt, mapped.motion_brush, staged)
    extras = tasks.SubmitExtras(
        endpoint=mapped.endpoint,
        negative_prompt=mapped.negative_prompt,
        cfg_scale=mapped.cfg_scale,
        camera=mapped.camera,
        # The body as the endpoint defines it, for an engine that forwards it (the relay).
        request={
            k: v for k, v in (body if isinstance(body, dict) else {}).items() if v not in (None, "")
        },
        motion_brush=brush,
        info=info,
        estimate_s=estimate_s,
        extend_s=extend_s,
        check=lambda engine: check_engine(engine, mapped),
    )
    try:
        return tasks.submit(rt, account_id, mapped.request, simulation, extras)
    except BaseException as exc:
        if staged is not None:
            rt.sweeper.discard(f"{staged}/", now=not outages.is_outage(exc))
        raise


def _store_masks(rt: Runtime, brush: dict[str, Any], prefix: str) -> MotionBrushSpec:
    try:
        static = None
        if brush.get("static_mask"):
            static = inputs.store_image(
                rt, brush["static_mask"], f"{prefix}/static_mask", "static_mask"
            )
        moving = []
        for i, group in enumerate(brush.get("dynamic_masks") or []):
            label = f"dynamic_masks[{i}].mask"
            key = inputs.store_image(rt, group["mask"], f"{prefix}/mask_{i + 1}", label)
            path = tuple((int(p["x"]), int(p["y"])) for p in group["trajectories"])
            moving.append(MovingMaskSpec(key=key, trajectory=path))
        return MotionBrushSpec(moving=tuple(moving), static_key=static)
    except BaseException as exc:
        rt.sweeper.discard(f"{prefix}/", now=not outages.is_outage(exc))
        raise


def check_engine_serves(engine: EngineDescriptor, endpoint: str) -> None:
    """Refuse at submit an endpoint the engine does not serve."""
    if engine.endpoints is not None and endpoint not in engine.endpoints:
        raise invalid(f"{endpoint}: the {engine.name} engine of this server does not serve it")


def check_engine(engine: EngineDescriptor, mapped: legacy.Mapped) -> None:
    """Refuse at submit what the engine cannot honour: nothing is dropped silently."""
    check_engine_serves(engine, mapped.endpoint)
    needs: list[tuple[str, str]] = []
    if mapped.camera is not None:
        needs.append(("camera", "camera_control"))
        if mapped.camera.roll:
            needs.append(("camera.roll", "camera_control.config.roll"))
    if mapped.negative_prompt:
        needs.append(("negative_prompt", "negative_prompt"))
    if mapped.cfg_scale is not None and mapped.cfg_scale != DEFAULT_CFG_SCALE:
        needs.append(("cfg_scale", "cfg_scale"))
    if mapped.motion_brush is not None:
        needs.append(("motion_brush", next(iter(mapped.motion_brush))))
    for capability, field in needs:
        if capability not in engine.honours:
            raise invalid(f"{field}: the {engine.name} engine of this server cannot honour it")


def _extension(
    rt: Runtime, account_id: str, mapped: legacy.Mapped
) -> tuple[legacy.Mapped, dict[str, Any]]:
    """video-extend: find the source video among the account's results and continue it."""
    assert mapped.extends is not None
    found = find_video(rt, account_id, mapped.extends)
    if found is None:
        raise invalid(f"video_id: no finished video {mapped.extends!r} of this account")
    task, video = found
    model = str(task.request.get("model_name", ""))
    seconds = float(video.duration or 0)
    legacy.check_extend_source(
        legacy.VideoExtendRequest.model_validate(
            {"video_id": mapped.extends, "negative_prompt": mapped.negative_prompt,
             "cfg_scale": mapped.cfg_scale}
        ),
        model,
        seconds,
        legacy.source_row(model),
    )  # fmt: skip
    source = task.request
    request = OmniRequest.model_validate(
        {
            **mapped.request.to_wire(),
            "model_name": model,
            "mode": source.get("mode", "std"),
            "prompt": mapped.request.prompt or source.get("prompt"),
            "video_list": [{"video_url": video.url, "refer_type": "base"}],
        }
    )
    row = legacy.source_row(model)
    # A source whose model extends without guidance (kling-v1) ignores cfg_scale.
    guided = row is not None and row.cfg_scale and row.extend_with_guidance
    cfg = mapped.cfg_scale if guided else None
    parent = {"id": video.id, "url": video.url, "duration": video.duration}
    return (
        legacy.Mapped(
            legacy.VIDEO_EXTEND,
            request,
            negative_prompt=mapped.negative_prompt,
            cfg_scale=cfg,
            extends=mapped.extends,
        ),
        parent,
    )


def find_video(rt: Runtime, account_id: str, video_id: str) -> tuple[Task, Any] | None:
    """The account's finished task with the video ``video_id``, and that video."""
    offset = 0
    while True:
        page = rt.stores.tasks.page(account_id, offset, _SCAN_PAGE)
        for task in page:
            if task.status is not TaskStatus.SUCCEED:
                continue
            for video in task.videos:
                if video.id == video_id:
                    return task, video
        if len(page) < _SCAN_PAGE:
            return None
        offset += _SCAN_PAGE


__all__ = ["check_engine", "check_engine_serves", "find_video", "submit"]
