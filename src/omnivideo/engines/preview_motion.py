"""The preview engine's motion control: the character image follows the reference video.

Kling's motion control animates a character picture with the motion of a video. The preview
shows that structurally: the video plays (regraded, as a base video does) and the character
image is pasted over it where the video's motion is, frame by frame. Where the motion is is
the centre of the pixels that changed since the frame before (on frame 0, or when nothing
moved, the part that stands out from the frame's median; else the last place). With
``character_orientation: video`` the character turns to face the way it moves; with ``image``
it keeps the picture's facing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from omnivideo.engines.preview_camera import load_image
from omnivideo.media.encode import Planes, rgb_to_planes

#: the character's height, as a share of the frame's
CHARACTER_SHARE = 0.45
#: tracking runs on frames scaled down this much
_STEP = 4
#: a luma change (0-255) that counts as motion; fewer changed pixels than _MIN_PIXELS is none
_MOTION = 24
_STANDOUT = 40
_MIN_PIXELS = 6
#: horizontal travel (output pixels per frame) that turns a ``video``-oriented character
_TURN = 0.5


def _sprite(image: Image.Image, w: int, h: int) -> Planes:
    rgb = np.asarray(image.convert("RGB").resize((w, h), Image.Resampling.LANCZOS))
    return rgb_to_planes(rgb)


class MotionPainter:
    """Pastes the character onto the frames of the motion video (Y, U, V planes)."""

    def __init__(self, character: Path, w: int, h: int, orientation: str) -> None:
        picture = load_image(character)
        ch = max(2, int(h * CHARACTER_SHARE) // 2 * 2)
        cw = max(2, int(ch * picture.width / picture.height) // 2 * 2)
        cw = min(cw, w // 2 * 2)
        self.size = (cw, ch)
        self.frame_size = (w, h)
        self.facing = _sprite(picture, cw, ch)
        self.turned = _sprite(ImageOps.mirror(picture), cw, ch)
        self.follow_video = orientation == "video"
        self.previous: np.ndarray | None = None
        self.position = (w / 2, h / 2)
        self.left = False
        #: where the character was drawn, frame by frame (its centre, output pixels)
        self.track: list[tuple[float, float]] = []

    def _locate(self, luma: np.ndarray) -> tuple[float, float] | None:
        small = luma[::_STEP, ::_STEP].astype(np.int16)
        found = None
        if self.previous is not None:
            moved = np.abs(small - self.previous) > _MOTION
            if int(moved.sum()) >= _MIN_PIXELS:
                found = moved
        if found is None and self.previous is None:
            standout = np.abs(small - np.median(small)) > _STANDOUT
            if int(standout.sum()) >= _MIN_PIXELS:
                found = standout
        self.previous = small
        if found is None:
            return None
        ys, xs = np.nonzero(found)
        return float(xs.mean() * _STEP + _STEP / 2), float(ys.mean() * _STEP + _STEP / 2)

    def paint(self, planes: Planes, video: Planes) -> None:
        """Paste the character where the video's motion is in this frame, in place."""
        found = self._locate(video[0])
        if found is not None:
            dx = found[0] - self.position[0]
            if abs(dx) > _TURN:
                self.left = dx < 0
            self.position = found
        cx, cy = self.position
        self.track.append(self.position)
        w, h = self.frame_size
        cw, ch = self.size
        x0 = int(min(max(cx - cw / 2, 0), w - cw)) // 2 * 2
        y0 = int(min(max(cy - ch / 2, 0), h - ch)) // 2 * 2
        sprite = self.turned if self.follow_video and self.left else self.facing
        planes[0][y0 : y0 + ch, x0 : x0 + cw] = sprite[0]
        planes[1][y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2] = sprite[1]
        planes[2][y0 // 2 : (y0 + ch) // 2, x0 // 2 : (x0 + cw) // 2] = sprite[2]
