"""The preview camera's lens: a sub-pixel zoom and pan of one image plane, by swscale.

The camera moves by fractions of a pixel every frame, so every frame resamples the whole
picture. Pillow's ``resize(box=...)`` does that exactly, but its C loops cost about 9 ms a
1080p frame, most of the painting time. swscale does the same bilinear filtering several
times faster (SIMD, without the GIL), but it takes only a whole-pixel crop and a size to
scale it to, so on its own it would film in jumps of a pixel or more.

:func:`plan_axis` closes that gap: along each axis it crops a little wider than the view,
scales to a little more than the output and keeps the part of the result whose sampling
grid lands within a few hundredths of a pixel of the exact one. The frames then match
Pillow's to within one level in all but a few pixels per thousand, and the camera glides.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from av.video.frame import VideoFrame
from av.video.reformatter import Interpolation, VideoReformatter
from PIL import Image

__all__ = ["AxisPlan", "Box", "Lens", "plan_axis"]

#: the visible part of a picture as fractions of it: (x0, y0, x1, y1)
Box = tuple[float, float, float, float]

#: pixels of edge repeated around a plane, so the crop can reach past a view at the border
MARGIN = 256
#: the most extra samples scaled beyond the output, per axis: more choice of sampling grid,
#: for more work only where it is needed (see ``_COST``)
EXTRA = 256
#: source pixels of grid error worth one extra sample: the smallest scale that fits well wins
_COST = 1e-4
#: how many of the best-fitting scale ratios are tried with every offset
_RATIOS = 8
_EXTRAS = np.arange(EXTRA + 1)
_OFFSETS = _EXTRAS + 0.5
#: the farthest (in source pixels) a planned grid may land from the exact one; beyond it the
#: view is left to Pillow (a zoom within a fraction of a percent of 1, where no crop and scale
#: of whole pixels lands near the exact grid)
TOLERANCE = 0.05
#: swscale's bilinear filter, the one Pillow's BILINEAR uses when enlarging, with accurate
#: rounding: its SIMD code then gives what its C code gives, bit for bit, at the default's speed
_INTERPOLATION = int(Interpolation.BILINEAR | Interpolation.ACCURATE_RND)


@dataclass(frozen=True)
class AxisPlan:
    """How swscale films one axis: scale ``crop_len`` samples from ``crop_start`` to
    ``scaled_len``, then keep the output from ``offset`` on."""

    crop_start: int
    crop_len: int
    scaled_len: int
    offset: int
    #: the farthest any output sample lands from where the exact view samples, in source pixels
    error: float


@functools.lru_cache(maxsize=16)  # U and V planes share their plans
def plan_axis(start: float, span: float, out_len: int, src_len: int) -> AxisPlan | None:
    """The swscale plan closest to sampling ``span`` source pixels from ``start`` onto
    ``out_len`` output pixels, within a source of ``src_len``; None when none fits.

    The exact view samples output pixel ``i`` at ``start + (i + 0.5) * step - 0.5`` (pixel
    centres, as Pillow does), ``step = span / out_len``. swscale, scaling ``c`` samples from
    ``a`` to ``n``, samples its output ``J`` at ``a + (J + 0.5) * inc - 0.5``, ``inc`` being
    ``c / n`` in 16.16 fixed point. So: among the scaled lengths ``n`` a little over
    ``out_len``, take the few whose ``inc`` is nearest ``step`` (the grid then drifts least
    across the output), and for each the offset ``k`` and crop start ``a`` that put the grid
    nearest the exact one. The crop must hold both taps of every kept sample, so swscale's
    clamping at the crop's edges never shows.
    """
    step = span / out_len
    n = out_len + _EXTRAS
    c = np.maximum(np.rint(step * n).astype(np.int64), 1)
    inc = ((c << 16) + n // 2) // n / 65536.0
    drift = (out_len - 1) * (inc - step)
    # The few ratios that drift least (among crops that fit in the source) are worth trying.
    best_ratios = np.argsort(np.where(c <= src_len, np.abs(drift), np.inf), kind="stable")
    pick = best_ratios[:_RATIOS, None]
    n, c, inc, drift = n[pick], c[pick], inc[pick], drift[pick]
    # Offset k puts swscale's output J = k + i on source position a + (k + i + 0.5) * inc - 0.5;
    # the exact view wants first + i * step. The crop start that centres the stray between the
    # first and the last pixel is ``ideal``; rounding it to whole pixels costs |a - ideal|.
    first = start + 0.5 * step - 0.5
    ideal = first + 0.5 - drift / 2 - _OFFSETS * inc
    a = np.rint(ideal)
    error = np.abs(a - ideal) + np.abs(drift) / 2
    # Both taps of every kept sample must lie in the crop, and the crop in the source.
    fits = (
        (_OFFSETS * inc >= 0.5)
        & ((_OFFSETS + out_len - 0.5) * inc <= c - 0.5)
        & (a >= 0)
        & (a + c <= src_len)
    )
    score = np.where(fits, error + _COST * (n - out_len), np.inf)
    i, k = divmod(int(np.argmin(score)), score.shape[1])
    if not np.isfinite(score[i, k]):
        return None
    return AxisPlan(
        crop_start=int(a[i, k]),
        crop_len=int(c[i, 0]),
        scaled_len=int(n[i, 0]),
        offset=k,
        error=float(error[i, k]),
    )


class Lens:
    """One plane (Y, U or V) of a picture, filmed through a moving box, frame after frame.

    The plane is padded once with its own edge (as Pillow's resize treats the border), and
    keeps one swscale context for all its frames; what the context did before never shows in
    a view's pixels (the tests film a view fresh and after others, and render a job twice with
    another in between).
    """

    def __init__(self, plane: np.ndarray) -> None:
        self.plane = np.ascontiguousarray(plane, dtype=np.uint8)
        self.height, self.width = self.plane.shape
        self._padded = np.pad(self.plane, MARGIN, mode="edge")
        self._scaler = VideoReformatter()

    def film(
        self, box: Box, out: np.ndarray, *, mixed_with: Lens | None = None, weight: float = 0.0
    ) -> None:
        """Write the view through ``box`` (fractions of the plane) into ``out``, resampled.

        ``mixed_with``: another lens on a plane of the same size, cross-faded in by ``weight``
        before filming (as ``Image.blend`` would, on just the part that is filmed).
        """
        out_h, out_w = out.shape
        x0, y0, x1, y1 = box
        padded_h, padded_w = self._padded.shape
        across = plan_axis(x0 * self.width + MARGIN, (x1 - x0) * self.width, out_w, padded_w)
        down = plan_axis(y0 * self.height + MARGIN, (y1 - y0) * self.height, out_h, padded_h)
        if across is None or down is None or max(across.error, down.error) > TOLERANCE:
            out[...] = self._pillow(box, out_w, out_h, mixed_with, weight)
            return
        rows = slice(down.crop_start, down.crop_start + down.crop_len)
        cols = slice(across.crop_start, across.crop_start + across.crop_len)
        crop = self._padded[rows, cols]
        if mixed_with is not None:
            crop = _blend(crop, mixed_with._padded[rows, cols], weight)
        scaled = self._scaler.reformat(
            VideoFrame.from_numpy_buffer(crop, format="gray"),  # no copy: rows stay strided
            width=across.scaled_len,
            height=down.scaled_len,
            interpolation=_INTERPOLATION,
            # One thread: the painter is one thread beside x264's own, and a context with more
            # would start its threads afresh on every change of size, that is every frame.
            threads=1,
        )
        kept = scaled.to_ndarray()
        out[...] = kept[down.offset : down.offset + out_h, across.offset : across.offset + out_w]

    def _pillow(
        self, box: Box, w: int, h: int, mixed_with: Lens | None, weight: float
    ) -> np.ndarray:
        """The exact view by Pillow, for the few views no plan fits (a zoom within a fraction
        of a percent of 1, where swscale cannot shift by part of a pixel)."""
        x0, y0, x1, y1 = box
        pw, ph = self.width, self.height
        image = Image.fromarray(self.plane)
        if mixed_with is not None:
            image = Image.blend(image, Image.fromarray(mixed_with.plane), weight)
        resized = image.resize(
            (w, h), Image.Resampling.BILINEAR, box=(x0 * pw, y0 * ph, x1 * pw, y1 * ph)
        )
        return np.asarray(resized)


def _blend(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    mixed = Image.blend(Image.fromarray(a), Image.fromarray(b), weight)
    return np.asarray(mixed)
