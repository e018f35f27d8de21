"""Shots of the preview engine: what each one shows, and how a frame of it is made.

A :class:`ShotPainter` does its expensive work once (landscape, photos, captions, cards as
YUV planes and sprites); :meth:`ShotPainter.frame` then costs a camera view (see
:mod:`omnivideo.engines.preview_camera`) and a few in-place blends, so x264 stays the
bottleneck.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from av.video.frame import VideoFrame
from PIL import Image, ImageChops

from omnivideo.engines.base import Reference, RenderJob
from omnivideo.engines.preview_art import (
    PALETTES,
    Palette,
    grade_luts,
    gradient_map_luts,
    scene_planes,
    vignette_mask,
)
from omnivideo.engines.preview_brush import BrushPainter
from omnivideo.engines.preview_camera import (
    Camera,
    Photo,
    SoftPicture,
    camera_move,
    load_image,
    mix,
    smoothstep,
)
from omnivideo.engines.preview_motion import MotionPainter
from omnivideo.engines.preview_text import (
    Card,
    Sprite,
    badge_sprite,
    caption_sprite,
    card_sprites,
)
from omnivideo.media.encode import (
    Planes,
    iter_resampled,
    plane_views,
    planes_to_frame,
)

Frame = list[Image.Image]  # Y, U, V

#: frames over which overlays fade in at the start of a shot (and out before an end frame)
FADE = 8
_REFERENCE = re.compile(r"<<<(image|element|video)_([0-9]{1,9})>>>")


def caption_text(prompt: str) -> str:
    """The prompt as shown: ``<<<image_1>>>`` becomes ``[image 1]``."""
    return _REFERENCE.sub(lambda m: f"[{m.group(1)} {int(m.group(2))}]", prompt or "")


def images_to_frame(images: Frame) -> VideoFrame:
    return planes_to_frame((np.asarray(images[0]), np.asarray(images[1]), np.asarray(images[2])))


def frame_images(frame: VideoFrame) -> Frame:
    return [Image.fromarray(np.ascontiguousarray(p), "L") for p in plane_views(frame)]


def _blend(a: Frame, b: Frame, weight: float) -> Frame:
    if weight <= 0.0:
        return a
    if weight >= 1.0:
        return b
    return [Image.blend(p, q, weight) for p, q in zip(a, b, strict=True)]


def video_thumbnail(path: Path) -> Image.Image | None:
    for frame in iter_resampled(path, count=1):
        return frame.to_image()
    return None


def cards_for(job: RenderJob, prompt: str, mentioned_anywhere: set[tuple[str, int]]) -> list[Card]:
    """Inputs to show in a shot: those its prompt names, in order, then those no prompt names."""
    cards: list[Card] = []
    seen: set[tuple[str, int]] = set()
    shown_paths: set[Path] = set()
    shown_elements: set[int] = set()
    by_key: dict[tuple[str, int], Reference] = {(r.kind, r.index): r for r in job.references}
    for m in _REFERENCE.finditer(prompt or ""):
        key = (m.group(1), int(m.group(2)))
        if key in seen:
            continue
        seen.add(key)
        ref = by_key.get(key)
        label = f"{key[0]} {key[1]}"
        picture: Image.Image | None = None
        if key[0] == "image" and ref is not None and ref.image is not None:
            picture = _try(load_image, ref.image)
            shown_paths.add(ref.image)
        elif key[0] == "element" and ref is not None and ref.element is not None:
            picture = _try(load_image, ref.element.frontal_image)
            shown_elements.add(ref.element.element_id)
            label = f"{label} · {ref.element.name}" if ref.element.name else label
        elif key[0] == "video" and job.video is not None and job.video.refer_type == "feature":
            picture = _try(video_thumbnail, job.video.path)
        if picture is not None:
            cards.append(Card(label, picture))
    # Inputs that no prompt names still appear, so a viewer sees everything that was sent.
    mentioned_paths = {
        r.image
        for r in job.references
        if r.image is not None and (r.kind, r.index) in mentioned_anywhere
    }
    for n, path in enumerate(job.reference_images, start=1):
        if path not in shown_paths and path not in mentioned_paths:
            picture = _try(load_image, path)
            if picture is not None:
                cards.append(Card(f"reference {n}", picture))
    mentioned_elements = {
        r.element.element_id
        for r in job.references
        if r.element is not None and (r.kind, r.index) in mentioned_anywhere
    }
    for n, element in enumerate(job.elements, start=1):
        if element.element_id not in shown_elements | mentioned_elements:
            picture = _try(load_image, element.frontal_image)
            if picture is not None:
                label = f"element {n} · {element.name}" if element.name else f"element {n}"
                cards.append(Card(label, picture))
    video = job.video
    if (
        video is not None
        and video.refer_type == "feature"
        and ("video", 1) not in mentioned_anywhere
    ):
        picture = _try(video_thumbnail, video.path)
        if picture is not None:
            cards.append(Card("video 1", picture))
    return cards


def _try(load: Callable[[Path], Image.Image | None], path: Path) -> Image.Image | None:
    # A missing or unreadable input loses its card, not the render.
    try:
        return load(path)
    except (OSError, ValueError):
        return None


def _nth(sprites: Callable[[], list[Sprite]], k: int) -> Sprite:
    return sprites()[k]


class _Overlay:
    """A sprite that fades in from frame ``delay`` of its shot, typeset the first time it
    shows. No overlay shows on a shot's first frame, which the encoder waits for: typesetting
    then runs beside the encoding of the first frames instead of delaying them."""

    def __init__(self, make: Callable[[], Sprite | None], delay: int) -> None:
        self._make: Callable[[], Sprite | None] | None = make
        self._sprite: Sprite | None = None
        self.delay = delay

    def paste(self, planes: tuple[np.ndarray, np.ndarray, np.ndarray], opacity: float) -> None:
        if opacity <= 0.0:
            return
        if self._make is not None:
            self._sprite, self._make = self._make(), None
        if self._sprite is not None:
            self._sprite.paste(planes, opacity)


class ShotPainter:
    """Everything one shot needs, prepared once; :meth:`frame` paints frame ``j`` of it."""

    def __init__(
        self,
        job: RenderJob,
        index: int,
        frames: int,
        palette_index: int,
        mentioned: set[tuple[str, int]],
    ) -> None:
        self.job = job
        self.index = index
        self.frames = frames
        self.palette: Palette = PALETTES[palette_index]
        w, h = job.width, job.height
        self.width, self.height = w, h
        rng = np.random.default_rng([job.seed, index, 0x1A70])
        spec = job.shots[index] if index < len(job.shots) else None
        prompt = (spec.prompt if spec is not None and spec.prompt else job.prompt) or ""
        last = index == len(job.shots) - 1 or not job.shots
        video = job.video
        self.base = video is not None and video.refer_type == "base"
        self.feature = video is not None and video.refer_type == "feature"
        first = job.first_frame if index == 0 and not self.base else None
        end = job.end_frame if last and not self.base else None
        #: frames that must show an input image exactly: no overlay, no stylization there
        self.anchored_start = first is not None
        self.anchored_end = end is not None

        self.start: SoftPicture | Photo | None = None
        self.end: Photo | None = None
        self.camera: Camera | None = None
        self.brush: BrushPainter | None = None
        self.motion: MotionPainter | None = None
        if self.base and job.character_orientation is not None and job.reference_images:
            # Motion control: the character follows the video's motion over the video.
            self.motion = MotionPainter(job.reference_images[0], w, h, job.character_orientation)
        self.cross = (0.0, 0.0)
        pan = (float(rng.uniform(-0.9, 0.9)), float(rng.uniform(-0.7, 0.7)))
        if self.base:
            luts = grade_luts(self.palette)
            self.grade = luts
            self.vignette = vignette_mask(w, h, 0.38)
        else:
            if first is not None:
                self.start = Photo(first, w, h)
            if end is not None:
                self.end = Photo(end, w, h)
            if self.start is None:
                # The generated scene is soft, so it is drawn at half size.
                seed = job.seed * 1009 + index
                self.start = SoftPicture(list(scene_planes(w // 2, h // 2, self.palette, seed)))
            zoom = float(rng.uniform(1.1, 1.16))
            if job.motion_brush is not None and first is not None and self.start is not None:
                # The motion brush moves parts of a still picture: the camera holds.
                assert isinstance(self.start, Photo)
                self.brush = BrushPainter(job.motion_brush, first, self.start.exact, w, h)
                self.camera = Camera(1.0, 1.0, (0.0, 0.0), (0.0, 0.0))
            elif job.camera is not None:
                # Kling's camera_control replaces the preview's own drift.
                c = job.camera
                self.camera = camera_move(
                    c.type, c.horizontal, c.vertical, c.pan, c.tilt, c.zoom,
                    anchored=first is not None,
                )  # fmt: skip
            elif first is not None and end is not None:
                self.camera = Camera(1.0, zoom, pan, pan, arc=True)
                self.cross = (0.3, 0.7)
            elif first is not None:
                self.camera = Camera(1.0, zoom, (0.0, 0.0), pan)
            elif end is not None:
                self.camera = Camera(zoom, 1.0, pan, (0.0, 0.0))
                self.cross = (0.35, 0.8)
            elif rng.random() < 0.5:
                self.camera = Camera(1.04, zoom + 0.04, (-pan[0], -pan[1]), pan)
            else:
                self.camera = Camera(zoom + 0.04, 1.04, pan, (-pan[0], pan[1]))
        if self.feature:
            self.stylize = gradient_map_luts(self.palette)

        side = "left" if rng.random() < 0.4 else "right"
        align = "center" if rng.random() < 0.35 else "left"
        accent = self.palette.accent
        tone = tuple(int(c * 0.25) for c in self.palette.near)
        shots = max(len(job.shots), 1)
        detail = f"SHOT {index + 1} / {shots}" if shots > 1 else ""
        shown = caption_text(prompt)
        if job.negative_prompt:
            # The preview draws no content, so a negative prompt is shown, as the prompt is.
            shown = f"{shown}  (not: {caption_text(job.negative_prompt)})".strip()
        cards = cards_for(job, prompt, mentioned)
        # The cards are laid out as one row: typeset together, when the first one shows.
        row = functools.cache(lambda: card_sprites(cards, w, h, accent, side))
        self.overlays: list[_Overlay] = [
            _Overlay(lambda: badge_sprite("PREVIEW", detail, w, h, accent), 0),
            _Overlay(lambda: caption_sprite(shown, w, h, accent, tone, align), 2),  # type: ignore[arg-type]
            *(_Overlay(functools.partial(_nth, row, k), 6 + 4 * k) for k in range(len(cards))),
        ]

    def _opacity(self, j: int, delay: int) -> float:
        """Overlays fade in at the start and, before an end frame, fade out."""
        o = min(max((j - delay) / FADE, 0.0), 1.0)
        if self.anchored_end:
            o = min(o, max((self.frames - 1 - j) / FADE, 0.0))
        return o

    def frame(self, j: int, video: Planes | None = None) -> VideoFrame:
        """Frame ``j`` of the shot, ready for the encoder."""
        w, h = self.width, self.height
        t = j / (self.frames - 1) if self.frames > 1 else 0.0
        if self.base:
            assert video is not None
            out = images_to_frame(self._graded(video))
        else:
            assert self.start is not None and self.camera is not None
            box = self.camera.box(t)
            x = 0.0
            if self.end is not None:
                x = smoothstep((t - self.cross[0]) / (self.cross[1] - self.cross[0]))
            if self.end is None or x <= 0.0:
                out = self.start.view(box, w, h)
            elif x >= 1.0:
                out = self.end.view(box, w, h)
            elif isinstance(self.start, Photo):
                out = self.start.blended_view(self.end, x, box, w, h)
            else:
                out = mix(self.start.view(box, w, h), self.end.view(box, w, h), x)
            if self.feature and video is not None:
                out = images_to_frame(self._driven(frame_images(out), video, t))
        planes = plane_views(out)
        if self.motion is not None and video is not None:
            self.motion.paint(planes, video)
        if self.brush is not None:
            self.brush.paint(planes, t)
        for overlay in self.overlays:
            overlay.paste(planes, self._opacity(j, overlay.delay))
        return out

    def _graded(self, video: Planes) -> Frame:
        y, u, v = (Image.fromarray(np.ascontiguousarray(p), "L") for p in video)
        lut_y, lut_u, lut_v = self.grade
        y = ImageChops.multiply(y.point(lut_y), self.vignette)
        return [y, u.point(lut_u), v.point(lut_v)]

    def _driven(self, scene: Frame, video: Planes, t: float) -> Frame:
        """The reference video repainted in the shot's palette, laid over the moving scene."""
        y = Image.fromarray(np.ascontiguousarray(video[0]), "L")
        lut_y, lut_u, lut_v = self.stylize
        luma_half = y.reduce(2)
        styled = [y.point(lut_y), luma_half.point(lut_u), luma_half.point(lut_v)]
        weight = 0.72
        if self.anchored_start:
            weight *= smoothstep(t * self.frames / (2 * FADE))
        if self.anchored_end:
            weight *= smoothstep((1.0 - t) * self.frames / (2 * FADE))
        return _blend(scene, styled, weight)
