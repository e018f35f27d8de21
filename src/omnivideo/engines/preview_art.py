"""The preview engine's pictures: palettes, generated landscapes, grades and stylization.

Everything here is computed once per shot (a few tens of milliseconds), never per frame:
the per-frame work is a camera view (:mod:`omnivideo.engines.preview_lens`), blends and
pastes on the YUV planes these produce.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import numpy.random  # numpy would import it lazily, on a render's first frame
from PIL import Image

from omnivideo.media.encode import rgb_to_planes, rgb_to_yuv

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    name: str
    #: sky from the zenith to the horizon
    zenith: RGB
    mid: RGB
    horizon: RGB
    #: the light source and its halo
    glow: RGB
    #: farthest and nearest ridge
    far: RGB
    near: RGB
    #: the interface colour: reference tokens in the caption, card labels
    accent: RGB
    #: words in a prompt that call for this palette
    keywords: tuple[str, ...] = ()


PALETTES: tuple[Palette, ...] = (
    Palette(
        "glacier",
        (12, 38, 72),
        (70, 132, 172),
        (200, 232, 242),
        (238, 250, 255),
        (104, 150, 178),
        (18, 44, 66),
        (132, 222, 255),
        ("snow", "ice", "icy", "winter", "glacier", "frost", "arctic", "cold", "mountain"),
    ),
    Palette(
        "ember",
        (40, 18, 58),
        (168, 58, 92),
        (255, 146, 86),
        (255, 204, 128),
        (118, 52, 84),
        (32, 12, 32),
        (255, 150, 98),
        ("sunset", "fire", "ember", "dusk", "evening", "lava", "warm"),
    ),
    Palette(
        "forest",
        (18, 48, 44),
        (78, 128, 108),
        (204, 224, 192),
        (252, 246, 212),
        (92, 124, 102),
        (14, 34, 28),
        (172, 232, 150),
        ("forest", "tree", "jungle", "moss", "garden", "green", "meadow", "leaf"),
    ),
    Palette(
        "neon",
        (8, 6, 32),
        (62, 22, 112),
        (236, 64, 152),
        (255, 128, 204),
        (72, 32, 112),
        (10, 6, 26),
        (118, 238, 255),
        ("night", "neon", "city", "cyber", "street", "club", "rain", "space", "star"),
    ),
    Palette(
        "desert",
        (66, 116, 188),
        (172, 192, 212),
        (250, 222, 172),
        (255, 246, 222),
        (202, 144, 96),
        (110, 62, 42),
        (255, 204, 112),
        ("desert", "sand", "dune", "canyon", "noon", "summer"),
    ),
    Palette(
        "ocean",
        (6, 30, 62),
        (22, 92, 142),
        (124, 204, 212),
        (222, 255, 250),
        (34, 102, 132),
        (6, 30, 50),
        (104, 232, 222),
        ("ocean", "sea", "beach", "wave", "water", "underwater", "lake", "river", "boat"),
    ),
    Palette(
        "dawn",
        (38, 52, 104),
        (150, 122, 172),
        (255, 192, 152),
        (255, 216, 172),
        (122, 110, 152),
        (40, 36, 66),
        (255, 176, 128),
        ("dawn", "sunrise", "morning", "mist", "fog", "dream"),
    ),
    Palette(
        "golden",
        (62, 82, 132),
        (222, 152, 102),
        (255, 212, 132),
        (255, 236, 172),
        (142, 92, 72),
        (50, 30, 30),
        (255, 212, 122),
        ("golden", "gold", "autumn", "field", "wheat", "harvest"),
    ),
)


_LIGHT = frozenset({"ember", "neon", "dawn", "golden"})
# "snowy", "waves", "starry", but not "start" for "star".
_SUFFIXES = frozenset({"", "s", "es", "y", "ry", "gy", "ny"})


def _keyword_palette(prompt: str) -> int | None:
    """The palette a prompt's words call for: its light first (dawn, night), then its place."""
    words = [w for w in re.split(r"[^a-z]+", prompt.lower()) if w]
    for light in (True, False):
        for word in words:
            for index, palette in enumerate(PALETTES):
                if (palette.name in _LIGHT) == light and any(
                    word[: len(k)] == k and word[len(k) :] in _SUFFIXES for k in palette.keywords
                ):
                    return index
    return None


def choose_palettes(prompts: list[str], seed: int) -> list[int]:
    """One palette per shot: the one its prompt calls for if still free, else a seeded order.

    No two shots share a palette while there are palettes left (eight), and neighbouring
    shots never do, so every cut is visible.
    """
    order = [int(i) for i in np.random.default_rng([seed, 0x9A1E77E]).permutation(len(PALETTES))]
    chosen: list[int] = []
    for prompt in prompts:
        used = set(chosen[-(len(PALETTES) - 1) :])
        pick = _keyword_palette(prompt)
        if pick is None or pick in used:
            pick = next(i for i in order if i not in used)
        chosen.append(pick)
    return chosen


