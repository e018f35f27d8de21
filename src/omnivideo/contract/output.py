"""What the output of a request must look like: size, frame rate, frame count, length.

Every engine delivers this contract (std -> 720p, pro -> 1080p, 24 fps), so it is computed once.
"""

from __future__ import annotations

from typing import Final

FPS: Final = 24
DEFAULT_DURATION_S: Final = 5

_SHORT_SIDE: Final = {"std": 720, "pro": 1080}
#: the 3.x API's ``settings.resolution``: the output's short side (4k is 3840x2160 at 16:9)
RESOLUTIONS: Final = {"720p": 720, "1080p": 1080, "4k": 2160}
_SIZES: Final = {
    "std": {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (720, 720)},
    "pro": {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)},
}


def output_size(
    mode: str,
    aspect_ratio: str | None,
    follow: tuple[int, int] | None = None,
    short_side: int | None = None,
) -> tuple[int, int]:
    """Width and height of the output.

    ``follow`` is the size of a first frame or base video: the output then takes that shape,
    scaled so its short side is 720 (std) or 1080 (pro), both sides even. ``short_side``
    replaces the mode's short side (the 3.x API's 4k is 2160).
    """
    short = short_side or _SHORT_SIDE[mode]
    if follow is not None:
        w, h = follow
        scale = short / min(w, h)
        out_w = short if w <= h else round(w * scale / 2) * 2
        out_h = short if h <= w else round(h * scale / 2) * 2
        return max(out_w, 2), max(out_h, 2)
    if short_side is not None:
        long = round(short * 16 / 9 / 2) * 2
        return {"16:9": (long, short), "9:16": (short, long), "1:1": (short, short)}[
            aspect_ratio or "16:9"
        ]
    return _SIZES[mode][aspect_ratio or "16:9"]


def resolution_of(width: int, height: int) -> str:
    """The 3.x ``settings.resolution`` a size renders (by its short side)."""
    short = min(width, height)
    return "4k" if short >= 2160 else "1080p" if short >= 1080 else "720p"


def frame_count(seconds: float) -> int:
    """Frames in a clip of ``seconds`` at 24 fps (Kling delivers 24 fps)."""
    return max(1, round(seconds * FPS))
