"""A request's media: fetched and checked at submit, turned into a RenderJob at run time.

Inputs are downloaded once, at submit, so a bad image or video is refused in the create call
(Kling's verdict, before any work is queued) and the render later reads local files only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

from omnivideo.contract import references, rules
from omnivideo.contract.errors import invalid
from omnivideo.contract.output import DEFAULT_DURATION_S, FPS, frame_count, output_size
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.rules import ElementInfo
from omnivideo.contract.task import Task
from omnivideo.engines.base import Element, Reference, RenderJob, ShotSpec, VideoSource
from omnivideo.media.checks import MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, check_image, check_video
from omnivideo.media.fetch import FetchPolicy, check_url, fetch_input
from omnivideo.media.probe import probe_image, probe_video
from omnivideo.service.runtime import Runtime
from omnivideo.store.records import ElementRecord


def fetch_policy(rt: Runtime) -> FetchPolicy:
    return rt.fetch_policy


def element_info(record: ElementRecord) -> ElementInfo:
    kind: Literal["image_refer", "video_refer"] = (
        "video_refer" if record.reference_type == "video_refer" else "image_refer"
    )
    return ElementInfo(element_id=record.element_id, reference_type=kind, name=record.name)


def check_callback_url(rt: Runtime, url: str) -> None:
    """A callback may not point at private addresses unless allow-listed (SSRF)."""
    check_url(url, fetch_policy(rt), label="callback_url")


def fetch(rt: Runtime, value: str, dest: Path, *, max_bytes: int, label: str) -> Path:
    """An input into ``dest``: our own signed URLs are copied from storage, the rest fetched."""
    local = rt.storage.resolve_url(value, rt.settings.base_url)
    if local is not None:
        if local.stat().st_size > max_bytes:
            raise invalid(f"{label}: the file is larger than {max_bytes} bytes")
        shutil.copyfile(local, dest)
        return dest
    return fetch_input(value, dest, max_bytes=max_bytes, policy=fetch_policy(rt), label=label)


def _named(path: Path, extension: str) -> Path:
    """Give a fetched input the extension of what it turned out to be (uploads need it)."""
    return path.rename(path.with_suffix(f".{extension}"))


def prepare(rt: Runtime, req: OmniRequest, task_dir: Path) -> dict[str, Any]:
    """Fetch, probe and check every image and video of ``req`` into ``task_dir``."""
    data_dir = rt.settings.data_dir
    task_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for i, image in enumerate(req.image_list):
        label = f"image_list[{i}].image_url"
        path = fetch(
            rt, image.image_url, task_dir / f"image_{i + 1}", max_bytes=MAX_IMAGE_BYTES, label=label
        )
        info = probe_image(path, label=label)
        check_image(info, label)
        path = _named(path, "jpg" if info.format in ("jpeg", "jpg") else info.format)
        images.append(
            {
                "path": str(path.relative_to(data_dir)),
                "width": info.width,
                "height": info.height,
                "type": image.type,
            }
        )
    videos = []
    for i, video in enumerate(req.video_list):
        label = f"video_list[{i}].video_url"
        path = fetch(
            rt, video.video_url, task_dir / f"video_{i + 1}", max_bytes=MAX_VIDEO_BYTES, label=label
        )
        vinfo = probe_video(path, label=label)
        check_video(vinfo, label)
        path = _named(path, "mov" if vinfo.container == "mov" else "mp4")
        videos.append(
            {
                "path": str(path.relative_to(data_dir)),
                "width": vinfo.width,
                "height": vinfo.height,
                "fps": vinfo.fps,
                "duration_s": vinfo.duration_s,
                "has_audio": vinfo.has_audio,
            }
        )
    return {"images": images, "videos": videos}


def _shots(req: OmniRequest, total_frames: int) -> tuple[ShotSpec, ...]:
    """Shots with exact frame counts that add up to the whole video."""
    if req.multi_shot and req.shot_type == "customize" and req.multi_prompt:
        plan = [
            (shot.prompt, float(shot.duration))
            for shot in sorted(req.multi_prompt, key=lambda s: s.index)
        ]
    elif req.multi_shot:
        # `intelligence`: the prompt's sentences become shots of equal length (at most 6).
        sentences = [
            s.strip() for s in (req.prompt or "").replace("\n", ". ").split(".") if s.strip()
        ]
        sentences = sentences[:6] or [req.prompt or ""]
        plan = [(s, 1.0) for s in sentences]
    else:
        plan = [(req.prompt or "", 1.0)]
    weight = sum(seconds for _, seconds in plan)
    shots, start, acc = [], 0, 0.0
    for prompt, seconds in plan:
        acc += seconds
        end = round(total_frames * acc / weight)
        shots.append(ShotSpec(prompt=prompt, frames=end - start))
        start = end
    return tuple(shots)


def build_job(rt: Runtime, task: Task, work_dir: Path) -> RenderJob:
    req = OmniRequest.model_validate(task.request)
    data_dir = rt.settings.data_dir
    prepared = task.options.get("inputs", {})
    image_paths = [data_dir / item["path"] for item in prepared.get("images", [])]
    video_meta = (prepared.get("videos") or [None])[0]

    elements_by_id = {e.element_id: e for e in rt.store.elements_visible_to(task.account_id)}
    elements = tuple(
        Element(
            element_id=e.element_id,
            name=e.name,
            frontal_image=rt.storage.path_for(e.frontal_image),
            refer_images=tuple(rt.storage.path_for(p) for p in e.refer_images),
        )
        for item in req.element_list
        if (e := elements_by_id.get(item.element_id)) is not None
    )

    video = None
    if video_meta is not None and req.video_list:
        spec = req.video_list[0]
        video = VideoSource(
            path=data_dir / video_meta["path"],
            refer_type=spec.refer_type,
            keep_original_sound=spec.keep_original_sound == "yes",
            duration_s=float(video_meta["duration_s"]),
            width=int(video_meta["width"]),
            height=int(video_meta["height"]),
            fps=float(video_meta["fps"]),
            has_audio=bool(video_meta["has_audio"]),
        )

    first = next(
        (
            p
            for p, m in zip(image_paths, prepared.get("images", []), strict=True)
            if m["type"] == "first_frame"
        ),
        None,
    )
    end = next(
        (
            p
            for p, m in zip(image_paths, prepared.get("images", []), strict=True)
            if m["type"] == "end_frame"
        ),
        None,
    )
    first_meta = next((m for m in prepared.get("images", []) if m["type"] == "first_frame"), None)

    follow = None
    if video is not None and video.refer_type == "base":
        follow = (video.width, video.height)
    elif first_meta is not None:
        follow = (int(first_meta["width"]), int(first_meta["height"]))
    width, height = output_size(req.mode, rules.resolved_aspect_ratio(req), follow)

    if video is not None and video.refer_type == "base":
        frames = frame_count(video.duration_s)
    else:
        frames = frame_count(rules.effective_duration(req) or DEFAULT_DURATION_S)

    refs = []
    for kind, index in references.find_references(
        req.prompt or " ".join(s.prompt for s in req.multi_prompt or [])
    ):
        if kind == "image":
            refs.append(
                Reference(
                    "image",
                    index,
                    image=image_paths[index - 1] if index <= len(image_paths) else None,
                )
            )
        elif kind == "element":
            element = None
            if index <= len(req.element_list):
                element = next(
                    (e for e in elements if e.element_id == req.element_list[index - 1].element_id),
                    None,
                )
            refs.append(Reference("element", index, element=element))
        else:
            refs.append(Reference("video", index))

    return RenderJob(
        task_id=task.task_id,
        model=req.model_name,
        mode=req.mode,
        width=width,
        height=height,
        fps=FPS,
        frame_count=frames,
        seed=int(task.options.get("seed", 0)),
        prompt=req.prompt or "",
        shots=_shots(req, frames),
        references=tuple(refs),
        first_frame=first,
        end_frame=end,
        reference_images=tuple(
            p
            for p, m in zip(image_paths, prepared.get("images", []), strict=True)
            if m["type"] is None
        ),
        elements=elements,
        video=video,
        sound=req.sound == "on",
        watermark=bool(req.watermark_info and req.watermark_info.enabled),
        work_dir=work_dir,
        request=dict(task.request),
        image_files=tuple(image_paths),
    )
