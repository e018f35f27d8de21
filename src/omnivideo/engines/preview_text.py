"""Typography and overlays of the preview engine: caption band, reference cards, badges.

Overlays are drawn once per shot in RGBA with Pillow, then turned into sprites
(:mod:`omnivideo.engines.preview_sprite`) that frames composite cheaply.

Text is set in Pillow's built-in scalable font (Aileron), so every install renders the same
captions. Aileron has ASCII only; other characters come from the first system font that has
them, or lose their accents, so a French or Chinese prompt still reads.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from omnivideo.engines.preview_sprite import Sprite, sprite_from_rgba

Font = ImageFont.FreeTypeFont
RGB = tuple[int, int, int]


# -- fonts ---------------------------------------------------------------------------------

_FALLBACK_NAMES = (
    "NotoSans-Regular.ttf",
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "Arial.ttf",
    "arial.ttf",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.otf",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "DroidSansFallbackFull.ttf",
    "PingFang.ttc",
    "msyh.ttc",
    "Arial Unicode.ttf",
)
_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.fonts",
    "~/.local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)


@functools.cache
def _system_fonts() -> tuple[str, ...]:
    found: dict[str, str] = {}
    for root in _FONT_DIRS:
        base = Path(root).expanduser()
        if not base.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name in _FALLBACK_NAMES and name not in found:
                    found[name] = os.path.join(dirpath, name)
    return tuple(found[n] for n in _FALLBACK_NAMES if n in found)


@functools.cache
def _font(size: int, index: int) -> Font:
    """Font ``index`` of the chain at ``size``: 0 is Pillow's Aileron, then system fonts."""
    if index == 0:
        return ImageFont.load_default(size=size)  # type: ignore[return-value]
    return ImageFont.truetype(_system_fonts()[index - 1], size)


@functools.cache
def _has_glyph(index: int, char: str) -> bool:
    font = _font(32, index)
    missing = font.getmask("\ue000")
    mask = font.getmask(char)
    return not (mask.size == missing.size and bytes(mask) == bytes(missing))


def _font_index(char: str) -> tuple[int, str]:
    """Which font of the chain draws ``char`` (and the character to draw)."""
    if char.isspace() or _has_glyph(0, char):
        return 0, char
    for i in range(1, len(_system_fonts()) + 1):
        if _has_glyph(i, char):
            return i, char
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    if plain and _has_glyph(0, plain[0]):
        return 0, plain
    return 0, char


def _runs(text: str) -> list[tuple[int, str]]:
    runs: list[tuple[int, str]] = []
    for ch in text:
        index, drawn = _font_index(ch)
        if runs and runs[-1][0] == index:
            runs[-1] = (index, runs[-1][1] + drawn)
        else:
            runs.append((index, drawn))
    return runs


def text_width(text: str, size: int) -> float:
    return sum(_font(size, i).getlength(s) for i, s in _runs(text))


def draw_text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill: object
) -> float:
    """Draw ``text`` with its baseline at ``xy``; returns the advance."""
    x, y = xy
    for index, run in _runs(text):
        font = _font(size, index)
        draw.text((x, y), run, font=font, fill=fill, anchor="ls")  # type: ignore[arg-type]
        x += font.getlength(run)
    return x - xy[0]


# -- caption -------------------------------------------------------------------------------

_TOKEN = re.compile(r"\[(?:image|element|video) \d+\]")
_WIDE_CHARS = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_PIECE = re.compile(
    rf"(?P<tok>{_TOKEN.pattern})|(?P<sp>\s+)|(?P<wide>[{_WIDE_CHARS}])|[^\s{_WIDE_CHARS}\[]+|\["
)


@dataclass(frozen=True)
class _Unit:
    text: str
    token: bool
    space_before: bool
    #: a line may break before this unit (after a space, or around CJK characters)
    breakable: bool


def _units(text: str) -> list[_Unit]:
    """Pieces to set: reference tokens stay whole, CJK may break between any two characters."""
    out: list[_Unit] = []
    space = False
    prev_wide = False
    for m in _PIECE.finditer(text):
        if m.group("sp"):
            space = True
            continue
        wide = m.group("wide") is not None
        out.append(_Unit(m.group(0), m.group("tok") is not None, space, space or wide or prev_wide))
        space, prev_wide = False, wide
    return out


