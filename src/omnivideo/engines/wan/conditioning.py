"""What each window is conditioned on, as keyword arguments of the diffusers pipeline call.

VACE takes everything as a conditioning video plus a mask (white = generate, black = keep)
and a list of reference images:

    first frame        frame 0 of the first window kept (black), the rest generated
    end frame          the last frame of the last window kept
    next shot          frame 0 kept: the previous shot's last frame
    next window        the first ``overlap`` frames kept: the previous window's last frames
    base video         every other frame shows the input (resampled, cover-fitted), mask white:
                       VACE re-renders the input's structure, conditioning scale 1
    feature video      the same with the reference video (looped), at a reduced scale
    images, elements   ``reference_images``, in the order the prompt names them

The I2V pipelines take the frame to start from as ``image`` and an end frame as ``last_image``;
T2V takes nothing but the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from omnivideo.engines.base import RenderJob
from omnivideo.engines.wan.plan import ShotPlan, Window
from omnivideo.media.encode import read_video_frames

_REFERENCE = re.compile(r"<<<(image|element|video)_([0-9]{1,9})>>>")

#: Wan's "nothing here" pixel value: 0 after scaling to -1..1
GREY = 128


def prompt_text(job: RenderJob, text: str) -> str:
    """The prompt with ``<<<element_N>>>`` as the element's name and images as plain words."""
    names = {r.index: r.element.name for r in job.references if r.element is not None}

    def word(m: re.Match[str]) -> str:
        kind, index = m.group(1), int(m.group(2))
        if kind == "element" and index in names:
            return names[index]
        return f"the {kind} {index}" if kind != "video" else "the reference video"

    return _REFERENCE.sub(word, text).strip()


def load_image(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return ImageOps.exif_transpose(img).convert("RGB")


def fit_image(path: Path, width: int, height: int) -> np.ndarray:
    """``path`` scaled to cover ``width`` × ``height`` and centre-cropped, as RGB uint8."""
    img = ImageOps.fit(load_image(path), (width, height), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def reference_images(job: RenderJob, width: int, height: int) -> list[Image.Image]:
    """Reference images and elements in prompt order, then those the prompt does not name.

    An element contributes its frontal image and then its other views. Each picture is shrunk
    to fit the generation size (VACE letterboxes it onto a white canvas of that size).
    """
    paths: list[Path] = []
    for ref in job.references:
        if ref.kind == "image" and ref.image is not None:
            paths.append(ref.image)
        elif ref.kind == "element" and ref.element is not None:
            paths.extend((ref.element.frontal_image, *ref.element.refer_images))
    paths.extend(job.reference_images)
    for element in job.elements:
        paths.extend((element.frontal_image, *element.refer_images))
    seen: set[Path] = set()
    out = []
    for path in paths:
        if path in seen:
            continue
        seen.add(path)
        img = load_image(path)
        img.thumbnail((width, height), Image.Resampling.BICUBIC)
        out.append(img)
    return out


class VideoTrack:
    """A base or feature video decoded lazily at 24 fps, cover-fitted to the generation size.

    Frames are asked for by output index (non-decreasing from window to window); only the
    frames of the current window stay in memory.
    """

    def __init__(self, path: Path, width: int, height: int, count: int, loop: bool) -> None:
        self._frames: Iterator[np.ndarray] = read_video_frames(
            path, width, height, fps=24, count=count, loop=loop
        )
        self._buffer: dict[int, np.ndarray] = {}
        self._next = 0
        self._last: np.ndarray | None = None

    def frames(self, indices: list[int]) -> list[np.ndarray]:
        top = max(indices)
        while self._next <= top:
            frame = next(self._frames, None)
            if frame is None:  # shorter than announced: hold the last frame
                frame = self._last
            if frame is None:
                raise ValueError("the input video has no frames")
            self._buffer[self._next] = frame
            self._last = frame
            self._next += 1
        out = [self._buffer[i] for i in indices]
        low = min(indices)
        for i in [i for i in self._buffer if i < low]:
            del self._buffer[i]
        return out

    def close(self) -> None:
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()


@dataclass
class Known:
    """Frames of one window fixed in advance (native index within the window → RGB)."""

    frames: dict[int, np.ndarray]

    def __bool__(self) -> bool:
        return bool(self.frames)


def vace_inputs(
    window: Window,
    shot: ShotPlan,
    known: Known,
    track: VideoTrack | None,
    width: int,
    height: int,
) -> dict[str, Any]:
    """``video`` and ``mask`` for a VACE window (None when nothing conditions it)."""
    if not known and track is None:
        return {"video": None, "mask": None}
    n = window.frames
    free = [i for i in range(n) if i not in known.frames]
    control: dict[int, np.ndarray] = {}
    if track is not None and free:
        indices = [shot.offset + shot.output_index(window.start + i) for i in free]
        control = dict(zip(free, track.frames(indices), strict=True))
    grey = np.full((height, width, 3), GREY, dtype=np.uint8)
    video, mask = [], []
    keep = Image.new("L", (width, height), 0)
    generate = Image.new("L", (width, height), 255)
    for i in range(n):
        if i in known.frames:
            video.append(Image.fromarray(known.frames[i]))
            mask.append(keep)
        else:
            video.append(Image.fromarray(control.get(i, grey)))
            mask.append(generate)
    return {"video": video, "mask": mask}
