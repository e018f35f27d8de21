"""What the output of a request must look like: size, frame rate, frame count, length.

Every engine delivers this contract (std -> 720p, pro -> 1080p, 24 fps), so it is computed once.
"""

from __future__ import annotations

from typing import Final

FPS: Final = 24
DEFAULT_DURATION_S: Final = 5

_SHORT_SIDE: Final = {"std": 720, "pro": 1080}
_SIZES: Final = {
    "std": {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)},
    "pro": {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)},
}


def output_size(
    mode: str, aspect_ratio: str | None, follow: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Width and height of the output.

    ``follow`` is the size of a first frame or base video: the output then takes that shape,
    scaled so its short side is 720 (std) or 1080 (pro), both sides even.
    """
    if follow is not None:
        w, h = follow
        short = _SHORT_SIDE[mode]
        scale = short / min(w, h)
        out_w = short if w <= h else round(w * scale / 2) * 2
        out_h = short if h <= w else round(h * scale / 2) * 2
        return max(out_w, 2), max(out_h, 2)
    return _SIZES[mode][aspect_ratio or "16:9"]


def frame_count(seconds: float) -> int:
    """Frames in a clip of ``seconds`` at 24 fps (Kling delivers 24 fps)."""
    return max(1, round(seconds * FPS))
