"""The preview engine's motion brush: masked parts of the first frame slide along their paths.

Kling's ``dynamic_masks`` name a region of the image (a mask) and a trajectory in the image's
pixels with the origin at the bottom-left; ``static_mask`` names a region that must not move.
The preview holds the camera still, cuts each moving region out of the first frame and pastes
it along its path (at even speed over the whole path, so the last frame shows it at the end of
its path), then puts the static region back. Frame 0 is the image itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from omnivideo.contract.errors import OmniError
from omnivideo.engines.base import MotionBrush
from omnivideo.engines.preview_camera import load_image
from omnivideo.media.encode import Planes

#: a mask whose shape differs from the image's by more than this fails the task (as on Kling)
_ASPECT_TOLERANCE = 0.02


def _mask(path: Path, image_size: tuple[int, int], w: int, h: int, label: str) -> np.ndarray:
    with Image.open(path) as im:
        gray = ImageOps.exif_transpose(im).convert("L")
    iw, ih = image_size
    if abs(gray.width / gray.height - iw / ih) > _ASPECT_TOLERANCE * (iw / ih):
        raise OmniError(
            1201,
            f"{label}: the mask is {gray.width}x{gray.height}; it must have the image's aspect "
            f"ratio ({iw}x{ih})",
        )
    fitted = ImageOps.fit(gray, (w, h), Image.Resampling.NEAREST)
    return np.asarray(fitted) >= 128


def _along(points: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction ``t`` of the way along the polyline ``points`` (by length)."""
    steps = np.diff(points, axis=0)
    lengths = np.hypot(steps[:, 0], steps[:, 1])
    total = float(lengths.sum())
    if total == 0:
        return points[0]
    goal = min(max(t, 0.0), 1.0) * total
    for start, step, length in zip(points[:-1], steps, lengths, strict=True):
        if goal <= length or math.isclose(goal, length):
            return start + step * (goal / length if length else 0.0)
        goal -= length
    return points[-1]


@dataclass
class _Layer:
    ys: np.ndarray
    xs: np.ndarray
    cys: np.ndarray
    cxs: np.ndarray
    path: np.ndarray  # output pixels, origin top-left, relative to the first point


class BrushPainter:
    """Paints the motion brush onto frames of a still shot of ``source`` (Y, U, V planes)."""

    def __init__(self, brush: MotionBrush, first_frame: Path, source: Planes, w: int, h: int):
        self.source = source
        image_size = load_image(first_frame).size
        sx, sy = w / image_size[0], h / image_size[1]
        self.layers: list[_Layer] = []
        for i, group in enumerate(brush.moving):
            mask = _mask(group.mask, image_size, w, h, f"dynamic_masks[{i}].mask")
            ys, xs = np.nonzero(mask)
            cys, cxs = np.nonzero(mask[::2, ::2])
            points = np.array(
                [(x * sx, (image_size[1] - y) * sy) for x, y in group.trajectory], dtype=np.float64
            )
            self.layers.append(_Layer(ys, xs, cys, cxs, points - points[0]))
        self.still: tuple[np.ndarray, np.ndarray] | None = None
        if brush.static_mask is not None:
            still = _mask(brush.static_mask, image_size, w, h, "static_mask")
            self.still = (still, still[::2, ::2])

    def paint(self, planes: Planes, t: float) -> None:
        """Move every layer to where it is at ``t`` (0..1), in place."""
        for layer in self.layers:
            dx, dy = (round(float(v)) for v in _along(layer.path, t))
            if dx == 0 and dy == 0:
                continue
            _paste(planes[0], self.source[0], layer.ys, layer.xs, dy, dx)
            _paste(planes[1], self.source[1], layer.cys, layer.cxs, dy // 2, dx // 2)
            _paste(planes[2], self.source[2], layer.cys, layer.cxs, dy // 2, dx // 2)
        if self.still is not None:
            full, half = self.still
            planes[0][full] = self.source[0][full]
            planes[1][half] = self.source[1][half]
            planes[2][half] = self.source[2][half]


def _paste(
    dst: np.ndarray, src: np.ndarray, ys: np.ndarray, xs: np.ndarray, dy: int, dx: int
) -> None:
    ty, tx = ys + dy, xs + dx
    inside = (ty >= 0) & (ty < dst.shape[0]) & (tx >= 0) & (tx < dst.shape[1])
    dst[ty[inside], tx[inside]] = src[ys[inside], xs[inside]]
