"""Still frames and sound out of videos: an element's picture from its reference video, a
result's thumbnail and spritesheet, a 3.x task's audio output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnivideo.contract.errors import invalid

if TYPE_CHECKING:
    # Imported where a video is opened: the server imports this module at start, and PyAV
    # costs that start a twentieth of a second and 15 MB.
    import av


def extract_middle_frame(video: Path, out_png: Path) -> Path:
    """Write the frame at the middle of ``video`` as a PNG."""
    import av

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
    ``video``, both JPEG, from one pass over its frames.

    Frames no other frame refers to are not decoded (about half of an x264 clip): the grid
    needs one frame per slot, not every frame, and decoding is most of the cost.
    """
    import av
    from PIL import Image  # Pillow comes with the media stack; imported where it is needed

    tiles: list[Image.Image] = []
    thumb: Image.Image | None = None
    last: av.VideoFrame | None = None
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONREF"
        duration = _duration_s(container, stream)
        # Each tile is the first frame at or after the start of its slot of the clip.
        starts = [duration * i / SPRITE_FRAMES for i in range(SPRITE_FRAMES)]
        for frame in container.decode(stream):
            last = frame
            at = float(frame.time or 0.0) + 1e-6
            if len(tiles) < SPRITE_FRAMES and at >= starts[len(tiles)]:
                small = _tile(frame)
                while len(tiles) < SPRITE_FRAMES and at >= starts[len(tiles)]:
                    tiles.append(small)
            if thumb is None and at >= duration / 2:
                thumb = _thumbnail(frame)
            if thumb is not None and len(tiles) == SPRITE_FRAMES:
                break
    if last is None:
        raise ValueError(f"{video.name} has no frames")
    if thumb is None:
        thumb = _thumbnail(last)
    if not tiles:
        tiles = [_tile(last)]
    thumb.save(thumbnail, "JPEG", quality=88)
    tile_w, tile_h = tiles[0].size
    rows = -(-len(tiles) // SPRITE_COLUMNS)
    sheet = Image.new("RGB", (tile_w * min(SPRITE_COLUMNS, len(tiles)), tile_h * rows))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % SPRITE_COLUMNS) * tile_w, (i // SPRITE_COLUMNS) * tile_h))
    sheet.save(spritesheet, "JPEG", quality=85)


def _tile(frame: av.VideoFrame) -> Any:
    # Scaled while converted to RGB: a full-size RGB frame would cost more than its decode.
    height = max(2, round(frame.height * SPRITE_TILE_WIDTH / frame.width))
    return frame.to_image(width=SPRITE_TILE_WIDTH, height=height)


def _thumbnail(frame: av.VideoFrame) -> Any:
    scale = min(1.0, THUMBNAIL_MAX_SIDE / max(frame.width, frame.height))
    width = max(2, round(frame.width * scale))
    height = max(2, round(frame.height * scale))
    return frame.to_image(width=width, height=height)


def _duration_s(container: Any, stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration) / 1_000_000
    return 0.0


def extract_audio(video: Path, out_m4a: Path) -> Path | None:
    """Copy the sound track of ``video`` into an M4A (no re-encoding); None when it has none."""
    import av

    with av.open(str(video)) as source:
        if not source.streams.audio:
            return None
        track = source.streams.audio[0]
        with av.open(str(out_m4a), "w", format="ipod") as target:
            copied = target.add_stream_from_template(track)
            for packet in source.demux(track):
                if packet.dts is None:
                    continue  # the demuxer's flush packet
                packet.stream = copied
                target.mux(packet)
    return out_m4a
