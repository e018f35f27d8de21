"""The task spec: what a task must render, decided once at submit.

A request says "5 seconds, pro, 16:9, these images"; the spec says 1920×1080 at 24 fps, 120
frames, shots of 48 and 72 frames, image 1 at blob key ``inputs/…/image_1.png`` and so on.
:func:`plan` builds it from a checked request and the probed inputs; it is stored with the task
(its own column, versioned) and is all a worker needs besides the blob store. Nothing after
submit re-derives a duration or a shot length: ``build_job``, the engines' ``check`` and the
renders read the spec.

Every Kling endpoint (omni-video, text2video, image2video, …) plans onto this one shape, so
every engine serves every endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnivideo.contract.output import FPS, frame_count, output_size
from omnivideo.contract.references import ReferenceKind, find_references
from omnivideo.contract.request import OmniRequest
from omnivideo.contract.rules import requested_seconds, resolved_aspect_ratio

#: bumped when a field changes meaning or is added; a worker refuses specs newer than it
#: knows (2: ``route``; 3: ``request``, ``api_route``, ``motion_brush``, ``simulation`` and
#: element positions, so that a worker reads nothing of the task but its spec). The store's
#: migrations bring older stored specs up to this version.
SPEC_VERSION: Final = 3

ImageRole = Literal["first_frame", "end_frame", "reference"]


class _Frozen(BaseModel):
    # defer_build: a model's validator is built at its first use, not at import (a server
    # start builds none it does not need; the contract's models are most of its pydantic work)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ImageSpec(_Frozen):
    """One image input, stored in the blob store."""

    key: str
    width: int
    height: int
    role: ImageRole
    #: 1-based position in the request's image list (what ``<<<image_N>>>`` points at)
    index: int


class VideoSpec(_Frozen):
    """The video input, stored in the blob store and probed (its video track)."""

    key: str
    width: int
    height: int
    fps: float
    duration_s: float
    has_audio: bool
    refer_type: Literal["base", "feature"]
    keep_original_sound: bool


class ElementSpec(_Frozen):
    """An element of the library, resolved at submit to its images' blob keys."""

    element_id: int
    name: str
    frontal_key: str
    refer_keys: tuple[str, ...] = ()
    #: 1-based position in the request's element list (what ``<<<element_N>>>`` points at)
    position: int = Field(ge=1)


class MovingMaskSpec(_Frozen):
    """One group of Kling's motion brush: a stored mask and the path its part moves along
    (pixels of the input image, origin at its bottom-left)."""

    key: str
    trajectory: tuple[tuple[int, int], ...]


class MotionBrushSpec(_Frozen):
    """Kling's motion brush (image2video), its masks stored in the blob store."""

    moving: tuple[MovingMaskSpec, ...] = ()
    static_key: str | None = None


class Rehearsal(_Frozen):
    """What a simulation (``X-Omnivideo-Simulate``) asks of the render: a delay, or a failure
    with a Kling code instead of a video."""

    delay_s: float = 0.0
    fail_code: int | None = None
    fail_msg: str | None = None


class ShotPlan(_Frozen):
    prompt: str
    #: exact frames (at least 1); the shots of a spec add up to its frame count
    frames: int = Field(ge=1)


class Camera(_Frozen):
    """A camera move (Kling's ``camera_control``): a named move or a config of six axes."""

    type: str
    horizontal: float = 0.0
    vertical: float = 0.0
    pan: float = 0.0
    tilt: float = 0.0
    roll: float = 0.0
    zoom: float = 0.0