def wrap(text: str, size: int, max_width: float, max_lines: int) -> list[list[_Unit]]:
    """Balanced line breaking; the last line ends in an ellipsis when the text does not fit.

    Greedy breaking finds how many lines the text needs; the narrowest width that keeps that
    many lines then evens them out, so a caption never ends on a lonely word.
    """
    space = text_width(" ", size)
    groups: list[list[_Unit]] = []
    for unit in _units(text):
        if unit.breakable or not groups:
            groups.append([unit])
        else:
            groups[-1].append(unit)
    widths = [sum(text_width(u.text, size) for u in g) for g in groups]

    def breaks(limit: float) -> list[list[_Unit]]:
        lines: list[list[_Unit]] = [[]]
        width = 0.0
        for group, w in zip(groups, widths, strict=True):
            gap = space if group[0].space_before and lines[-1] else 0.0
            if lines[-1] and width + gap + w > limit:
                lines.append([])
                width, gap = 0.0, 0.0
            lines[-1].extend(group)
            width += gap + w
        return [line for line in lines if line]

    lines = breaks(max_width)
    if 1 < len(lines) <= max_lines:
        lo, hi = max(widths), max_width
        for _ in range(14):
            mid = (lo + hi) / 2
            if len(breaks(mid)) == len(lines):
                hi = mid
            else:
                lo = mid
        lines = breaks(hi)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        ellipsis = text_width("…", size)
        while len(last) > 1 and _line_width(last, size, space) + ellipsis > max_width:
            last.pop()
        last.append(_Unit("…", False, False, False))
    return lines


def _line_width(line: list[_Unit], size: int, space: float) -> float:
    return sum(text_width(u.text, size) for u in line) + sum(
        space for i, u in enumerate(line) if i and u.space_before
    )


