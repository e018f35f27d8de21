"""The preview engine's camera: slow zoom and pan over a picture, a frame at a time.

Two kinds of picture, two ways to film them, both cheap per frame:

- :class:`SoftPicture`, the generated landscape, drawn at half size: framed and enlarged to
  the output in one resample per plane, with sub-pixel precision.
- :class:`Photo`, a first or end frame: exact at rest, resampled at full size when the
  camera moves (photos have detail; they get the careful path).

Both resample through :class:`~omnivideo.engines.preview_lens.Lens` (swscale's bilinear,
planned to land on the exact sub-pixel grid that Pillow's ``resize(box=...)`` would use).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from av.video.frame import VideoFrame
from PIL import Image, ImageOps

from omnivideo.engines.preview_lens import Box, Lens
from omnivideo.media.encode import plane_views, planes_to_frame, rgb_to_planes, tag_bt709

_WHOLE: Box = (0.0, 0.0, 1.0, 1.0)


def ease(t: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * min(max(t, 0.0), 1.0))


def smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def yield_gil() -> None:
    """Let the encoding thread take the GIL now.

    Pillow keeps the GIL through its work, and a thread waiting for it otherwise waits a
    whole switch interval (5 ms) on top: an idle gap for x264 on every frame.
    """
    time.sleep(0)


@dataclass(frozen=True)
class Camera:
    """A slow zoom and pan. ``arc``: push in and come back, ending where it started.

    Pan positions are in -1..1 of the room the zoom leaves, so the view never leaves the
    picture; a zoom of exactly 1 is the whole picture, pixel for pixel.
    """

    zoom_from: float
    zoom_to: float
    pan_from: tuple[float, float]
    pan_to: tuple[float, float]
    arc: bool = False

    def box(self, t: float) -> Box | None:
        """The visible part of the source as fractions (x0, y0, x1, y1); None for all of it."""
        if self.arc:
            z = 1.0 + (self.zoom_to - 1.0) * (0.5 - 0.5 * math.cos(2 * math.pi * t))
            s = t
        else:
            s = ease(t)
            z = self.zoom_from * (1.0 - s) + self.zoom_to * s
        if z == 1.0:
            return None
        px = self.pan_from[0] * (1.0 - s) + self.pan_to[0] * s
        py = self.pan_from[1] * (1.0 - s) + self.pan_to[1] * s
        span = 1.0 / z
        cx = 0.5 + px * (1.0 - span) / 2
        cy = 0.5 + py * (1.0 - span) / 2
        return (cx - span / 2, cy - span / 2, cx + span / 2, cy + span / 2)


#: a Kling camera axis at its extreme (10) moves or zooms this much
_PAN_AT_10 = 1.0
_ZOOM_AT_10 = 0.3
#: Kling's named moves as (horizontal, vertical, zoom) in Kling's -10..10 units
_NAMED_MOVES = {
    "down_back": (0.0, -6.0, 6.0),
    "forward_up": (0.0, 6.0, -6.0),
    "right_turn_forward": (6.0, 0.0, -6.0),
    "left_turn_forward": (-6.0, 0.0, -6.0),
}


def camera_move(
    kind: str,
    horizontal: float = 0.0,
    vertical: float = 0.0,
    pan: float = 0.0,
    tilt: float = 0.0,
    zoom: float = 0.0,
    *,
    anchored: bool = False,
) -> Camera:
    """Kling's ``camera_control`` as a zoom and pan of the preview camera.

    Signs follow Kling: horizontal/pan + is right, vertical/tilt + is up, zoom + is a wider
    view (so the picture shrinks: the camera pulls back). Turning (pan, tilt) is filmed as a
    slide, which is what a turn looks like on a flat picture. ``anchored``: the shot must start
    on its exact first frame (zoom 1), so a slide first pushes in to make room.
    """
    if kind in _NAMED_MOVES:
        horizontal, vertical, zoom = _NAMED_MOVES[kind]
    dx = max(-1.0, min(1.0, (horizontal + pan) / 10 * _PAN_AT_10))
    dy = max(-1.0, min(1.0, -(vertical + tilt) / 10 * _PAN_AT_10))  # image y grows downwards
    dz = abs(zoom) / 10 * _ZOOM_AT_10
    room = 1.0 + max(0.12 * max(abs(dx), abs(dy)), 0.0)
    if zoom > 0:  # wider: start close, end on the whole picture
        return Camera(room + dz, room if (dx or dy) else 1.0, (-dx, -dy), (dx, dy))
    if zoom < 0:  # narrower: push in
        return Camera(1.0 if anchored else room, room + dz, (0.0, 0.0) if anchored else (-dx, -dy),
                      (dx, dy))  # fmt: skip
    if anchored:
        return Camera(1.0, room, (0.0, 0.0), (dx, dy))
    return Camera(room, room, (-dx, -dy), (dx, dy))


def film(
    lenses: list[Lens],
    box: Box | None,
    w: int,
    h: int,
    mixed_with: list[Lens] | None = None,
    weight: float = 0.0,
) -> VideoFrame:
    """A frame of the view through ``box`` (all of the picture when None) of Y, U, V lenses,
    cross-faded with another picture's (``mixed_with``) by ``weight`` when given."""
    frame = VideoFrame(w, h, "yuv420p")
    others: list[Lens | None] = list(mixed_with) if mixed_with else [None] * len(lenses)
    for lens, other, out in zip(lenses, others, plane_views(frame), strict=True):
        lens.film(box or _WHOLE, out, mixed_with=other, weight=weight)
    return tag_bt709(frame)