class TaskSpec(_Frozen):
    """Everything decided at submit about a task's output and inputs."""

    version: int = SPEC_VERSION
    #: the Kling endpoint the task was created on (``omni-video``, ``text2video``, …)
    endpoint: str = "omni-video"
    model: str
    mode: Literal["std", "pro"]
    width: int
    height: int
    fps: int = FPS
    frame_count: int = Field(ge=1)
    shots: tuple[ShotPlan, ...]
    prompt: str = ""
    negative_prompt: str | None = None
    #: Kling's ``cfg_scale`` (0-1): how closely to follow the prompt; None is the engine's own
    cfg_scale: float | None = None
    camera: Camera | None = None
    sound: bool = False
    watermark: bool = False
    seed: int = 0
    #: videos made from the one request (useapi's ``count``)
    count: int = 1
    images: tuple[ImageSpec, ...] = ()
    video: VideoSpec | None = None
    elements: tuple[ElementSpec, ...] = ()
    #: ``<<<kind_N>>>`` references in prompt order (repeats included)
    references: tuple[tuple[ReferenceKind, int], ...] = ()
    #: engine-specific settings fixed at submit (e.g. the relay's upstream endpoint)
    engine_options: dict[str, Any] = Field(default_factory=dict)
    #: the queue of the route that serves the task (its engine and engine model); empty in
    #: specs from before routes, which the one engine of a worker renders
    route: str = ""
    #: motion control: the character (the reference image) follows the video's motion, facing
    #: as in the image or as in the video
    character_orientation: Literal["image", "video"] | None = None
    #: the body as the endpoint it came to received it (a classic, 3.x or audio endpoint's own
    #: fields; the Omni request otherwise), for engines that forward it (relay) or read an
    #: endpoint's own field (the audio stage)
    request: dict[str, Any] = Field(default_factory=dict)
    #: a 3.x API task's route (``omni-video/kling-v3-omni``): a relay forwards it there
    api_route: str | None = None
    motion_brush: MotionBrushSpec | None = None
    #: a simulated delay or failure, for clients testing their integration
    simulation: Rehearsal | None = None

    @model_validator(mode="after")
    def _shots_fill_the_video(self) -> TaskSpec:
        if sum(s.frames for s in self.shots) != self.frame_count:
            raise ValueError(
                f"shots add up to {sum(s.frames for s in self.shots)} frames, "
                f"not the spec's {self.frame_count}"
            )
        return self

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    def image(self, role: ImageRole) -> ImageSpec | None:
        return next((i for i in self.images if i.role == role), None)

    @property
    def blob_keys(self) -> tuple[str, ...]:
        """Every input blob the spec names (a worker fetches these)."""
        keys = [i.key for i in self.images]
        if self.video is not None:
            keys.append(self.video.key)
        for e in self.elements:
            keys.extend((e.frontal_key, *e.refer_keys))
        if self.motion_brush is not None:
            keys.extend(m.key for m in self.motion_brush.moving)
            if self.motion_brush.static_key:
                keys.append(self.motion_brush.static_key)
        return tuple(keys)


def split_frames(total: int, weights: Sequence[float]) -> tuple[int, ...]:
    """``total`` frames split in proportion to ``weights``, adding up exactly (no shot empty
    when there are enough frames)."""
    weight = sum(weights) or 1.0
    out, start, acc = [], 0, 0.0
    for w in weights:
        acc += w
        end = round(total * acc / weight)
        out.append(end - start)
        start = end
    return tuple(out)


def timeline(prompts: Sequence[tuple[str, float]], total: int) -> tuple[ShotPlan, ...]:
    """The shots of a video of ``total`` frames: (prompt, weight) pairs split in proportion,
    adding up exactly; a shot left without a frame (more shots than frames) is dropped, so
    every shot is seen. The one place shot lengths are decided: engines draw what it says."""
    split = split_frames(total, [w for _, w in prompts])
    shots = tuple(
        ShotPlan(prompt=p, frames=n) for (p, _), n in zip(prompts, split, strict=True) if n
    )
    return shots or (ShotPlan(prompt=prompts[0][0] if prompts else "", frames=total),)