def caption_sprite(
    text: str, width: int, height: int, accent: RGB, tone: RGB, align: str
) -> Sprite | None:
    """The prompt, wrapped on a translucent band along the bottom of the frame."""
    text = " ".join(text.split())
    if not text:
        return None
    short = min(width, height)
    size = max(14, round(short * 0.042))
    margin = round(width * (0.06 if width >= height else 0.07))
    lines = wrap(text, size, width - 2 * margin, 4 if width >= height else 6)
    line_h = round(size * 1.32)
    pad_top, pad_bottom = round(size * 1.6), round(short * 0.06)
    band_h = pad_top + line_h * len(lines) + pad_bottom
    layer = Image.new("RGBA", (width, band_h), (*tone, 0))

    # A band that fades in from above: dark enough for white text on a bright sky.
    ramp = np.clip(np.linspace(-0.15, 1.6, band_h, dtype=np.float32), 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp) * 0.68
    band_alpha = Image.fromarray(
        np.repeat((ramp * 255).astype(np.uint8)[:, None], width, axis=1), "L"
    )
    layer.putalpha(band_alpha)

    text_mask = Image.new("L", (width, band_h), 0)
    colour_layer = Image.new("RGB", (width, band_h), (246, 244, 238))
    mask_draw = ImageDraw.Draw(text_mask)
    colour_draw = ImageDraw.Draw(colour_layer)
    space = text_width(" ", size)
    for row, line in enumerate(lines):
        widths = [text_width(u.text, size) for u in line]
        total = _line_width(line, size, space)
        x = margin if align == "left" else (width - total) / 2
        baseline = pad_top + line_h * row + size * 0.95
        for i, (unit, w) in enumerate(zip(line, widths, strict=True)):
            if i and unit.space_before:
                x += space
            draw_text(mask_draw, (x, baseline), unit.text, size, 255)
            if unit.token:
                draw_text(colour_draw, (x, baseline), unit.text, size, accent)
                # An underline in the accent colour ties the token to its card.
                y = baseline + size * 0.16
                mask_draw.rectangle((x, y, x + w, y + max(2, size // 18)), fill=200)
                colour_draw.rectangle((x, y, x + w, y + max(2, size // 18)), fill=accent)
            x += w

    shadow = text_mask.filter(ImageFilter.GaussianBlur(max(2, size // 9)))
    shadow_layer = Image.new("RGBA", (width, band_h), (0, 0, 0, 0))
    shadow_layer.putalpha(shadow.point(lambda v: v * 0.7))
    layer = Image.alpha_composite(layer, shadow_layer)
    text_layer = colour_layer.convert("RGBA")
    text_layer.putalpha(text_mask)
    layer = Image.alpha_composite(layer, text_layer)
    return sprite_from_rgba(layer, 0, height - band_h)


# -- badges and cards ----------------------------------------------------------------------


def _pill(size: tuple[int, int], radius: int, fill: tuple[int, int, int, int]) -> Image.Image:
    """A rounded rectangle drawn at 4x and reduced, for smooth corners."""
    w, h = size
    big = Image.new("RGBA", (w * 4, h * 4), (0, 0, 0, 0))
    ImageDraw.Draw(big).rounded_rectangle((0, 0, w * 4 - 1, h * 4 - 1), radius * 4, fill=fill)
    return big.resize(size, Image.Resampling.LANCZOS)


def badge_sprite(label: str, detail: str, width: int, height: int, accent: RGB) -> Sprite:
    """The top-left badge: a dot, PREVIEW, and the shot number when there are several."""
    short = min(width, height)
    size = max(10, round(short * 0.021))
    pad = round(size * 0.8)
    gap = round(size * 0.7)
    dot = round(size * 0.55)
    text_w = text_width(label, size)
    detail_w = text_width(detail, size) if detail else 0.0
    w = int(pad + dot + gap + text_w + (gap + detail_w if detail else 0) + pad)
    h = int(size * 2.1)
    img = _pill((w, h), h // 2, (12, 12, 16, 110))
    draw = ImageDraw.Draw(img)
    cy = h / 2
    draw.ellipse((pad, cy - dot / 2, pad + dot, cy + dot / 2), fill=(*accent, 255))
    baseline = cy + size * 0.36
    x = float(pad + dot + gap)
    x += draw_text(draw, (x, baseline), label, size, (246, 244, 238, 255))
    if detail:
        draw_text(draw, (x + gap, baseline), detail, size, (*accent, 255))
    margin = round(short * 0.045)
    return sprite_from_rgba(img, margin, margin)


@dataclass(frozen=True)
class Card:
    """One input shown on screen: its picture and the words the prompt uses for it."""

    label: str
    image: Image.Image


def card_sprites(
    cards: list[Card], width: int, height: int, accent: RGB, side: str
) -> list[Sprite]:
    """Polaroid-like thumbnails in a row along the top, labelled, in prompt order."""
    if not cards:
        return []
    short = min(width, height)
    margin = round(short * 0.045)
    label_size = max(10, round(short * 0.02))
    gap = round(short * 0.022)
    thumb_h = round(short * 0.15)
    aspects = [min(max(c.image.width / max(c.image.height, 1), 0.7), 1.6) for c in cards]
    room = width * (0.62 if width >= height else 0.9)
    total = sum(a * thumb_h for a in aspects) + gap * (len(cards) - 1)
    if total > room:
        thumb_h = max(24, int(thumb_h * room / total))
    top = margin + round(short * 0.06) if side == "left" else margin
    border = max(2, round(thumb_h * 0.025))
    radius = max(4, round(thumb_h * 0.07))
    blur = max(3, round(thumb_h * 0.06))
    widths = [round(a * thumb_h) for a in aspects]
    row_w = sum(widths) + gap * (len(cards) - 1)
    x = margin if side == "left" else width - margin - row_w
    sprites = []
    for card, tw in zip(cards, widths, strict=True):
        thumb = ImageOps.fit(card.image.convert("RGB"), (tw, thumb_h), Image.Resampling.LANCZOS)
        label_h = round(label_size * 1.9)
        cw, ch = tw + 2 * border, thumb_h + 2 * border
        pad = blur * 3
        img = Image.new("RGBA", (cw + 2 * pad, ch + label_h + 2 * pad), (0, 0, 0, 0))
        # Drop shadow.
        shadow = Image.new("L", img.size, 0)
        ImageDraw.Draw(shadow).rounded_rectangle(
            (pad, pad + blur // 2, pad + cw, pad + ch + blur // 2), radius, fill=150
        )
        shadow = shadow.filter(ImageFilter.GaussianBlur(blur))
        black = Image.new("RGBA", img.size, (0, 0, 0, 0))
        black.putalpha(shadow)
        img = Image.alpha_composite(img, black)
        frame = _pill((cw, ch), radius + border, (250, 248, 244, 255))
        img.alpha_composite(frame, (pad, pad))
        mask = _pill((tw, thumb_h), radius, (255, 255, 255, 255)).getchannel("A")
        img.paste(thumb, (pad + border, pad + border), mask)
        # Label under the card, on a dark pill; its accent colour matches the caption's token.
        draw = ImageDraw.Draw(img)
        label = card.label
        while len(label) > 4 and text_width(label, label_size) > cw + pad:
            label = label[:-2] + "…"
        lw = text_width(label, label_size)
        pill_w, pill_h = round(lw + label_size * 1.1), round(label_size * 1.55)
        px = round(pad + (cw - pill_w) / 2)
        py = pad + ch + round(label_h * 0.2)
        img.alpha_composite(_pill((pill_w, pill_h), pill_h // 2, (10, 10, 14, 150)), (px, py))
        draw_text(
            draw, (px + (pill_w - lw) / 2, py + pill_h * 0.7), label, label_size, (*accent, 255)
        )
        sprites.append(sprite_from_rgba(img, x - pad, top - pad))
        x += tw + gap
    return sprites


def watermark_sprite(width: int, height: int) -> Sprite:
    """The visible mark of a watermarked copy: "omnivideo", centred, translucent."""
    short = min(width, height)
    size = max(16, round(short * 0.085))
    w = int(text_width("omnivideo", size)) + size
    h = int(size * 1.6)
    mask = Image.new("L", (w, h), 0)
    draw_text(ImageDraw.Draw(mask), (size / 2, h * 0.7), "omnivideo", size, 255)
    outline = mask.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(2))
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    dark = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    dark.putalpha(outline.point(lambda v: v * 0.45))
    img = Image.alpha_composite(img, dark)
    light = Image.new("RGBA", (w, h), (255, 255, 255, 0))
    light.putalpha(mask.point(lambda v: v * 0.75))
    img = Image.alpha_composite(img, light)
    return sprite_from_rgba(img, (width - w) // 2, (height - h) // 2)
