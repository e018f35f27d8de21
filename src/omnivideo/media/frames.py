"""Still frames out of videos (an element's picture from its reference video)."""

from __future__ import annotations

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