def shot_prompts(req: OmniRequest) -> list[tuple[str, float]]:
    """(prompt, weight) per shot, as the request describes them."""
    if req.multi_shot and req.shot_type == "customize" and req.multi_prompt:
        return [
            (shot.prompt, float(shot.duration))
            for shot in sorted(req.multi_prompt, key=lambda s: s.index)
        ]
    if req.multi_shot:
        # `intelligence`: the prompt's sentences become shots of equal length (at most 6).
        sentences = [
            s.strip() for s in (req.prompt or "").replace("\n", ". ").split(".") if s.strip()
        ]
        return [(s, 1.0) for s in sentences[:6]] or [(req.prompt or "", 1.0)]
    return [(req.prompt or "", 1.0)]


def plan(
    req: OmniRequest,
    *,
    images: Sequence[ImageSpec] = (),
    video: VideoSpec | None = None,
    elements: Sequence[ElementSpec] = (),
    seed: int = 0,
    count: int = 1,
    endpoint: str = "omni-video",
    negative_prompt: str | None = None,
    cfg_scale: float | None = None,
    camera: Camera | None = None,
    engine_options: dict[str, Any] | None = None,
    extend_s: float = 0.0,
    seconds: float | None = None,
    size: tuple[int, int] | None = None,
    short_side: int | None = None,
    character_orientation: Literal["image", "video"] | None = None,
) -> TaskSpec:
    """The spec of a checked request whose inputs were stored and probed.

    The output takes the shape of a first frame or a base video when there is one, scaled to
    the mode's short side; a base video also sets the length (its video track's), and
    ``seconds`` (an audio endpoint's exact length) overrides the request's duration. ``size``
    (the OpenAI face's ``size``) fixes the output's width and height instead.
    """
    first = next((i for i in images if i.role == "first_frame"), None)
    follow: tuple[int, int] | None = None
    if video is not None and video.refer_type == "base":
        follow = (video.width, video.height)
    elif first is not None:
        follow = (first.width, first.height)
    width, height = size or output_size(req.mode, resolved_aspect_ratio(req), follow, short_side)
    if video is not None and video.refer_type == "base":
        # video-extend continues the base video by ``extend_s`` seconds.
        frames = frame_count(video.duration_s + extend_s)
    elif seconds is not None:
        frames = frame_count(seconds)
    else:
        frames = frame_count(requested_seconds(req))
    prompts = shot_prompts(req)
    prompt_text = req.prompt or " ".join(s.prompt for s in req.multi_prompt or [])
    return TaskSpec(
        endpoint=endpoint,
        model=req.model_name,
        mode=req.mode,
        width=width,
        height=height,
        frame_count=frames,
        shots=timeline(prompts, frames),
        prompt=req.prompt or "",
        negative_prompt=negative_prompt,
        cfg_scale=cfg_scale,
        camera=camera,
        sound=req.sound == "on",
        watermark=bool(req.watermark_info and req.watermark_info.enabled),
        seed=seed,
        count=count,
        images=tuple(images),
        video=video,
        elements=tuple(elements),
        references=tuple(find_references(prompt_text)),
        engine_options=dict(engine_options or {}),
        character_orientation=character_orientation,
    )


#: the oldest spec a worker reads: older ones are upgraded by the store's migrations, so one
#: can only come from an API process of an older omnivideo still running
OLDEST_SPEC_VERSION: Final = 3


def load(data: dict[str, Any]) -> TaskSpec:
    """A stored spec; one written by another omnivideo version is refused, never misread."""
    version = int(data.get("version", 1))
    if version > SPEC_VERSION:
        raise ValueError(
            f"task spec version {version} is newer than this omnivideo understands "
            f"({SPEC_VERSION}); upgrade the worker"
        )
    if version < OLDEST_SPEC_VERSION:
        raise ValueError(
            f"this task was queued by an older omnivideo (task spec version {version}); "
            "upgrade every API process, then submit it again"
        )
    return TaskSpec.model_validate(data)
