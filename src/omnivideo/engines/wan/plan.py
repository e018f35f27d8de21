"""The timeline of a render: shots, the windows each shot is generated in, and which native
frames every output frame is blended from. Pure arithmetic, no torch.

A shot of ``M`` output frames (24 fps) is generated as a continuous native timeline of ``T``
frames at the model's rate (16 fps for most Wan checkpoints). Output frame ``k`` sits at native
position ``p = (k + lead) · (T − 1) / (M − 1 + lead)`` and is the linear blend of native frames
``floor(p)`` and ``ceil(p)``. So the first output frame is native frame 0 (a first-frame image
lands exactly) and the last is native frame ``T − 1`` (so does an end frame). ``T`` is the
smallest count the windows can make (4k+1 per window) that covers the shot; rounding up
stretches time by at most a few native frames per shot.

``lead`` is 1 for a shot that starts from the previous shot's last frame: that frame is native
frame 0 of the new shot (the conditioning) and is not emitted again, so the cut is exact.

A shot longer than one window is made of windows that overlap by ``overlap`` native frames:
each later window is conditioned on the last frames of the one before and its first
``overlap`` frames are the earlier window's (they are not taken from the new one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from omnivideo.engines.base import RenderJob


def round_up_4k1(n: int) -> int:
    """The smallest 4k+1 frame count ≥ ``n`` (Wan's VAE compresses time by 4)."""
    return max(1, 4 * math.ceil((n - 1) / 4) + 1)


@dataclass(frozen=True)
class Window:
    """One pipeline call: native frames ``start`` .. ``start + frames − 1`` of its shot."""

    shot: int
    #: position of the window within its shot (0 = the first)
    index: int
    start: int
    frames: int
    #: leading frames that repeat the previous window's (conditioning; not new)
    keep: int

    @property
    def end(self) -> int:
        """Native index of the last frame."""
        return self.start + self.frames - 1


@dataclass(frozen=True)
class ShotPlan:
    index: int
    prompt: str
    #: exact output frames of the shot
    frames: int
    #: output frames of the shots before this one
    offset: int
    #: 1 when the shot continues from the previous shot's last frame
    lead: int
    #: native frames of the whole shot, the lead frame included
    native: int
    windows: tuple[Window, ...]

    def position(self, k: int) -> float:
        """Native position of output frame ``k`` of this shot."""
        span = self.frames - 1 + self.lead
        if span <= 0:
            return 0.0
        return (k + self.lead) * (self.native - 1) / span

    def output_index(self, j: int) -> int:
        """The output frame (within the shot) nearest in time to native frame ``j``."""
        if self.native <= 1:
            return 0
        k = round(j * (self.frames - 1 + self.lead) / (self.native - 1)) - self.lead
        return min(max(k, 0), self.frames - 1)

    def blend(self, k: int) -> tuple[int, int, float]:
        """Native frames ``(a, b)`` and the weight of ``b`` that make output frame ``k``."""
        p = self.position(k)
        a = min(math.floor(p + 1e-9), self.native - 1)
        b = min(a + 1, self.native - 1)
        w = p - a if b != a else 0.0
        if w < 1e-6:
            return a, a, 0.0
        return a, b, w


def native_frames_needed(frames: int, lead: int, fps: int, out_fps: int) -> int:
    """Native frames that cover ``frames`` output frames (+ the lead frame) at ``fps``."""
    span = (frames - 1 + lead) * fps / out_fps
    return max(1, math.ceil(span - 1e-9) + 1)


def split_windows(shot: int, needed: int, window: int, overlap: int) -> tuple[Window, ...]:
    """Windows of at most ``window`` frames covering ``needed`` native frames of a shot.

    As few windows as possible, of equal length (a 4k+1 count), the last one cut to what is
    left: 161 frames in 81-frame windows are 57 + 57 + 57, not 81 + 81 + 9.
    """
    if needed <= window:
        return (Window(shot, 0, 0, round_up_4k1(needed), 0),)
    if not 1 <= overlap < window - 1:
        raise ValueError(f"overlap {overlap} does not fit a window of {window} frames")
    count = 1 + math.ceil((needed - window) / (window - overlap))
    length = min(window, round_up_4k1(math.ceil((needed + (count - 1) * overlap) / count)))
    out = [Window(shot, 0, 0, length, 0)]
    covered = length
    while covered < needed:
        start = covered - overlap
        frames = min(length, round_up_4k1(needed - start))
        out.append(Window(shot, len(out), start, frames, overlap))
        covered = start + frames
    return tuple(out)


def plan_shots(
    shots: list[tuple[str, int]],
    *,
    fps: int,
    out_fps: int,
    window: int,
    overlap: int,
    chained: bool,
) -> tuple[ShotPlan, ...]:
    """Plans for ``shots`` (prompt, output frames); ``chained`` starts each shot after the first
    from the previous shot's last frame (models that take an image or a conditioning video)."""
    plans = []
    offset = 0
    for i, (prompt, frames) in enumerate(shots):
        lead = 1 if chained and i > 0 else 0
        needed = native_frames_needed(frames, lead, fps, out_fps)
        windows = split_windows(i, needed, window, overlap)
        native = windows[-1].end + 1
        plans.append(ShotPlan(i, prompt, frames, offset, lead, native, windows))
        offset += frames
    return tuple(plans)


def shots_of(job: RenderJob) -> list[tuple[str, int]]:
    """(prompt, frames) per shot, as the spec planned them; a shot without a prompt of its own
    is generated from the task's."""
    return [(s.prompt or job.prompt, s.frames) for s in job.shots]
