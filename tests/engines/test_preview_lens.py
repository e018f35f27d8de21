"""The preview camera's lens: swscale, planned, films what Pillow's exact resize would."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from omnivideo.engines.preview_lens import TOLERANCE, Lens, plan_axis


def pillow_view(
    plane: np.ndarray, box: tuple[float, float, float, float], w: int, h: int
) -> np.ndarray:
    ph, pw = plane.shape
    x0, y0, x1, y1 = box
    image = Image.fromarray(plane)
    resized = image.resize(
        (w, h), Image.Resampling.BILINEAR, box=(x0 * pw, y0 * ph, x1 * pw, y1 * ph)
    )
    return np.asarray(resized).astype(int)


def picture(h: int, w: int, seed: int) -> np.ndarray:
    """Detail at every scale: soft shapes, hard edges and a little noise, like a photo."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (h // 16, w // 16), dtype=np.uint8))
    image = image.resize((w, h), Image.Resampling.BICUBIC).filter(ImageFilter.SMOOTH)
    plane = np.asarray(image).astype(np.int16)
    plane[h // 3 : h // 2, w // 4 : w // 2] = 230  # a hard-edged block
    plane += rng.integers(-4, 5, plane.shape, dtype=np.int16)
    return np.clip(plane, 0, 255).astype(np.uint8)


def boxes(seed: int, count: int) -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        span = 1 / rng.uniform(1.03, 1.25)
        x0, y0 = rng.uniform(0, 1 - span), rng.uniform(0, 1 - span)
        if k == 0:
            x0, y0 = 0.0, 1 - span  # against the picture's edges
        out.append((x0, y0, x0 + span, y0 + span))
    return out


@pytest.mark.parametrize(
    ("source", "output"),
    [((270, 480), (540, 960)), ((135, 240), (540, 960)), ((540, 960), (540, 960))],
    ids=["soft-luma", "soft-chroma", "photo"],
)
def test_the_lens_films_what_pillow_would(source: tuple[int, int], output: tuple[int, int]) -> None:
    plane = picture(*source, seed=source[0])
    lens = Lens(plane)
    for box in boxes(seed=7, count=6):
        out = np.empty(output, np.uint8)
        lens.film(box, out)
        diff = np.abs(out.astype(int) - pillow_view(plane, box, output[1], output[0]))
        # Two fixed-point pipelines round differently: most pixels agree within a level. The
        # grid landing a tenth of a pixel off would already put 5% of them further apart.
        assert diff.mean() < 0.3, box
        assert (diff > 1).mean() < 0.005, box
        assert diff.max() <= 8, box


def test_plans_land_on_the_exact_grid() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        src, out = [(960, 1920), (480, 960), (540, 1080), (1920, 1920)][int(rng.integers(0, 4))]
        span = src / rng.uniform(1.03, 1.25)
        start = rng.uniform(0, src - span) + 256
        plan = plan_axis(float(start), float(span), out, src + 512)
        assert plan is not None
        assert plan.error <= TOLERANCE
        assert plan.scaled_len >= plan.offset + out
        assert plan.crop_start >= 0 and plan.crop_start + plan.crop_len <= src + 512
        # The plan is what it claims: swscale's grid, 16.16 fixed point, against the exact one.
        inc = ((plan.crop_len << 16) + plan.scaled_len // 2) // plan.scaled_len / 65536
        i = np.array([0, out - 1])
        swscale = plan.crop_start + (plan.offset + i + 0.5) * inc - 0.5
        exact = start + (i + 0.5) * span / out - 0.5
        assert np.abs(swscale - exact).max() == pytest.approx(plan.error, abs=1e-9)


def test_a_zoom_too_close_to_one_for_swscale_is_left_to_pillow() -> None:
    plane = picture(540, 960, seed=1)
    box = (0.0001, 0.0001, 0.9999, 0.9999)
    out = np.empty((540, 960), np.uint8)
    Lens(plane).film(box, out)
    assert np.array_equal(out, pillow_view(plane, box, 960, 540))


def test_a_cross_fade_is_blended_then_filmed() -> None:
    a, b = picture(540, 960, seed=1), picture(540, 960, seed=2)
    box = boxes(seed=5, count=1)[0]
    out = np.empty((540, 960), np.uint8)
    Lens(a).film(box, out, mixed_with=Lens(b), weight=0.3)
    blended = np.asarray(Image.blend(Image.fromarray(a), Image.fromarray(b), 0.3))
    diff = np.abs(out.astype(int) - pillow_view(blended, box, 960, 540))
    assert diff.mean() < 0.3
    assert (diff > 1).mean() < 0.005
    assert diff.max() <= 8


def test_a_view_does_not_depend_on_what_the_lens_filmed_before() -> None:
    # The same request must give the same frames: swscale's context is reused frame after
    # frame, at a new size each time, and nothing of that may show.
    plane = picture(270, 480, seed=4)
    first, *others = boxes(seed=9, count=5)
    fresh = np.empty((540, 960), np.uint8)
    Lens(plane).film(first, fresh)
    used = Lens(plane)
    for box in others:
        used.film(box, np.empty((540, 960), np.uint8))
        used.film(box, np.empty((270, 480), np.uint8))
    again = np.empty((540, 960), np.uint8)
    used.film(first, again)
    assert np.array_equal(fresh, again)