def _mix(a: np.ndarray | RGB, b: np.ndarray | RGB, t: np.ndarray | float) -> np.ndarray:
    a_ = np.asarray(a, dtype=np.float32)
    b_ = np.asarray(b, dtype=np.float32)
    return a_ + (b_ - a_) * np.asarray(t, dtype=np.float32)


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def landscape(width: int, height: int, palette: Palette, seed: int) -> np.ndarray:
    """A layered landscape at dusk/dawn: sky, glow, bokeh, ridges in haze, vignette.

    Returns (height, width, 3) float32 RGB in 0..255. Soft by design: it is drawn at half the
    output size and the camera's lens brings it up.
    """
    rng = np.random.default_rng([seed, 0x5CE4E])
    w, h = width, height
    v = (np.arange(h, dtype=np.float32) + 0.5)[:, None] / h
    u = (np.arange(w, dtype=np.float32) + 0.5)[None, :] / w
    aspect = w / h

    horizon = float(rng.uniform(0.52, 0.66))
    tilt = float(rng.uniform(-0.08, 0.08))
    # Sky: zenith -> mid -> horizon, with a slight diagonal so it never looks like a test card.
    # Colours come from a 1024-step table: one lookup instead of arithmetic on every pixel.
    steps = np.linspace(0.0, 1.0, 1024, dtype=np.float32)[:, None]
    table = _mix(
        _mix(palette.zenith, palette.mid, _smooth(steps / 0.62)),
        palette.horizon,
        _smooth((steps - 0.55) / 0.45),
    ).astype(np.float32)
    t = np.clip(v / horizon + tilt * (u - 0.5), 0.0, 1.0)
    sky = np.take(table, (t * 1023.0 + 0.5).astype(np.intp), axis=0)  # (fancy indexing: 5x slower)

    # Light source: a warm glow and a wide halo, and a small bright disc.
    sx = float(rng.uniform(0.22, 0.78))
    sy = horizon - float(rng.uniform(0.06, 0.2))
    d2 = ((u - sx) * aspect) ** 2 + (v - sy) ** 2
    weight = 0.9 * np.exp(d2 * np.float32(-1 / 0.0045)) + 0.35 * np.exp(d2 * np.float32(-1 / 0.06))
    glow = np.asarray(palette.glow, dtype=np.float32)
    _towards(sky, glow, weight)
    r = int(0.06 * h) + 2
    cy, cx = int(sy * h), int(sx * w)
    y0, y1, x0, x1 = max(cy - r, 0), min(cy + r, h), max(cx - r, 0), min(cx + r, w)
    if y0 < y1 and x0 < x1:
        disc = _smooth((0.045 - np.sqrt(d2[y0:y1, x0:x1])) / 0.006)[..., None]
        patch = sky[y0:y1, x0:x1]
        patch += (np.float32(255.0) - patch) * disc * np.float32(0.85)

    _bokeh(sky, rng, palette, horizon)

    # Ridges, far to near: each darker and sharper, with haze pooling above it. Only the rows
    # a ridge can touch are computed.
    layers = int(rng.integers(3, 5))
    haze = np.asarray(palette.horizon, dtype=np.float32)
    img = sky
    for k in range(layers):
        depth = k / max(layers - 1, 1)
        base = horizon + 0.02 + depth * (0.92 - horizon) * 0.72
        ridge = np.full(w, base, dtype=np.float32)
        amp = 0.05 + 0.05 * depth
        for octave in range(4):
            freq = float(rng.uniform(0.8, 1.6)) * (2.1**octave)
            phase = float(rng.uniform(0, 2 * math.pi))
            ridge -= amp / (1.8**octave) * (0.5 + 0.5 * np.sin(2 * math.pi * freq * u[0] + phase))
        top = max(int((float(ridge.min()) - 0.08) * h), 0)
        # Below ``solid`` every column is under the ridge's soft edge: the ridge's colour alone,
        # no mist (which only hangs above the edge). Only the rows the edge crosses are blended.
        solid = min(max(math.ceil((float(ridge.max()) + (1.6 - depth) / h) * h) + 1, top), h)
        colour = _mix(_mix(palette.far, palette.near, depth), haze, 0.45 * (1.0 - depth))
        below = v[top:] - ridge[None, :]
        # Lighter at the crest, darker lower down: a hint of form.
        shade = 1.0 - 0.35 * _smooth(below / 0.35)
        np.multiply(shade[solid - top :, :, None], colour, out=img[solid:])
        band, below, shade = img[top:solid], below[: solid - top], shade[: solid - top]
        edge = np.clip(below * h / (1.6 - depth) + 0.5, 0.0, 1.0)
        _towards(band, colour * shade[..., None], edge)
        mist = (
            np.exp(-((below + 0.015) ** 2) / 0.0009) * (1.0 - edge) * (0.35 * (1.0 - 0.6 * depth))
        )
        _towards(band, haze, mist)

    # Vignette: draw the eye to the centre, the way a lens does.
    r2 = (u - 0.5) ** 2 + ((v - 0.48) * 1.15) ** 2
    img *= (1.0 - 0.55 * np.clip(r2 / 0.5, 0.0, 1.0) ** 1.4)[..., None]
    return np.clip(img, 0.0, 255.0, out=img)