class SoftPicture:
    """A soft picture held at half the output size (the generated landscape)."""

    def __init__(self, images: list[Image.Image]) -> None:
        # Framed and enlarged to the output in one resample per plane (see preview_lens).
        self.lenses = [Lens(np.asarray(image)) for image in images]

    def view(self, box: Box | None, w: int, h: int) -> VideoFrame:
        return film(self.lenses, box, w, h)


def load_image(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.draft("RGB", (4096, 4096))
        return ImageOps.exif_transpose(im).convert("RGB")


class Photo:
    """An input image cover-fitted to the output, filmed at full size with sub-pixel precision.

    At rest (a zoom of 1) the view is the picture itself, pixel for pixel; moving, it is
    resampled from the full-size picture (photos have detail).
    """

    def __init__(self, path: Path, w: int, h: int) -> None:
        fitted = ImageOps.fit(load_image(path), (w, h), Image.Resampling.LANCZOS)
        self.exact = rgb_to_planes(np.asarray(fitted))
        self.lenses = [Lens(p) for p in self.exact]

    def view(self, box: Box | None, w: int, h: int) -> VideoFrame:
        if box is None:
            return planes_to_frame(self.exact)
        return film(self.lenses, box, w, h)

    def blended_view(
        self, other: Photo, weight: float, box: Box | None, w: int, h: int
    ) -> VideoFrame:
        """The view of this photo cross-faded with ``other``: blended first, then filmed once."""
        return film(self.lenses, box, w, h, mixed_with=other.lenses, weight=weight)


def mix(a: VideoFrame, b: VideoFrame, weight: float) -> VideoFrame:
    """A cross-fade of two frames (``weight`` of ``b``)."""
    k = round(min(max(weight, 0.0), 1.0) * 256)
    if k == 0:
        return a
    if k == 256:
        return b
    out = VideoFrame(a.width, a.height, "yuv420p")
    for pa, pb, po in zip(plane_views(a), plane_views(b), plane_views(out), strict=True):
        acc = pa.astype(np.uint16)
        acc *= 256 - k
        other = pb.astype(np.uint16)
        other *= k
        acc += other
        acc += 128
        acc >>= 8
        po[...] = acc
    return tag_bt709(out)
