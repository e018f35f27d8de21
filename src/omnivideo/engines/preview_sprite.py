"""Sprites: overlays stored as YUV 4:2:0 and alpha, composited into frames in place.

An overlay (caption band, card, badge, watermark) is drawn once per shot in RGBA; the frame
loop then blends it into each frame's planes with a few 16-bit numpy operations over its
rectangle, which numpy runs without the GIL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from omnivideo.media.encode import rgb_to_chroma, rgb_to_luma, sum_2x2


@dataclass
class Sprite:
    """An overlay ready to composite on YUV 4:2:0 planes at (x, y) (both even).

    Stored as 16-bit fixed point (alpha in 0..256), so compositing is four in-place numpy
    operations per plane over the sprite's rectangle only; numpy releases the GIL for them.
    """

    x: int
    y: int
    #: (h, w) alpha 0..256, and the overlay's Y, U, V (U and V at half size)
    alpha: np.ndarray
    alpha_half: np.ndarray
    luma: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def __post_init__(self) -> None:
        self._full = self._terms(256)

    def _terms(self, k: int) -> tuple[np.ndarray, ...]:
        a = self.alpha if k == 256 else (self.alpha * k + 128) >> 8
        ac = self.alpha_half if k == 256 else (self.alpha_half * k + 128) >> 8
        # dst' = (dst * (256 - a) + src * a + 128) >> 8, which never leaves 16 bits.
        return (256 - a, self.luma * a + 128, 256 - ac, self.u * ac + 128, self.v * ac + 128)

    def paste(
        self, planes: tuple[np.ndarray, np.ndarray, np.ndarray], opacity: float = 1.0
    ) -> None:
        """Composite onto writable Y, U, V planes (see :func:`media.encode.plane_views`)."""
        k = round(min(opacity, 1.0) * 256)
        if k <= 0:
            return
        inv_y, pre_y, inv_c, pre_u, pre_v = self._full if k == 256 else self._terms(k)
        _composite(planes[0], self.x, self.y, inv_y, pre_y)
        _composite(planes[1], self.x // 2, self.y // 2, inv_c, pre_u)
        _composite(planes[2], self.x // 2, self.y // 2, inv_c, pre_v)


def _composite(dst: np.ndarray, x: int, y: int, inv: np.ndarray, pre: np.ndarray) -> None:
    h, w = inv.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, dst.shape[1]), min(y + h, dst.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    sub = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    region = dst[y0:y1, x0:x1]
    acc = region.astype(np.uint16)
    acc *= inv[sub]
    acc += pre[sub]
    acc >>= 8
    region[...] = acc


def sprite_from_rgba(image: Image.Image, x: int, y: int) -> Sprite:
    """Convert an RGBA overlay placed at (x, y) into a :class:`Sprite`.

    Chroma is averaged with alpha weights, so a soft edge keeps the overlay's colour instead
    of picking up whatever lies under its transparent pixels.
    """
    # Align to the chroma grid: pad one transparent column/row where needed.
    pad_l, pad_t = x % 2, y % 2
    w, h = image.size
    w2, h2 = w + pad_l, h + pad_t
    w2 += w2 % 2
    h2 += h2 % 2
    if (w2, h2) != (w, h):
        canvas = Image.new("RGBA", (w2, h2), (0, 0, 0, 0))
        canvas.paste(image, (pad_l, pad_t))
        image = canvas
    arr = np.asarray(image.convert("RGBA"), dtype=np.float32)
    rgb, a = arr[..., :3], arr[..., 3] / 255.0
    yy = rgb_to_luma(rgb)
    weighted = sum_2x2(rgb * a[..., None])
    a_sum = sum_2x2(a)
    half_rgb = weighted / np.maximum(a_sum, 1e-6)[..., None]
    uu, vv = rgb_to_chroma(half_rgb)

    def u16(p: np.ndarray, top: float = 255.0) -> np.ndarray:
        return np.clip(np.rint(p), 0, top).astype(np.uint16)

    return Sprite(
        x=x - pad_l,
        y=y - pad_t,
        alpha=u16(a * 256.0, 256),
        alpha_half=u16(a_sum * 64.0, 256),
        luma=u16(yy),
        u=u16(uu),
        v=u16(vv),
    )