def _towards(img: np.ndarray, target: np.ndarray, weight: np.ndarray) -> None:
    """``img += (target - img) * weight``, in place with one temporary instead of three.

    The same operations in the same order, so the same pixels; fresh full-size temporaries
    are what made the landscape slow (the allocator hands them back to the system each time).
    """
    step = np.subtract(target, img, dtype=np.float32)
    step *= weight[..., None]
    img += step


def _bokeh(sky: np.ndarray, rng: np.random.Generator, palette: Palette, horizon: float) -> None:
    """Soft out-of-focus discs of light in the upper frame, drawn in place."""
    h, w = sky.shape[:2]
    glow = np.asarray(palette.glow, dtype=np.float32)
    white = np.float32(255.0)
    for _ in range(int(rng.integers(18, 34))):
        r = float(rng.uniform(0.006, 0.03)) * h * 2
        cx = float(rng.uniform(0, w))
        cy = float(rng.uniform(0.04, horizon * 0.95)) * h
        strength = float(rng.uniform(0.06, 0.22))
        x0, x1 = max(int(cx - r - 2), 0), min(int(cx + r + 3), w)
        y0, y1 = max(int(cy - r - 2), 0), min(int(cy + r + 3), h)
        if x0 >= x1 or y0 >= y1:
            continue
        yy = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
        xx = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        a = np.clip((r - dist) / 1.5, 0.0, 1.0) * (0.75 + 0.25 * (dist / r)) * strength
        colour = glow + (white - glow) * 0.4
        patch = sky[y0:y1, x0:x1]
        patch += (colour - patch) * a[..., None]


def scene_planes(width: int, height: int, palette: Palette, seed: int) -> tuple[Image.Image, ...]:
    """:func:`landscape` as Y, U, V Pillow images (4:2:0 sizes); sides rounded up to even."""
    w, h = width + width % 2, height + height % 2
    return planes_to_images(rgb_to_planes(landscape(w, h, palette, seed)))


def planes_to_images(planes: tuple[np.ndarray, ...]) -> tuple[Image.Image, ...]:
    return tuple(Image.fromarray(np.ascontiguousarray(p), "L") for p in planes)


# -- looks applied to input videos ---------------------------------------------------------


def grade_luts(palette: Palette) -> tuple[list[int], list[int], list[int]]:
    """Per-plane lookup tables for a base video: contrast S-curve, palette tint, more colour.

    Working on Y, U, V directly keeps the grade to three table lookups per frame.
    """
    y = np.arange(256, dtype=np.float32)
    # S-curve around mid grey within the legal 16..235 range; lifted blacks (a filmic fade).
    n = np.clip((y - 16.0) / 219.0, 0.0, 1.0)
    s = n + 0.28 * n * (1 - n) * (2 * n - 1) * -1.6
    s = 0.04 + 0.93 * s
    lut_y = 16.0 + 219.0 * s
    tint = rgb_to_planes(np.full((2, 2, 3), palette.accent, dtype=np.float32))
    du = (float(tint[1][0, 0]) - 128.0) * 0.22
    dv = (float(tint[2][0, 0]) - 128.0) * 0.22
    c = np.arange(256, dtype=np.float32) - 128.0
    lut_u = 128.0 + c * 1.18 + du
    lut_v = 128.0 + c * 1.18 + dv
    return tuple(
        np.clip(np.rint(t), 0, 255).astype(np.uint8).tolist() for t in (lut_y, lut_u, lut_v)
    )


def gradient_map_luts(palette: Palette) -> tuple[list[int], list[int], list[int]]:
    """Luma -> (Y, U, V) tables that repaint a video in the shot's palette (a duotone look).

    U and V are looked up from luma, so a reference video's shapes and motion survive while
    its colours become the scene's.
    """
    stops = [palette.near, palette.far, palette.mid, palette.horizon, palette.glow]
    x = np.linspace(0.0, 1.0, len(stops))
    n = np.clip((np.arange(256, dtype=np.float32) - 16.0) / 219.0, 0.0, 1.0)
    n = _smooth(n) * 0.6 + n * 0.4
    rgb = np.stack([np.interp(n, x, [s[c] for s in stops]) for c in range(3)], axis=-1)
    yy, uu, vv = rgb_to_yuv(rgb)
    return tuple(np.clip(np.rint(t), 0, 255).astype(np.uint8).tolist() for t in (yy, uu, vv))


def vignette_mask(width: int, height: int, strength: float = 0.4) -> Image.Image:
    """An 'L' image to multiply luma with: 255 in the middle, darker towards the corners."""
    v = (np.arange(height, dtype=np.float32) + 0.5)[:, None] / height
    u = (np.arange(width, dtype=np.float32) + 0.5)[None, :] / width
    r2 = (u - 0.5) ** 2 + (v - 0.5) ** 2 * 1.1
    m = 1.0 - strength * np.clip(r2 / 0.5, 0.0, 1.0) ** 1.5
    return Image.fromarray(np.clip(m * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
