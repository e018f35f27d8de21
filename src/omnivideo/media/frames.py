"""Still frames out of videos: an element's picture from its reference video, a result's
thumbnail and spritesheet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av

from omnivideo.contract.errors import invalid


def extract_middle_frame(video: Path, out_png: Path) -> Path:
    """Write the frame at the middle of ``video`` as a PNG."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            frames = stream.frames or 0
            target = frames // 2
            last = None
            for i, frame in enumerate(container.decode(stream)):
                last = frame
                if frames and i >= target:
                    break
    except (av.FFmpegError, IndexError) as exc:
        raise invalid(f"could not decode the reference video: {exc}") from None
    if last is None:
        raise invalid("the reference video has no frames")
    last.to_image().save(out_png)
    return out_png


#: the spritesheet: this many frames, evenly spaced, in rows of ``SPRITE_COLUMNS``
SPRITE_FRAMES = 12
SPRITE_COLUMNS = 4
#: width of one tile of the spritesheet, and of the thumbnail at most
SPRITE_TILE_WIDTH = 256
THUMBNAIL_MAX_SIDE = 1280


def write_previews(video: Path, thumbnail: Path, spritesheet: Path) -> None:
    """A thumbnail (the middle frame) and a spritesheet (a grid of evenly spaced frames) of
    ``video``, both JPEG, from one pass over its frames."""
    from PIL import Image  # Pillow comes with the media stack; imported where it is needed

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = stream.frames or 0
        frames = [f.to_image() for f in _evenly(container.decode(stream), total)]
    if not frames:
        raise ValueError(f"{video.name} has no frames")
    middle = frames[len(frames) // 2]
    thumb = middle.copy()
    thumb.thumbnail((THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE))
    thumb.save(thumbnail, "JPEG", quality=88)
    tile_w = SPRITE_TILE_WIDTH
    tile_h = max(2, round(middle.height * tile_w / middle.width))
    rows = -(-len(frames) // SPRITE_COLUMNS)
    sheet = Image.new("RGB", (tile_w * min(SPRITE_COLUMNS, len(frames)), tile_h * rows))
    for i, frame in enumerate(frames):
        tile = frame.resize((tile_w, tile_h))
        sheet.paste(tile, ((i % SPRITE_COLUMNS) * tile_w, (i // SPRITE_COLUMNS) * tile_h))
    sheet.save(spritesheet, "JPEG", quality=85)


def _evenly(decoded: Iterator[av.VideoFrame], total: int) -> list[av.VideoFrame]:
    """``SPRITE_FRAMES`` frames spread over the clip (every frame is kept when the length is
    unknown, then thinned)."""
    if total > 0:
        wanted = {round(i * (total - 1) / max(SPRITE_FRAMES - 1, 1)) for i in range(SPRITE_FRAMES)}
        return [f for i, f in enumerate(decoded) if i in wanted]
    every = list(decoded)
    step = max(1, len(every) // SPRITE_FRAMES)
    return every[::step][:SPRITE_FRAMES]
