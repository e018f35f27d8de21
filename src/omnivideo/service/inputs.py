"""A request's media: fetched, checked and stored at submit; fetched back into a RenderJob.

Inputs are downloaded once, at submit, so a bad image or video is refused in the create call
(Kling's verdict, before any work is queued). They go into the blob store under
``inputs/{task_id}/``, and the TaskSpec names them by key: a worker on another host reads them
from there.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from omnivideo.contract.errors import invalid
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.rules import ElementInfo
from omnivideo.contract.spec import ElementSpec, ImageSpec, TaskSpec, VideoSpec
from omnivideo.engines.base import (
    Element,
    MotionBrush,
    MovingMask,
    Reference,
    RenderJob,
    VideoSource,
)
from omnivideo.media.checks import MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, check_image, check_video
from omnivideo.media.fetch import check_url, fetch_input
from omnivideo.media.probe import probe_image, probe_video
from omnivideo.service.runtime import Runtime
from omnivideo.store.records import ElementRecord


def element_info(record: ElementRecord) -> ElementInfo:
    kind: Literal["image_refer", "video_refer"] = (
        "video_refer" if record.reference_type == "video_refer" else "image_refer"
    )
    return ElementInfo(element_id=record.element_id, reference_type=kind, name=record.name)


def check_callback_url(rt: Runtime, url: str) -> None:
    """A callback may not point at private addresses unless allow-listed (SSRF)."""
    check_url(url, rt.fetch_policy, label="callback_url")


def fetch(rt: Runtime, value: str, dest: Path, *, max_bytes: int, label: str) -> Path:
    """An input into ``dest``: our own signed URLs are read from the blob store, the rest
    fetched."""
    key = rt.urls.key_of(value)
    if key is not None:
        size = rt.blobs.size(key)
        if size is not None:
            if size > max_bytes:
                raise invalid(f"{label}: the file is larger than {max_bytes} bytes")
            return rt.blobs.get_to(key, dest)
    return fetch_input(value, dest, max_bytes=max_bytes, policy=rt.fetch_policy, label=label)


def _role(kind: str | None) -> Literal["first_frame", "end_frame", "reference"]:
    if kind == "first_frame":
        return "first_frame"
    if kind == "end_frame":
        return "end_frame"
    return "reference"


def prepare(
    rt: Runtime,
    req: OmniRequest,
    task_id: str,
    video_seconds: tuple[float, float] | None = None,
) -> tuple[list[ImageSpec], VideoSpec | None]:
    """Fetch, probe and check every image and video of ``req``; store them as blobs.

    ``video_seconds`` replaces Kling's 3-10 s for the video (motion control takes longer ones).
    """
    prefix = f"inputs/{task_id}"
    images: list[ImageSpec] = []
    video: VideoSpec | None = None
    if not req.image_list and not req.video_list:
        return images, video  # most creates: no scratch folder to make and remove
    with tempfile.TemporaryDirectory(prefix="omnivideo-submit-") as scratch:
        folder = Path(scratch)
        for i, image in enumerate(req.image_list):
            label = f"image_list[{i}].image_url"
            path = fetch(
                rt,
                image.image_url,
                folder / f"image_{i + 1}",
                max_bytes=MAX_IMAGE_BYTES,
                label=label,
            )
            info = probe_image(path, label=label)
            check_image(info, label)
            ext = "jpg" if info.format in ("jpeg", "jpg") else info.format
            key = f"{prefix}/image_{i + 1}.{ext}"
            rt.blobs.put_file(key, path)
            images.append(
                ImageSpec(
                    key=key,
                    width=info.width,
                    height=info.height,
                    role=_role(image.type),
                    index=i + 1,
                )
            )
        for i, given in enumerate(req.video_list[:1]):
            label = f"video_list[{i}].video_url"
            path = fetch(
                rt, given.video_url, folder / "video_1", max_bytes=MAX_VIDEO_BYTES, label=label
            )
            vinfo = probe_video(path, label=label)
            if video_seconds is None:
                check_video(vinfo, label)
            else:
                check_video(vinfo, label, video_seconds)
            key = f"{prefix}/video_1.{'mov' if vinfo.container == 'mov' else 'mp4'}"
            rt.blobs.put_file(key, path)
            video = VideoSpec(
                key=key,
                width=vinfo.width,
                height=vinfo.height,
                fps=vinfo.fps,
                duration_s=vinfo.duration_s,
                has_audio=vinfo.has_audio,
                refer_type=given.refer_type,
                keep_original_sound=given.keep_original_sound == "yes",
            )
    return images, video


def element_specs(req: OmniRequest, visible: Sequence[ElementRecord]) -> list[ElementSpec]:
    """The request's elements, in list order, resolved to their images' blob keys (one the
    account cannot see is left out; its position stays unused)."""
    by_id = {e.element_id: e for e in visible}
    return [
        ElementSpec(
            element_id=e.element_id,
            name=e.name,
            frontal_key=e.frontal_image,
            refer_keys=tuple(e.refer_images),
            position=position,
        )
        for position, item in enumerate(req.element_list, start=1)
        if (e := by_id.get(item.element_id)) is not None
    ]


def store_image(rt: Runtime, value: str, key_stem: str, label: str) -> str:
    """One more image input (a motion-brush mask) fetched, checked and stored; its blob key."""
    with tempfile.TemporaryDirectory(prefix="omnivideo-submit-") as scratch:
        path = fetch(rt, value, Path(scratch) / "image", max_bytes=MAX_IMAGE_BYTES, label=label)
        info = probe_image(path, label=label)
        check_image(info, label)
        key = f"{key_stem}.{'jpg' if info.format in ('jpeg', 'jpg') else info.format}"
        rt.blobs.put_file(key, path)
    return key


def build_job(rt: Runtime, spec: TaskSpec, task_id: str, work_dir: Path) -> RenderJob:
    """The RenderJob of a spec: its blobs fetched into ``work_dir``, nothing re-derived."""
    inputs = work_dir / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)

    def local(key: str) -> Path:
        return rt.blobs.get_to(key, inputs / key.replace("/", "_"))

    image_files = {i.index: local(i.key) for i in spec.images}
    elements = {
        e.position: Element(
            element_id=e.element_id,
            name=e.name,
            frontal_image=local(e.frontal_key),
            refer_images=tuple(local(k) for k in e.refer_keys),
        )
        for e in spec.elements
    }
    video = None
    if spec.video is not None:
        v = spec.video
        video = VideoSource(
            path=local(v.key),
            refer_type=v.refer_type,
            keep_original_sound=v.keep_original_sound,
            duration_s=v.duration_s,
            width=v.width,
            height=v.height,
            fps=v.fps,
            has_audio=v.has_audio,
        )
    refs = []
    for kind, index in spec.references:
        if kind == "image":
            refs.append(Reference("image", index, image=image_files.get(index)))
        elif kind == "element":
            refs.append(Reference("element", index, element=elements.get(index)))
        else:
            refs.append(Reference("video", index))

    def by_role(role: str) -> Path | None:
        found = spec.image(role)  # type: ignore[arg-type]
        return image_files[found.index] if found is not None else None

    brush = None
    if spec.motion_brush is not None:
        brush = MotionBrush(
            moving=tuple(MovingMask(local(m.key), m.trajectory) for m in spec.motion_brush.moving),
            static_mask=local(spec.motion_brush.static_key)
            if spec.motion_brush.static_key
            else None,
        )
    return RenderJob(
        task_id=task_id,
        spec=spec,
        work_dir=work_dir,
        references=tuple(refs),
        first_frame=by_role("first_frame"),
        end_frame=by_role("end_frame"),
        reference_images=tuple(image_files[i.index] for i in spec.images if i.role == "reference"),
        elements=tuple(elements.values()),
        video=video,
        image_files=tuple(image_files[i] for i in sorted(image_files)),
        motion_brush=brush,
    )
